package zfs

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Property is one line of `zfs get -H -p -o name,property,value,source`.
type Property struct {
	Name     string `json:"name"`     // the dataset, snapshot or bookmark, validated
	Property string `json:"property"` // such as "mountpoint" or "vault:job"
	Value    string `json:"value"`    // raw (-p); "-" when the property does not apply
	Source   string `json:"source"`   // "local", "default", "inherited from pool/x", "received", "-", ...
}

// MaxPropValueLen is the longest property value vault sets: ZFS_MAXPROPLEN
// (8192) less the NUL.
const MaxPropValueLen = 8191

// CheckPropertyName reports whether name is a property name vault may pass
// to zfs: a native property ("compression") or a user property ("vault:job"),
// made of a-z, 0-9, '-', '_', '.' and ':' (zprop_valid_char), not starting
// with '-', at most 255 bytes.
func CheckPropertyName(name string) error {
	switch {
	case name == "":
		return errors.New("invalid property name \"\": empty")
	case len(name) > 255:
		return fmt.Errorf("invalid property name %s: %d bytes long, more than 255", quoteTrunc(name, 60), len(name))
	case name[0] == '-':
		return fmt.Errorf("invalid property name %q: starts with '-'", name)
	}
	for i := 0; i < len(name); i++ {
		if b := name[i]; !('a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.' || b == ':') {
			return fmt.Errorf("invalid property name %q: invalid character %q", name, b)
		}
	}
	return nil
}

// checkPropertyValue rejects values that zfs refuses or that would break
// parsing zfs get output later (control characters, tabs, newlines).
func checkPropertyValue(name, value string) error {
	if len(value) > MaxPropValueLen {
		return fmt.Errorf("invalid value for property %q: %d bytes long, more than %d", name, len(value), MaxPropValueLen)
	}
	for i := 0; i < len(value); i++ {
		if value[i] < 0x20 || value[i] == 0x7f {
			return fmt.Errorf("invalid value for property %q: control character %q", name, value[i])
		}
	}
	return nil
}

// ParseProperties parses the output of
// `zfs get -H -p -o name,property,value,source`. A user property's value may
// contain tabs: the value is everything between the second and the last tab.
func ParseProperties(r io.Reader) ([]Property, error) {
	var props []Property
	err := scanLines(r, "zfs get", func(line string) error {
		f := strings.SplitN(line, "\t", 3)
		last := strings.LastIndexByte(line, '\t')
		if len(f) < 3 || last <= len(f[0])+len(f[1])+1 {
			return fmt.Errorf("%d fields, want 4 (name, property, value, source)", strings.Count(line, "\t")+1)
		}
		p := Property{
			Name:     f[0],
			Property: f[1],
			Value:    line[len(f[0])+len(f[1])+2 : last],
			Source:   line[last+1:],
		}
		if err := checkAnyName(p.Name); err != nil {
			return err
		}
		if p.Property == "" {
			return errors.New("empty property name")
		}
		if p.Source == "" {
			return errors.New("empty source")
		}
		props = append(props, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return props, nil
}

// checkAnyName validates s as whichever name its delimiter says it is.
func checkAnyName(s string) error {
	var err error
	switch {
	case strings.IndexByte(s, '@') >= 0:
		_, err = ParseSnapshot(s)
	case strings.IndexByte(s, '#') >= 0:
		_, err = ParseBookmark(s)
	default:
		_, err = ParseDataset(s)
	}
	return err
}
