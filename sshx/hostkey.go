package sshx

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError reports a host key that is not the pinned one. There is no
// trust on first use: the operator verifies the key out of band and edits
// File.
type HostKeyError struct {
	Host        string // "host05:22"
	KeyType     string // the offered key's type, such as "ssh-ed25519"; "" if none was offered
	Fingerprint string // the offered key's SHA256 fingerprint as ssh-keygen -l prints it; "" if none
	File        string // the known_hosts file
	// Changed says the host has pinned keys and offered another one.
	Changed bool
	// Revoked says the offered key is marked @revoked, on line Lines[0].
	Revoked bool
	// Certificate says the host offered a certificate, not a plain key.
	Certificate bool
	// Want holds the SHA256 fingerprints of the keys pinned for the host
	// when Changed, and Lines their line numbers in File.
	Want  []string
	Lines []int
	// WantTypes holds the pinned key types when the host offered none of
	// them (KeyType is then "").
	WantTypes []string
}

func (e *HostKeyError) Error() string {
	switch {
	case e.Certificate:
		return fmt.Sprintf("host key of %q is a certificate (%s, of the key %s): vault accepts no host certificates; "+
			"pin the host's own key in %s", e.Host, e.KeyType, e.Fingerprint, e.File)
	case e.Revoked:
		return fmt.Sprintf("host key of %q is revoked: %s %s is marked @revoked in %s; "+
			"the host must get a new key, verify it out of band and pin it",
			e.Host, e.KeyType, e.Fingerprint, e.where(e.Lines))
	case e.Changed && e.KeyType == "":
		return fmt.Sprintf("host key of %q changed: it offers none of the pinned key types (%s), "+
			"pinned %s; if the host was reinstalled, verify its new key out of band and replace the line",
			e.Host, strings.Join(e.WantTypes, ", "), e.pinned())
	case e.Changed:
		return fmt.Sprintf("host key of %q changed: offered %s %s, pinned %s; "+
			"if the host was reinstalled, verify the new key out of band and replace the line",
			e.Host, e.KeyType, e.Fingerprint, e.pinned())
	default:
		return fmt.Sprintf("host key of %q is not pinned: %s %s; verify it out of band, then add it to %s",
			e.Host, e.KeyType, e.Fingerprint, e.File)
	}
}

// pinned lists the pinned fingerprints and where they are.
func (e *HostKeyError) pinned() string {
	if len(e.Want) == 0 {
		return e.where(e.Lines)
	}
	parts := make([]string, len(e.Want))
	for i, fp := range e.Want {
		parts[i] = fp
		if i < len(e.Lines) {
			parts[i] += " in " + e.where(e.Lines[i:i+1])
		}
	}
	return strings.Join(parts, ", ")
}

func (e *HostKeyError) where(lines []int) string {
	if len(lines) == 0 {
		return e.File
	}
	s := e.File
	for i, l := range lines {
		if i == 0 {
			s += ":"
		} else {
			s += ","
		}
		s += strconv.Itoa(l)
	}
	return s
}

// hostKeys is the known_hosts database as seen for one host.
type hostKeys struct {
	host   string // host:port, as passed to knownhosts
	file   string
	check  ssh.HostKeyCallback // knownhosts' callback
	pinned []knownhosts.KnownKey
}

// loadHostKeys reads file and finds the keys pinned for host:port addr.
func loadHostKeys(file, addr string) (*hostKeys, error) {
	fi, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read known_hosts file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return nil, fmt.Errorf("known_hosts file %q is writable by group or others (mode %04o); "+
			"whoever can write it chooses which hosts vault trusts: run chmod go-w %q", file, perm, file)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read known_hosts file: %w", err)
	}
	if err := checkKnownHosts(b, file); err != nil {
		return nil, err
	}
	check, err := knownhosts.New(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read known_hosts file: %w", err)
	}
	hk := &hostKeys{host: addr, file: file, check: check}
	// knownhosts has no lookup, but a key that cannot be pinned for the
	// host makes it list the keys that are: a KeyError's Want.
	probe, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		return nil, err
	}
	var ke *knownhosts.KeyError
	if errors.As(check(addr, probeAddr, probe), &ke) {
		hk.pinned = ke.Want
	}
	return hk, nil
}

