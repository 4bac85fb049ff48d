package sneakernet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"

	"filippo.io/age"
)

// ErrNoBreakGlass is returned by [BreakGlassIdentities] for an export made without a
// passphrase.
var ErrNoBreakGlass = errors.New("this export has no break-glass file: it was made without a passphrase; import it with the vault's age identity")

// ErrWrongPassphrase is wrapped by the error of [BreakGlassIdentities] when the passphrase
// does not open the break-glass file.
var ErrWrongPassphrase = errors.New("the passphrase does not open the break-glass file")

// MinPassphraseLen is the shortest break-glass passphrase an export takes, in bytes. The
// break-glass file sits on the media beside the volumes; the passphrase is all that keeps
// the stream from whoever holds them, so it must stand up to an offline guessing attack,
// which scrypt only slows down.
const MinPassphraseLen = 12

// readBreakGlass reads the manifest's break-glass file from media and checks it against
// the manifest: a regular file of its size and SHA-256.
func readBreakGlass(m *Manifest, media *Media) ([]byte, error) {
	bg := m.BreakGlass
	if bg == nil {
		return nil, ErrNoBreakGlass
	}
	if media == nil {
		return nil, errors.New("no media")
	}
	name := "break-glass file " + bg.File
	f, err := media.open("break-glass file", bg.File)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s is missing: copy it from the export media into the directory of the manifest", name)
	}
	var nr *NotRegularError
	if errors.As(err, &nr) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", name, err)
	}
	if fi.Size() != bg.Bytes {
		return nil, fmt.Errorf("%s is %d bytes, the manifest says %d; copy it again from the export media", name, fi.Size(), bg.Bytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, bg.Bytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", name, err)
	}
	if sum := sha256.Sum256(data); int64(len(data)) != bg.Bytes || hex.EncodeToString(sum[:]) != bg.SHA256 {
		return nil, fmt.Errorf("%s does not match the signed manifest; copy it again from the export media", name)
	}
	return data, nil
}

// checkBreakGlass verifies the break-glass file, if the manifest lists one: an import
// checks every file of the export, so that media whose break-glass copy is damaged is
// found while the export can still be made again.
func checkBreakGlass(m *Manifest, media *Media) error {
	if m.BreakGlass == nil {
		return nil
	}
	_, err := readBreakGlass(m, media)
	return err
}

// BreakGlassIdentities opens the export's break-glass file (verified against the signed
// manifest first) with passphrase and returns the identity it holds, for [Preflight] and
// [Import] in place of the vault's identity. Opening it costs age's scrypt work: about a
// second and 256 MiB of memory with the default work factor.
func BreakGlassIdentities(s *Signed, media *Media, passphrase string) ([]age.Identity, error) {
	if s == nil {
		return nil, errors.New("no verified manifest")
	}
	data, err := readBreakGlass(&s.m, media)
	if err != nil {
		return nil, err
	}
	sid, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, fmt.Errorf("break-glass passphrase: %w", err)
	}
	r, err := age.Decrypt(bytes.NewReader(data), sid)
	if err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			return nil, fmt.Errorf("%w %s", ErrWrongPassphrase, s.m.BreakGlass.File)
		}
		return nil, fmt.Errorf("cannot open %s: %w", s.m.BreakGlass.File, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxBreakGlassBytes))
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", s.m.BreakGlass.File, err)
	}
	ids, err := age.ParseIdentities(bytes.NewReader(plain))
	if err != nil {
		return nil, fmt.Errorf("%s does not hold an age identity: %w", s.m.BreakGlass.File, err)
	}
	for _, id := range ids {
		if x, ok := id.(*age.X25519Identity); !ok || x.Recipient().String() != s.m.BreakGlass.Recipient {
			return nil, fmt.Errorf("%s holds an identity that is not the export's break-glass recipient %s", s.m.BreakGlass.File, s.m.BreakGlass.Recipient)
		}
	}
	return ids, nil
}
