package conf

import (
	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/zfs"

	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// ParseDuration parses a positive duration: Go syntax ("90s", "1h30m", "26h") plus the units
// "d" (24h) and "w" (7d), freely combined ("1d12h", "2w"). Zero, negative and fractional-day
// values that are not whole nanoseconds are errors.
func ParseDuration(s string) (time.Duration, error) {
	if s == "" {
		return 0, errors.New(`empty duration; write one like "26h", "7d" or "2w"`)
	}
	if s[0] == '-' {
		return 0, fmt.Errorf("duration %q is negative; it must be positive", s)
	}
	if s[0] == '+' {
		return 0, fmt.Errorf("duration %q has a sign; write it without %q", s, "+")
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		j := i
		for j < len(rest) && !(rest[j] >= '0' && rest[j] <= '9' || rest[j] == '.') {
			j++
		}
		num, unit := rest[:i], rest[i:j]
		rest = rest[j:]
		if num == "" || unit == "" {
			return 0, fmt.Errorf("invalid duration %q: write a number and a unit, like \"26h\", \"7d\" or \"1d12h\" (units: s, m, h, d, w)", s)
		}
		var part time.Duration
		switch unit {
		case "d", "w":
			hours := 24.0
			if unit == "w" {
				hours = 7 * 24
			}
			f, err := strconv.ParseFloat(num, 64)
			if err != nil {
				return 0, fmt.Errorf("invalid duration %q: bad number %q", s, num)
			}
			ns := f * hours * float64(time.Hour)
			if ns >= math.MaxInt64 {
				return 0, fmt.Errorf("duration %q is too long", s)
			}
			part = time.Duration(ns)
		default:
			d, err := time.ParseDuration(num + unit)
			if err != nil {
				if strings.Contains(err.Error(), "unknown unit") || strings.Contains(err.Error(), "missing unit") {
					return 0, fmt.Errorf("invalid duration %q: unknown unit %q (units: s, m, h, d, w)", s, unit)
				}
				return 0, fmt.Errorf("invalid duration %q: %q is out of range or malformed", s, num+unit)
			}
			part = d
		}
		if total > math.MaxInt64-part {
			return 0, fmt.Errorf("duration %q is too long", s)
		}
		total += part
	}
	if total <= 0 {
		return 0, fmt.Errorf("duration %q is zero; it must be positive", s)
	}
	return total, nil
}

// FormatDuration writes d the way an operator would: "2w", "3d", "24h", "26h", "1h30m", "45s".
func FormatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return d.String()
	case d%(7*24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(7*24*time.Hour)), 10) + "w"
	case d%(24*time.Hour) == 0 && d >= 48*time.Hour:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Size is a number of bytes.
type Size int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	// Longest suffixes first, so that "KiB" is not read as "K" followed by junk.
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"K", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
}

// ParseSize parses a whole number of bytes, bare ("1048576") or with a unit: K, M, G, T
// (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), as in "20MiB" or "500M".
func ParseSize(s string) (Size, error) {
	num, mult := s, int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	if num == "" || strings.TrimLeft(num, "0123456789") != "" {
		return 0, fmt.Errorf("invalid size %q: write a whole number with an optional unit, like \"20MiB\" or \"500M\" (units: K, M, G, T, KiB, MiB, GiB, TiB)", s)
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return Size(n * mult), nil
}

// String formats a size with the largest unit that divides it exactly: "20 MiB", "500 MB",
// "1234 B".
func (s Size) String() string {
	if s == 0 {
		return "0 B"
	}
	for _, u := range []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"TB", 1e12}, {"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"kB", 1e3}} {
		if int64(s)%u.mult == 0 {
			return fmt.Sprintf("%d %s", int64(s)/u.mult, u.name)
		}
	}
	return fmt.Sprintf("%d B", int64(s))
}

