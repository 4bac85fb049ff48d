package sneakernet

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/belltech/vault/conf"
)

// signContext prefixes the manifest bytes in what the host key signs, so that a signature
// made for anything else never verifies as a manifest's.
const signContext = "vault-sneakernet manifest\n"

// SigSuffix is appended to the manifest's file name to name its signature file.
const SigSuffix = ".sig"

const maxSigFileSize = 1 << 10

// ErrBadSignature is returned for a manifest whose signature does not verify: the manifest
// or its signature file changed after signing, or they do not belong together.
var ErrBadSignature = errors.New("manifest signature does not verify: the manifest or its .sig file was changed after the export, or they are not from the same export")

// UnpinnedSignerError is returned for a manifest validly signed by a key that is not pinned.
type UnpinnedSignerError struct {
	Key ed25519.PublicKey
}

func (e *UnpinnedSignerError) Error() string {
	return fmt.Sprintf("manifest is signed by %s, which is not a pinned signer; if that is the exporting host's key (`vault keygen` printed it there), add it as a [[signer]] in the config",
		conf.FormatSignerKey(e.Key))
}

// TrustFunc reports whether key is a pinned signer, and the signer's name if it is.
type TrustFunc func(key ed25519.PublicKey) (signer string, ok bool)

// Signed is a manifest whose signature verified against a pinned signer. Only
// [VerifyManifest] and [ReadManifest] make one, and only a Signed can be imported.
type Signed struct {
	m      Manifest
	signer string
	key    ed25519.PublicKey
}

// Manifest returns a copy of the verified manifest.
func (s *Signed) Manifest() Manifest { return s.m.Clone() }

// Signer returns the name the TrustFunc gave the signing key.
func (s *Signed) Signer() string { return s.signer }

// SignerKey returns the key that signed the manifest.
func (s *Signed) SignerKey() ed25519.PublicKey { return append(ed25519.PublicKey(nil), s.key...) }

// signManifest returns the contents of the signature file for the manifest bytes data: one
// line, the public key in conf's form, a space, and the base64 of the signature.
func signManifest(key ed25519.PrivateKey, data []byte) []byte {
	sig := ed25519.Sign(key, signedMessage(data))
	pub := key.Public().(ed25519.PublicKey)
	return []byte(conf.FormatSignerKey(pub) + " " + base64.StdEncoding.EncodeToString(sig) + "\n")
}

func signedMessage(data []byte) []byte {
	msg := make([]byte, 0, len(signContext)+len(data))
	return append(append(msg, signContext...), data...)
}

// parseSigFile parses a signature file as signManifest writes it.
func parseSigFile(b []byte) (ed25519.PublicKey, []byte, error) {
	bad := errors.New("malformed signature file: want one line, the signer's key and the base64 signature")
	if len(b) > maxSigFileSize {
		return nil, nil, bad
	}
	line, ok := bytes.CutSuffix(b, []byte("\n"))
	if !ok || bytes.ContainsAny(line, "\r\n") {
		return nil, nil, bad
	}
	keyText, sigText, ok := strings.Cut(string(line), " ")
	if !ok {
		return nil, nil, bad
	}
	key, err := conf.ParseSignerKey(keyText)
	if err != nil {
		return nil, nil, fmt.Errorf("malformed signature file: %w", err)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(sigText)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, nil, bad
	}
	return key, sig, nil
}

// VerifyManifest checks the signature file sig over the manifest bytes before it looks
// inside them, then that trusted pins the key, and only then parses and validates the
// manifest. The errors tell these apart: [ErrBadSignature] (the manifest or signature was
// changed), [*UnpinnedSignerError] (a valid signature by a key that is not pinned), and
// [ErrInvalidManifest] (a signed manifest that vault does not accept).
//
// Whether the signer may export the manifest's dataset is the caller's decision, from
// [Signed.Signer] and the manifest's Dataset.
func VerifyManifest(manifest, sig []byte, trusted TrustFunc) (*Signed, error) {
	key, s, err := parseSigFile(sig)
	if err != nil {
		return nil, err
	}
	if !ed25519.Verify(key, signedMessage(manifest), s) {
		return nil, ErrBadSignature
	}
	name, ok := trusted(key)
	if !ok {
		return nil, &UnpinnedSignerError{Key: key}
	}
	m, err := parseManifest(manifest)
	if err != nil {
		return nil, err
	}
	if m.Signer != conf.FormatSignerKey(key) {
		return nil, fmt.Errorf("%w: signer: the manifest names %s but is signed by %s", ErrInvalidManifest, m.Signer, conf.FormatSignerKey(key))
	}
	return &Signed{m: *m, signer: name, key: key}, nil
}

