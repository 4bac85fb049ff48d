package sneakernet

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

// FuzzReadManifest feeds untrusted bytes to VerifyManifest twice: once with a signature file
// made from them (so that parsing and validation are reached) and once as the signature file
// of a valid manifest. Neither may panic; a bad signature must be reported as such before
// any parsing; whatever is accepted must be valid and canonical.
func FuzzReadManifest(f *testing.F) {
	good, err := exampleManifest(f).Marshal()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"raw": true`), []byte(`"raw": false`), 1))
	f.Add(bytes.Replace(good, []byte(`vol0002`), []byte(`../../x`), 1))
	f.Add(bytes.Replace(good, []byte(`"segments": 1`), []byte(`"segments": -1`), 1))
	if bgm, err := os.ReadFile("testdata/example-breakglass.manifest"); err == nil {
		f.Add(bgm)
		f.Add(bytes.Replace(bgm, []byte(`"bytes": 350`), []byte(`"bytes": 0`), 1))
		f.Add(bytes.Replace(bgm, []byte(`.breakglass.age"`), []byte(`.vol0001"`), 1))
	} else {
		f.Fatal(err)
	}
	if im, err := os.ReadFile("testdata/example-intermediates.manifest"); err == nil {
		f.Add(im)
		f.Add(bytes.Replace(im, []byte(`"guid": "2222222222222222222"`), []byte(`"guid": "1111111111111111111"`), 1))
		f.Add(bytes.Replace(im, []byte(`tank/data@auto-2025-03-03T18`), []byte(`tank/other@x`), 1))
	} else {
		f.Fatal(err)
	}
	f.Add([]byte(`{"format": "vault-sneakernet/1"}`))
	f.Add([]byte(`{"format": "vault-sneakernet/2"}`))
	f.Add([]byte(`{"format": "vault-sneakernet/3"}`))
	if tm, err := os.ReadFile("testdata/example-tree.manifest"); err == nil {
		f.Add(tm)
		f.Add(bytes.Replace(tm, []byte(`"path": "disk0"`), []byte(`"path": "../disk0"`), 1))
		f.Add(bytes.Replace(tm, []byte(`"compression": "zstd"`), []byte(`"mountpoint": "/etc"`), 1))
		f.Add(bytes.Replace(tm, []byte(`"stream_bytes": 30000`), []byte(`"stream_bytes": 30001`), 1))
	} else {
		f.Fatal(err)
	}
	f.Add(signManifest(testSigningKey(1), good))
	f.Add([]byte{})
	f.Add([]byte(" \n"))
	f.Add([]byte("null"))
	f.Add([]byte("[]"))
	f.Add([]byte("{}\n"))
	f.Add(good[:len(good)/2])
	key := testSigningKey(1)
	trusted := pinned(key)
	goodSig := signManifest(key, good)

	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := VerifyManifest(data, signManifest(key, data), trusted)
		if err == nil {
			m := s.Manifest()
			if err := m.validate(); err != nil {
				t.Fatalf("accepted an invalid manifest: %v", err)
			}
			canon, err := m.Marshal()
			if err != nil || !bytes.Equal(canon, data) {
				t.Fatalf("accepted a manifest that is not canonical")
			}
		} else if !errors.Is(err, ErrInvalidManifest) {
			t.Fatalf("a signed manifest was refused with %v, not ErrInvalidManifest", err)
		}

		// data as the signature file of a good manifest.
		if _, err := VerifyManifest(good, data, trusted); err == nil && !bytes.Equal(data, goodSig) {
			t.Fatalf("accepted signature file %q", data)
		}
		// data as a manifest with the signature of another: refused before parsing.
		if !bytes.Equal(data, good) {
			if _, err := VerifyManifest(data, goodSig, trusted); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("unsigned manifest refused with %v, want ErrBadSignature", err)
			}
		}
	})
}

func FuzzParseSigningKey(f *testing.F) {
	good := MarshalSigningKey(testSigningKey(1), testCreated)
	f.Add(good)
	f.Add(bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")))
	f.Add([]byte(SigningKeyPrefix + "\n"))
	f.Add([]byte(SigningKeyPrefix + "AAAA====\n"))
	f.Add([]byte("# x\n\n" + SigningKeyPrefix))
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseSigningKey(data)
		if err != nil {
			return
		}
		// Whatever parses, marshals and parses back to the same key.
		k2, err := ParseSigningKey(MarshalSigningKey(k, testCreated))
		if err != nil || !k2.Equal(k) {
			t.Fatalf("key does not round-trip: %v", err)
		}
	})
}