// TTL is a zfsnap2 time to live, as written at the end of a snapshot name
// ("2024-05-01_03.15.00--1w"): "forever" or counts in the order y m w d h M s, where "m" is
// months and "M" minutes. How long a year or a month is, is the policy's business, not conf's.
type TTL struct {
	Forever bool
	// Parts holds the counts for y, m, w, d, h, M, s, in that order.
	Parts [7]int
}

const ttlUnits = "ymwdhMs"

var ttlWords = [7]string{"year", "month", "week", "day", "hour", "minute", "second"}

// ParseTTL parses a zfsnap2 TTL: "forever", or one or more parts in the order y m w d h M s,
// each a positive integer without leading zeros followed by its unit ("1w", "1y2m3w4d5h6M7s").
func ParseTTL(s string) (TTL, error) {
	if s == "forever" {
		return TTL{Forever: true}, nil
	}
	var t TTL
	rest, next := s, 0
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return TTL{}, fmt.Errorf("invalid TTL %q: write %q or counts with units in the order y m w d h M s, like \"1w\" or \"1y6m\"", s, "forever")
		}
		num, unit := rest[:i], rest[i]
		rest = rest[i+1:]
		k := strings.IndexByte(ttlUnits, unit)
		if k < 0 {
			return TTL{}, fmt.Errorf("invalid TTL %q: unknown unit %q (units, in this order: y m w d h M s; m is months, M minutes)", s, string(unit))
		}
		if k < next {
			return TTL{}, fmt.Errorf("invalid TTL %q: unit %q is out of order or repeated; write the parts in the order y m w d h M s", s, string(unit))
		}
		if num[0] == '0' {
			return TTL{}, fmt.Errorf("invalid TTL %q: %q must be a positive number without leading zeros", s, num)
		}
		n, err := strconv.Atoi(num)
		if err != nil || n > 1_000_000 {
			return TTL{}, fmt.Errorf("invalid TTL %q: %q is too large", s, num)
		}
		t.Parts[k] = n
		next = k + 1
	}
	if next == 0 {
		return TTL{}, errors.New(`empty TTL; write "forever" or one like "1w"`)
	}
	// And whatever else the policy package, which names and expires the snapshots, refuses
	// (FuzzConfigAcceptedIsUsable: nothing today, conf's rules being the narrower).
	if _, err := policy.ParseTTL(t.String()); err != nil {
		return TTL{}, fmt.Errorf("invalid TTL %q: %w; write one like \"1w\"", s, err)
	}
	return t, nil
}

// String gives the TTL in zfsnap2 form, as it would appear in a snapshot name.
func (t TTL) String() string {
	if t.Forever {
		return "forever"
	}
	var b strings.Builder
	for k, n := range t.Parts {
		if n > 0 {
			b.WriteString(strconv.Itoa(n))
			b.WriteByte(ttlUnits[k])
		}
	}
	return b.String()
}