// checkKnownHosts refuses the lines of a known_hosts file that knownhosts
// would take and vault does not: @cert-authority lines (knownhosts also
// matches their key as a plain host key, so a server that presents the
// CA's key would pass) and certificates pinned as host keys. It reads the
// lines as knownhosts does. @revoked lines stay: knownhosts refuses a key
// they name.
func checkKnownHosts(b []byte, file string) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		f := strings.Fields(string(line))
		if f[0] == "@cert-authority" {
			return fmt.Errorf("known_hosts file %s:%d: @cert-authority lines are not supported: vault accepts no host certificates; "+
				"pin each host's own key (verified out of band) instead", file, n)
		}
		if f[0] == "@revoked" {
			f = f[1:]
		}
		if len(f) >= 2 && isCertAlgo(f[1]) {
			return fmt.Errorf("known_hosts file %s:%d: %s is a certificate: vault accepts no host certificates; "+
				"pin the host's own key instead", file, n, f[1])
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("cannot read known_hosts file %s: %w", file, err)
	}
	return nil
}

// isCertAlgo reports whether a key type or host key algorithm is an
// OpenSSH certificate's (ssh-ed25519-cert-v01@openssh.com and the like).
func isCertAlgo(algo string) bool {
	return strings.Contains(algo, "-cert-v0")
}

// probeAddr stands for the remote address when asking knownhosts what is
// pinned; knownhosts prefers the host name, which is always given.
var probeAddr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}

// algorithms returns the host key algorithms to offer: those of the pinned
// key types, or, if nothing is pinned, every plain key type with ed25519
// first, so that the refusal shows the key an operator would pin. Never a
// certificate's: a server cannot present one.
func (hk *hostKeys) algorithms() []string {
	if len(hk.pinned) == 0 {
		return []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
			ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	var algos []string
	for _, k := range hk.pinned {
		for _, a := range algorithmsFor(k.Key.Type()) {
			if !slices.Contains(algos, a) && !isCertAlgo(a) {
				algos = append(algos, a)
			}
		}
	}
	return algos
}

// algorithmsFor maps a key type to the signature algorithms that prove it.
func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256}
	}
	return []string{keyType}
}

// pinnedTypes returns the distinct pinned key types, in file order.
func (hk *hostKeys) pinnedTypes() []string {
	var types []string
	for _, k := range hk.pinned {
		if !slices.Contains(types, k.Key.Type()) {
			types = append(types, k.Key.Type())
		}
	}
	return types
}

// callback checks the offered host key against the pinned ones and turns a
// refusal into a *HostKeyError.
func (hk *hostKeys) callback(hostname string, remote net.Addr, key ssh.PublicKey) error {
	he := &HostKeyError{
		Host:        hk.host,
		KeyType:     key.Type(),
		Fingerprint: ssh.FingerprintSHA256(key),
		File:        hk.file,
	}
	if cert, ok := key.(*ssh.Certificate); ok {
		// algorithms offers no certificate type, so this is a server
		// that ignored them: refuse it before knownhosts, which would
		// take it if a @cert-authority line signed it.
		he.Certificate = true
		he.Fingerprint = ssh.FingerprintSHA256(cert.Key)
		return he
	}
	err := hk.check(hostname, remote, key)
	if err == nil {
		return nil
	}
	var ke *knownhosts.KeyError
	var re *knownhosts.RevokedError
	switch {
	case errors.As(err, &ke):
		if len(ke.Want) > 0 {
			he.Changed = true
			for _, w := range ke.Want {
				he.Want = append(he.Want, ssh.FingerprintSHA256(w.Key))
				he.Lines = append(he.Lines, w.Line)
			}
		}
		return he
	case errors.As(err, &re):
		he.Revoked = true
		he.Lines = []int{re.Revoked.Line}
		return he
	default:
		return fmt.Errorf("cannot check the host key of %q against %s: %w", hk.host, hk.file, err)
	}
}

// noCommonKeyType is the refusal when the host offers none of the pinned
// key types, which the handshake reports as an algorithm negotiation error.
func (hk *hostKeys) noCommonKeyType() *HostKeyError {
	he := &HostKeyError{Host: hk.host, File: hk.file, Changed: true, WantTypes: hk.pinnedTypes()}
	for _, w := range hk.pinned {
		he.Want = append(he.Want, ssh.FingerprintSHA256(w.Key))
		he.Lines = append(he.Lines, w.Line)
	}
	return he
}
