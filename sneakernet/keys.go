package sneakernet

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"filippo.io/age"

	"github.com/belltech/vault/conf"
)

// SigningKeyPrefix starts the text form of a host's private signing key: the prefix, then
// the standard base64 (with padding) of the 32-byte ed25519 seed (RFC 8032's private key).
// The public form is conf.SignerKeyPrefix and the public key, as conf.FormatSignerKey writes.
const SigningKeyPrefix = "vault-ed25519-private:"

const maxKeyFileSize = 64 << 10

// GenerateSigningKey returns a new ed25519 key for signing manifests.
func GenerateSigningKey() (ed25519.PrivateKey, error) {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	return k, err
}

// MarshalSigningKey returns the contents of a signing key file: comment lines with the
// creation time and the public key to pin (in the config's form), then the key.
func MarshalSigningKey(k ed25519.PrivateKey, created time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# vault manifest signing key\n")
	fmt.Fprintf(&b, "# created: %s\n", created.Format(time.RFC3339))
	fmt.Fprintf(&b, "# public key: %s\n", conf.FormatSignerKey(k.Public().(ed25519.PublicKey)))
	fmt.Fprintf(&b, "%s%s\n", SigningKeyPrefix, base64.StdEncoding.EncodeToString(k.Seed()))
	return b.Bytes()
}

// ParseSigningKey parses a signing key file: empty lines and lines starting with '#' are
// ignored, and exactly one line holds the key. Errors never quote the key.
func ParseSigningKey(data []byte) (ed25519.PrivateKey, error) {
	if len(data) > maxKeyFileSize {
		return nil, fmt.Errorf("signing key file is longer than %d bytes", maxKeyFileSize)
	}
	var key ed25519.PrivateKey
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if key != nil {
			return nil, fmt.Errorf("line %d: a signing key file holds one key", n)
		}
		b64, ok := strings.CutPrefix(line, SigningKeyPrefix)
		if !ok {
			return nil, fmt.Errorf("line %d: not a signing key: want %q followed by base64", n, SigningKeyPrefix)
		}
		seed, err := base64.StdEncoding.Strict().DecodeString(b64)
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("line %d: not a signing key: want %q followed by the base64 of %d bytes", n, SigningKeyPrefix, ed25519.SeedSize)
		}
		key = ed25519.NewKeyFromSeed(seed)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cannot read signing key: %w", err)
	}
	if key == nil {
		return nil, errors.New("no signing key in the file")
	}
	return key, nil
}

// MarshalIdentity returns the contents of an age identity file exactly as age-keygen
// writes it, so that the age CLI and vault read each other's.
func MarshalIdentity(id *age.X25519Identity, created time.Time) []byte {
	return fmt.Appendf(nil, "# created: %s\n# public key: %s\n%s\n",
		created.Format(time.RFC3339), id.Recipient(), id)
}

// WriteKeyFile creates path with mode 0600 and writes data to it. It refuses to replace a
// file, and removes what it created if the write fails.
func WriteKeyFile(path string, data []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("cannot write key file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(path)
			err = fmt.Errorf("cannot write key file %q: %w", path, err)
		}
	}()
	// The umask can only take bits away from 0600; make sure nothing else set more.
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	return f.Close()
}

// ReadKeyFile reads a private key file, refusing one that its group or other users may
// read or write (like ssh), one that is not a regular file, and one larger than 64 KiB.
func ReadKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %q is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key file %q is accessible by group or others (mode %04o): run `chmod 600 %s`", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read key file %q: %w", path, err)
	}
	if len(b) > maxKeyFileSize {
		return nil, fmt.Errorf("key file %q is longer than %d bytes", path, maxKeyFileSize)
	}
	return b, nil
}

// ReadSigningKeyFile reads and parses a signing key file with [ReadKeyFile] and
// [ParseSigningKey].
func ReadSigningKeyFile(path string) (ed25519.PrivateKey, error) {
	b, err := ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	k, err := ParseSigningKey(b)
	if err != nil {
		return nil, fmt.Errorf("key file %q: %w", path, err)
	}
	return k, nil
}

// ReadIdentityFile reads an age identity file (as age-keygen or [MarshalIdentity] writes it)
// with [ReadKeyFile] and parses it with age.ParseIdentities.
func ReadIdentityFile(path string) ([]age.Identity, error) {
	b, err := ReadKeyFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(b, []byte("age-encryption.org/")) {
		return nil, fmt.Errorf("identity file %q is itself encrypted (age -p); decrypt it first, or use the age CLI", path)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("identity file %q: %w", path, err)
	}
	return ids, nil
}