// Words gives the TTL in English: "1 year 2 months", "forever".
func (t TTL) Words() string {
	if t.Forever {
		return "forever"
	}
	var w []string
	for k, n := range t.Parts {
		if n > 0 {
			w = append(w, plural(n, ttlWords[k]))
		}
	}
	return strings.Join(w, " ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// Grid units, from the finest to the coarsest.
var gridUnits = []string{"hourly", "daily", "weekly", "monthly", "yearly"}

// GridRule is one rule of a retention grid: keep the newest snapshot of each of the last Count
// hours, days, weeks, months or years (Unit "hourly", "daily", ...), or of every one of them
// when Forever is set.
type GridRule struct {
	Count   int
	Forever bool
	Unit    string
}

// ParseGridRule parses "14 daily", "8 weekly", "12 monthly", "forever yearly", "24 hourly".
func ParseGridRule(s string) (GridRule, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return GridRule{}, fmt.Errorf("invalid grid rule %q: write a count and a unit, like \"14 daily\" or \"forever yearly\"", s)
	}
	var r GridRule
	if f[0] == "forever" {
		r.Forever = true
	} else {
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 || f[0][0] == '0' || f[0][0] == '+' {
			return GridRule{}, fmt.Errorf("invalid grid rule %q: the count %q must be a positive whole number or %q", s, f[0], "forever")
		}
		r.Count = n
	}
	for _, u := range gridUnits {
		if f[1] == u {
			r.Unit = u
			return r, nil
		}
	}
	return GridRule{}, fmt.Errorf("invalid grid rule %q: unknown unit %q; use one of %s", s, f[1], strings.Join(gridUnits, ", "))
}

// String gives the rule as written in the file: "14 daily".
func (r GridRule) String() string {
	if r.Forever {
		return "forever " + r.Unit
	}
	return strconv.Itoa(r.Count) + " " + r.Unit
}

// Words gives the rule in English: "the last 14 days", "every year, forever".
func (r GridRule) Words() string {
	period := map[string]string{"hourly": "hour", "daily": "day", "weekly": "week", "monthly": "month", "yearly": "year"}[r.Unit]
	if r.Forever {
		return "one per " + period + ", forever"
	}
	return "one per " + period + " for the last " + plural(r.Count, period)
}

// Remote is where a pull job's snapshots come from: an SSH login on the source host.
type Remote struct {
	User string
	Host string // a DNS name, an IPv4 address or an IPv6 address (without brackets)
	Port int
}

// ParseRemote parses "user@host", "user@host:port" or "user@[ipv6]:port". The port defaults
// to 22.
func ParseRemote(s string) (Remote, error) {
	user, hostport, ok := strings.Cut(s, "@")
	if !ok {
		return Remote{}, fmt.Errorf("invalid source %q: write user@host or user@host:port, like \"backup@host05\"", s)
	}
	if err := checkUserName(user); err != nil {
		return Remote{}, fmt.Errorf("invalid source %q: %v", s, err)
	}
	r := Remote{User: user, Port: 22}
	host, port := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return Remote{}, fmt.Errorf("invalid source %q: missing %q after the IPv6 address", s, "]")
		}
		host, port = hostport[1:end], hostport[end+1:]
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() || a.Zone() != "" {
			return Remote{}, fmt.Errorf("invalid source %q: %q is not an IPv6 address", s, host)
		}
		if port != "" && port[0] != ':' {
			return Remote{}, fmt.Errorf("invalid source %q: write the port as [address]:port", s)
		}
		port = strings.TrimPrefix(port, ":")
		if strings.HasPrefix(hostport[end+1:], ":") && port == "" {
			return Remote{}, fmt.Errorf("invalid source %q: empty port", s)
		}
	} else {
		if i := strings.LastIndexByte(hostport, ':'); i >= 0 {
			if strings.Count(hostport, ":") > 1 {
				return Remote{}, fmt.Errorf("invalid source %q: put an IPv6 address in brackets, like backup@[2001:db8::5]:22", s)
			}
			host, port = hostport[:i], hostport[i+1:]
			if port == "" {
				return Remote{}, fmt.Errorf("invalid source %q: empty port", s)
			}
		}
		if err := checkHostName(host); err != nil {
			return Remote{}, fmt.Errorf("invalid source %q: %v", s, err)
		}
	}
	r.Host = host
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+' {
			return Remote{}, fmt.Errorf("invalid source %q: port %q must be a number from 1 to 65535", s, port)
		}
		r.Port = n
	}
	return r, nil
}

// String gives the remote as written in the file, with the port: "backup@host05:22".
func (r Remote) String() string {
	h := r.Host
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	return r.User + "@" + h + ":" + strconv.Itoa(r.Port)
}

// checkHostName accepts an IPv4 address or a DNS name (letters, digits and hyphens in labels
// of at most 63 characters, no label starting or ending with a hyphen).
func checkHostName(h string) error {
	if h == "" {
		return errors.New("empty host name")
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Is4() {
			return nil
		}
		return fmt.Errorf("%q: put an IPv6 address in brackets", h)
	}
	if len(h) > 253 {
		return fmt.Errorf("host name %q is longer than 253 characters", h)
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q is not a valid host name", h)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not a valid host name: a label cannot start or end with %q", h, "-")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("%q is not a valid host name: it contains %q", h, string(rune(c)))
			}
		}
	}
	return nil
}

