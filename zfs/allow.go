package zfs

import (
	"bufio"
	"context"
	"fmt"
	"slices"
	"strings"
)

// Delegation is what `zfs allow DATASET` reports for one user: the permissions that apply to
// the dataset and everything below it, whether set on it or inherited from an ancestor.
type Delegation struct {
	User  string
	Perms []string // sorted, no duplicates
	// From says where each permission is set: the dataset itself or an ancestor (a grant on
	// an ancestor cannot be taken away below it).
	From map[string][]Dataset
}

// CheckUserName accepts the user names vault delegates to: a letter or underscore, then
// letters, digits, '_', '-' or '.', at most 32 bytes (what useradd and pw accept).
func CheckUserName(u string) error {
	if u == "" || len(u) > 32 {
		return fmt.Errorf("user name %q must be 1 to 32 characters", u)
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		ok := c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' ||
			i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.')
		if !ok {
			return fmt.Errorf("user name %q has %q at byte %d", u, c, i)
		}
	}
	return nil
}

// Allow runs `zfs allow -u USER perm,perm,... DATASET`: the permissions apply to the dataset
// and its descendants.
func (z *ZFS) Allow(ctx context.Context, user string, perms []string, ds Dataset) error {
	argv, err := z.allowArgv(user, perms, ds)
	if err != nil {
		return fmt.Errorf("cannot delegate on %q: %w", ds.String(), err)
	}
	return z.run(ctx, argv)
}

func (z *ZFS) allowArgv(user string, perms []string, ds Dataset) ([]string, error) {
	if err := CheckUserName(user); err != nil {
		return nil, err
	}
	if len(perms) == 0 {
		return nil, fmt.Errorf("no permissions named")
	}
	for _, p := range perms {
		if err := CheckPropertyName(p); err != nil {
			return nil, fmt.Errorf("permission %q: %w", p, err)
		}
	}
	if ds.IsZero() {
		return nil, fmt.Errorf("no dataset")
	}
	return z.argv("allow", "-u", user, strings.Join(perms, ","), ds.String())
}

// Unallow runs `zfs unallow -u USER perm,perm,... DATASET`: it takes away what was granted on
// the dataset itself (a grant on an ancestor stays; see Delegation.From).
func (z *ZFS) Unallow(ctx context.Context, user string, perms []string, ds Dataset) error {
	argv, err := z.allowArgv(user, perms, ds)
	if err != nil {
		return fmt.Errorf("cannot take away a delegation on %q: %w", ds.String(), err)
	}
	argv[1] = "unallow" // argv is [bin allow -u user perms ds]
	return z.run(ctx, argv)
}

// Held returns the permissions of perms that d holds.
func (d Delegation) Held(perms []string) []string {
	var held []string
	for _, p := range perms {
		if slices.Contains(d.Perms, p) {
			held = append(held, p)
		}
	}
	return held
}

// Delegated reads `zfs allow DATASET` and returns what user may do on the dataset and below.
func (z *ZFS) Delegated(ctx context.Context, user string, ds Dataset) (Delegation, error) {
	argv, err := z.argv("allow", ds.String())
	if err != nil {
		return Delegation{}, err
	}
	out, err := z.output(ctx, argv)
	if err != nil {
		return Delegation{}, err
	}
	return ParseAllow(out.String(), user, ds)
}

// ParseAllow reads the output of `zfs allow DATASET`:
//
//	---- Permissions on rust10/Backups -----------------------------------
//	Local+Descendent permissions:
//		user backup create,destroy,mount,receive
//
// and collects the user's permissions that reach ds: "Local+Descendent" and "Local" ones set on
// ds itself, "Local+Descendent" and "Descendent" ones set on an ancestor. Sections it does not
// know (permission sets, create time) are skipped; a line it cannot read is an error that
// quotes it.
func ParseAllow(out, user string, ds Dataset) (Delegation, error) {
	d := Delegation{User: user}
	var on Dataset
	kind := ""
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case line == "":
		case strings.HasPrefix(line, "---- Permissions on "):
			name := strings.TrimPrefix(line, "---- Permissions on ")
			name = strings.TrimRight(name, "-")
			name = strings.TrimSuffix(name, " ")
			p, err := ParseDataset(name)
			if err != nil {
				return d, fmt.Errorf("zfs allow line %d %s: %w", n, quoteTrunc(line, 120), err)
			}
			on, kind = p, ""
		case !strings.HasPrefix(line, "\t") && strings.HasSuffix(line, ":"):
			kind = strings.TrimSuffix(line, ":")
		case strings.HasPrefix(line, "\t") && on.IsZero():
			return d, fmt.Errorf("zfs allow line %d %s: permissions before any dataset header", n, quoteTrunc(line, 120))
		case strings.HasPrefix(line, "\t") && (kind == "Permission sets" || kind == "Create time permissions"):
			// Not what a user holds.
		case strings.HasPrefix(line, "\t") && kind != "Local permissions" && kind != "Descendent permissions" && kind != "Local+Descendent permissions":
			return d, fmt.Errorf("zfs allow line %d %s: in an unknown section %q", n, quoteTrunc(line, 120), kind)
		case strings.HasPrefix(line, "\t"):
			f := strings.Fields(line)
			if len(f) < 2 {
				return d, fmt.Errorf("zfs allow line %d %s: want a who and permissions", n, quoteTrunc(line, 120))
			}
			if f[0] != "user" || len(f) != 3 || f[1] != user {
				continue
			}
			self := on == ds
			applies := (kind == "Local+Descendent permissions" && (self || on.IsAncestorOf(ds))) ||
				(kind == "Local permissions" && self) ||
				(kind == "Descendent permissions" && on.IsAncestorOf(ds) && !self)
			if applies {
				for _, p := range strings.Split(f[2], ",") {
					d.Perms = append(d.Perms, p)
					if d.From == nil {
						d.From = map[string][]Dataset{}
					}
					if !slices.Contains(d.From[p], on) {
						d.From[p] = append(d.From[p], on)
					}
				}
			}
		default:
			return d, fmt.Errorf("zfs allow line %d %s: not a header, section or permission line", n, quoteTrunc(line, 120))
		}
	}
	if err := sc.Err(); err != nil {
		return d, err
	}
	slices.Sort(d.Perms)
	d.Perms = slices.Compact(d.Perms)
	return d, nil
}

// Missing returns the permissions of want that d lacks.
func (d Delegation) Missing(want []string) []string {
	var miss []string
	for _, w := range want {
		if !slices.Contains(d.Perms, w) {
			miss = append(miss, w)
		}
	}
	return miss
}