// ErrNotManifest is wrapped by the error of [ReadManifest] for a file that is not a vault
// export manifest at all: empty, or not a JSON object that starts with the "format" field,
// as every manifest does. ReadManifest decides it from the first bytes alone, before the
// signature is checked (nothing is parsed).
var ErrNotManifest = errors.New("not a vault export manifest")

// ReadManifest reads the manifest file name and its signature file (name + [SigSuffix])
// from media and verifies them with [VerifyManifest]. A file that cannot be a manifest
// (empty, or not a JSON object starting with "format") is refused with [ErrNotManifest]
// before the signature file is read.
func ReadManifest(media *Media, name string, trusted TrustFunc) (*Signed, error) {
	if media == nil {
		return nil, errors.New("no media")
	}
	data, err := readLimited(media, "manifest", name, MaxManifestSize)
	if err != nil {
		return nil, err
	}
	if err := looksLikeManifest(name, data); err != nil {
		return nil, err
	}
	sig, err := readLimited(media, "signature file", name+SigSuffix, maxSigFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w; copy it from the export media together with the manifest", err)
	}
	if err != nil {
		return nil, err
	}
	return VerifyManifest(data, sig, trusted)
}

// looksLikeManifest refuses, with [ErrNotManifest], a file that cannot be a manifest
// whatever its signature: the canonical encoding starts with '{' and the "format" field.
// It only compares bytes; the manifest is parsed only once its signature has verified.
func looksLikeManifest(name string, data []byte) error {
	name = "manifest " + displayName(name)
	rest := bytes.TrimLeft(data, jsonSpace)
	switch {
	case len(data) == 0:
		return fmt.Errorf("%s is empty: %w; copy it again from the export media", name, ErrNotManifest)
	case len(rest) == 0:
		return fmt.Errorf("%s holds only white space: %w; copy it again from the export media", name, ErrNotManifest)
	case rest[0] != '{':
		return fmt.Errorf("%s is %w: %s", name, ErrNotManifest, notJSONObject(rest))
	}
	if !bytes.HasPrefix(bytes.TrimLeft(rest[1:], jsonSpace), []byte(`"format"`)) {
		return fmt.Errorf(`%s is %w: it is not a JSON object that starts with the "format" field, as every manifest does`, name, ErrNotManifest)
	}
	return nil
}

// jsonSpace is the white space JSON allows between tokens.
const jsonSpace = " \t\r\n"

// notJSONObject says what data, which does not start with '{' after white space, is instead.
func notJSONObject(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("null")):
		return "it is JSON null, not an object"
	case data[0] == '[':
		return "it is a JSON array, not an object"
	}
	return "it is not a JSON object"
}

// displayName returns a file name as it is when it is made of the characters of an export's
// file names, quoted otherwise, so that a message stays one line.
func displayName(name string) string {
	for i := 0; i < len(name); i++ {
		if !baseNameChar(name[i]) {
			return quoteTrunc(name, 200)
		}
	}
	if name == "" {
		return `""`
	}
	return name
}

// readLimited reads the regular file name from media, refusing one longer than limit. what
// names the file in the error for a file that is not regular.
func readLimited(media *Media, what, name string, limit int64) ([]byte, error) {
	f, err := media.open(what, name)
	var nr *NotRegularError
	if errors.As(err, &nr) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %w", name, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %q: %w", name, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("cannot read %q: longer than %d bytes", name, limit)
	}
	return b, nil
}
