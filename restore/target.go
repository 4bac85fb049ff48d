package restore

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/belltech/vault/zfs"
)

// Target is where a restore lands: USER@HOST[:PORT]:POOL/PATH.
type Target struct {
	User    string
	Host    string
	Port    int // 0 means 22
	Dataset zfs.Dataset
}

func (t Target) String() string {
	host := t.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if t.Port != 0 {
		host += ":" + strconv.Itoa(t.Port)
	}
	return t.User + "@" + host + ":" + t.Dataset.String()
}

// ParseTarget parses USER@HOST[:PORT]:POOL/PATH (an IPv6 address in brackets). POOL/PATH must
// have a parent: a restore creates a dataset, never a pool.
func ParseTarget(s string) (Target, error) {
	bad := func(why string) (Target, error) {
		return Target{}, fmt.Errorf("--to %q: %s; want USER@HOST[:PORT]:POOL/PATH", s, why)
	}
	user, rest, ok := strings.Cut(s, "@")
	if !ok || user == "" {
		return bad("no user")
	}
	if err := zfs.CheckUserName(user); err != nil {
		return bad(err.Error())
	}
	var host string
	if strings.HasPrefix(rest, "[") {
		end := strings.Index(rest, "]")
		if end < 0 {
			return bad("unclosed [")
		}
		host, rest = rest[1:end], rest[end+1:]
		if !strings.HasPrefix(rest, ":") {
			return bad("no :POOL/PATH after the host")
		}
		rest = rest[1:]
	} else if host, rest, ok = strings.Cut(rest, ":"); !ok {
		return bad("no :POOL/PATH after the host")
	}
	if err := checkHost(host); err != nil {
		return bad(err.Error())
	}
	t := Target{User: user, Host: host}
	// A pool name starts with a letter, so digits before a colon are a port.
	if p, ds, ok := strings.Cut(rest, ":"); ok && p != "" && strings.Trim(p, "0123456789") == "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 || p[0] == '0' {
			return bad(fmt.Sprintf("port %q is not 1 to 65535", p))
		}
		t.Port, rest = n, ds
	}
	d, err := zfs.ParseDataset(rest)
	if err != nil {
		return bad(err.Error())
	}
	if _, ok := d.Parent(); !ok {
		return bad("a restore creates a dataset under an existing one, not a pool: name POOL/PATH")
	}
	t.Dataset = d
	return t, nil
}

// checkHost accepts a host name or an IP address: letters, digits, '.', '-', and ':' or '%'
// (IPv6, zone), not starting with '-'.
func checkHost(h string) error {
	if h == "" {
		return fmt.Errorf("no host")
	}
	if len(h) > 253 {
		return fmt.Errorf("host name longer than 253 bytes")
	}
	if h[0] == '-' {
		return fmt.Errorf("host %q starts with '-'", h)
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '%' || c == '_') {
			return fmt.Errorf("host %q has %q", h, c)
		}
	}
	return nil
}
