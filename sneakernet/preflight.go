package sneakernet

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"

	"filippo.io/age"
)

// Preflight decides before any stream starts what can be decided without reading the whole
// export: every volume is there, a regular file of its size (a swap is named), the first
// segment matches its hash, the break-glass file (if the export has one) matches, and one of ids opens the age header. A caller runs it before
// starting zfs receive, so that these refusals start none; Import checks all of it again.
func Preflight(s *Signed, media *Media, ids []age.Identity) error {
	if s == nil {
		return errors.New("no verified manifest")
	}
	if media == nil {
		return errors.New("no media")
	}
	if len(ids) == 0 {
		return errors.New("no age identities")
	}
	m := &s.m
	im := &importer{m: m, media: media, hashes: decodeHashes(m)}
	for i := range m.Volumes {
		if err := im.preflight(i); err != nil {
			return err
		}
	}
	if err := checkBreakGlass(m, media); err != nil {
		return err
	}
	f, err := im.open(0)
	if err != nil {
		return err
	}
	defer f.Close()
	first := make([]byte, m.segmentLen(0))
	if _, err := io.ReadFull(f, first); err != nil {
		return im.readErr(0, int64(len(first)), err)
	}
	if sha256.Sum256(first) != im.hashes[0] {
		return im.mismatch(0, 0, 0, first)
	}
	// The header and the first chunk are in the first segment (segments are at least 1 KiB;
	// a stream shorter than that is a single segment holding the whole file).
	if _, err := age.Decrypt(bytes.NewReader(first), ids...); err != nil {
		var nomatch *age.NoIdentityMatchError
		if errors.As(err, &nomatch) {
			to := strings.Join(m.Recipients, ", ")
			if to == PassphraseRecipient {
				to = "a passphrase"
			}
			return fmt.Errorf("%w: it is encrypted to %s; check the vault's age_identity: %w", ErrWrongIdentity, to, err)
		}
		return fmt.Errorf("cannot open the age header: %w", err)
	}
	return nil
}