// checkUserName accepts portable unix user names: a letter or "_", then letters, digits, ".",
// "_" or "-", at most 32 characters.
func checkUserName(u string) error {
	if u == "" {
		return errors.New("empty user name")
	}
	if len(u) > 32 {
		return fmt.Errorf("user name %q is longer than 32 characters", u)
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
		if i == 0 && !letter || !letter && !(c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("%q is not a valid user name: use a letter or %q, then letters, digits, \".\", \"_\" or \"-\"", u, "_")
		}
	}
	return nil
}

// SignerKeyPrefix starts the text form of a signer's public key: the prefix then the standard
// base64 (with padding) of the 32-byte ed25519 public key.
const SignerKeyPrefix = "vault-ed25519:"

// ParseSignerKey parses the text form of an ed25519 signing key, as `vault keygen` prints it.
func ParseSignerKey(s string) (ed25519.PublicKey, error) {
	b64, ok := strings.CutPrefix(s, SignerKeyPrefix)
	if !ok {
		return nil, fmt.Errorf("public key must start with %q; paste the line `vault keygen` printed on the exporting host", SignerKeyPrefix)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil || len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("public key must be %q followed by the base64 of 32 bytes; paste the line `vault keygen` printed on the exporting host", SignerKeyPrefix)
	}
	return ed25519.PublicKey(raw), nil
}

// FormatSignerKey is the inverse of ParseSignerKey.
func FormatSignerKey(k ed25519.PublicKey) string {
	return SignerKeyPrefix + base64.StdEncoding.EncodeToString(k)
}

// checkDataset accepts ZFS dataset names (no snapshots, no bookmarks): "/"-separated
// components of letters, digits and "_.: -", a pool name starting with a letter or digit, no
// empty, "." or ".." component, shorter than 256 bytes.
func checkDataset(name string) error {
	switch {
	case name == "":
		return errors.New("empty dataset name")
	case len(name) >= 256:
		return fmt.Errorf("dataset name %q is 256 bytes or longer", name)
	case name[0] == '-':
		return fmt.Errorf("dataset name %q starts with %q", name, "-")
	case strings.ContainsAny(name, "@#"):
		return fmt.Errorf("%q names a snapshot or bookmark; give the dataset only (no %q or %q)", name, "@", "#")
	}
	for i, c := range strings.Split(name, "/") {
		switch {
		case c == "":
			return fmt.Errorf("dataset name %q has an empty component (a leading, trailing or double %q)", name, "/")
		case c == "." || c == "..":
			return fmt.Errorf("dataset name %q has a %q component", name, c)
		case i == 0 && !isAlnum(c[0]):
			return fmt.Errorf("dataset name %q: the pool name must start with a letter or digit", name)
		}
		for j := 0; j < len(c); j++ {
			if !isAlnum(c[j]) && !strings.ContainsRune("_.: -", rune(c[j])) {
				return fmt.Errorf("dataset name %q contains %q; use letters, digits and \"_.: -\"", name, string(rune(c[j])))
			}
		}
	}
	// And whatever else the zfs package, which every command uses, refuses (a pool named like a
	// vdev type, a pool name starting with a digit, a component starting with '-'): a name the
	// configuration accepts must not fail later in a pull.
	if _, err := zfs.ParseDataset(name); err != nil {
		return fmt.Errorf("%w; zfs refuses such a name, so no dataset is called that: correct the spelling", err)
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// under reports whether dataset d is root or lies below it.
func under(d, root string) bool {
	return d == root || strings.HasPrefix(d, root+"/")
}

// lastComponent gives "c" for "a/b/c".
func lastComponent(d string) string {
	return d[strings.LastIndexByte(d, '/')+1:]
}
