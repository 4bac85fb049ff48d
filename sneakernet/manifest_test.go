package sneakernet

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/zfs"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// exampleManifest is a valid manifest of a 100,000-byte incremental stream in two 64 KiB
// segments on two volumes, signed by testSigningKey(1).
func exampleManifest(t testing.TB) *Manifest {
	hash := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	ds, err := zfs.ParseDataset("tank/data")
	require.NoError(t, err)
	return &Manifest{
		Format:       Format,
		Created:      testCreated,
		Host:         "host05",
		Dataset:      ds,
		FromSnapshot: mustSnap(t, "tank/data@auto-2025-03-03"),
		FromGUID:     9876543210987654321,
		ToSnapshot:   mustSnap(t, "tank/data@auto-2025-03-04"),
		ToGUID:       1234567890123456789,
		Raw:          true,
		StreamBytes:  100_000,
		// 201 bytes of header, 16 of nonce, the stream and two tags.
		CiphertextBytes: 201 + 16 + 100_000 + 2*16,
		SegmentSize:     64 << 10,
		Recipients:      []string{testIdentity(t, 0).Recipient().String(), testIdentity(t, 1).Recipient().String()},
		Signer:          conf.FormatSignerKey(testSigningKey(1).Public().(ed25519.PublicKey)),
		Volumes: []Volume{
			{File: "host05-tank_data-auto-2025-03-04.vol0001", Bytes: 64 << 10, FirstSegment: 0, Segments: 1},
			{File: "host05-tank_data-auto-2025-03-04.vol0002", Bytes: 100_249 - 64<<10, FirstSegment: 1, Segments: 1},
		},
		Segments: []string{hash("segment 0"), hash("segment 1")},
	}
}

// TestManifestGolden pins the file format: the canonical manifest and its signature file.
func TestManifestGolden(t *testing.T) {
	m := exampleManifest(t)
	require.NoError(t, m.validate())
	data, err := m.Marshal()
	require.NoError(t, err)
	sig := signManifest(testSigningKey(1), data)
	mpath := filepath.Join("testdata", "example.manifest")
	spath := mpath + SigSuffix
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(mpath, data, 0o644))
		require.NoError(t, os.WriteFile(spath, sig, 0o644))
	}
	want, err := os.ReadFile(mpath)
	require.NoError(t, err)
	require.Equal(t, string(want), string(data), "manifest encoding changed; run go test -update if that is intended")
	wantSig, err := os.ReadFile(spath)
	require.NoError(t, err)
	require.Equal(t, string(wantSig), string(sig))

	s, err := ReadManifest(testMedia(t, "testdata"), "example.manifest", pinned(testSigningKey(1)))
	require.NoError(t, err)
	require.Equal(t, *m, s.Manifest())
}

func TestManifestInvalid(t *testing.T) {
	tests := []struct {
		change func(*Manifest)
		want   string
	}{
		{func(m *Manifest) { m.Format = "vault-sneakernet/3" }, `format "vault-sneakernet/3" is neither "vault-sneakernet/1" nor "vault-sneakernet/2"; it was written by another version of vault`},
		{func(m *Manifest) { m.Created = time.Time{} }, "created: 0001-01-01 00:00:00 +0000 UTC is not a UTC time in whole seconds"},
		{func(m *Manifest) { m.Created = m.Created.Add(time.Millisecond) }, "created:"},
		{func(m *Manifest) { m.Created = m.Created.In(time.FixedZone("X", 3600)) }, "created:"},
		{func(m *Manifest) { m.Host = "host\n05" }, `host: "host\n05" contains '\n'`},
		{func(m *Manifest) { m.Host = strings.Repeat("h", 256) }, "host: \"hhhh"},
		{func(m *Manifest) { m.Dataset = zfs.Dataset{} }, "dataset: missing"},
		{func(m *Manifest) { m.ToSnapshot = zfs.Snapshot{} }, "to_snapshot: missing"},
		{func(m *Manifest) { m.ToSnapshot = mustSnap(t, "tank/other@x") }, `to_snapshot: "tank/other@x" is not a snapshot of dataset "tank/data"`},
		{func(m *Manifest) { m.ToGUID = 0 }, "to_guid: missing"},
		{func(m *Manifest) { b, _ := zfs.ParseBookmark("tank/data#a"); m.FromBookmark = b }, "from_bookmark: set as well as from_snapshot"},
		{func(m *Manifest) {
			b, _ := zfs.ParseBookmark("tank/x#a")
			m.FromSnapshot = zfs.Snapshot{}
			m.FromBookmark = b
		}, `from_bookmark: "tank/x#a" is not a bookmark of dataset "tank/data"`},
		{func(m *Manifest) { m.FromGUID = 0 }, "from_guid: missing for an incremental stream"},
		{func(m *Manifest) { m.FromSnapshot = zfs.Snapshot{} }, "from_guid: 9876543210987654321 for a full stream"},
		{func(m *Manifest) { m.Recipients = nil }, "recipients: 0 recipients; want 1 to 64"},
		{func(m *Manifest) { m.Recipients = append(m.Recipients, m.Recipients[0]) }, "is listed twice"},
		{func(m *Manifest) { m.Recipients = append(m.Recipients, PassphraseRecipient) }, "a passphrase recipient must be the only one"},
		{func(m *Manifest) { m.Recipients[1] = "age1xyz" }, `recipients: "age1xyz" is not an age recipient`},
		{func(m *Manifest) { m.Signer = "ssh-ed25519 AAAA" }, "signer: public key must start with \"vault-ed25519:\""},
		{func(m *Manifest) { m.StreamBytes = 0 }, "stream_bytes: 0 is not a stream length"},
		{func(m *Manifest) { m.StreamBytes = 1 << 62 }, "stream_bytes: 4611686018427387904 is more than a manifest can describe"},
		{func(m *Manifest) { m.StreamBytes = 100_249 }, "ciphertext_bytes: 100249 does not fit an age file of a 100249-byte stream"},
		{func(m *Manifest) { m.CiphertextBytes += 2 << 20 }, "ciphertext_bytes: 2197401 does not fit"},
		{func(m *Manifest) { m.CiphertextBytes = 1 << 62 }, "ciphertext_bytes: 4611686018427387904 does not fit"},
		{func(m *Manifest) { m.SegmentSize = 1000 }, "segment_size: 1000 is not between 1024 and 67108864"},
		{func(m *Manifest) { m.Segments = m.Segments[:1] }, "segments: 1 hashes, but 100249 bytes in segments of 65536 make 2"},
		{func(m *Manifest) { m.Segments[1] = strings.ToUpper(m.Segments[1]) }, "segments[1]: \""},
		{func(m *Manifest) { m.Segments[1] = m.Segments[1][:63] }, "is not a lowercase hex SHA-256"},
		{func(m *Manifest) { m.Volumes = nil }, "volumes: 0 volumes; want 1 to 9999"},
		{func(m *Manifest) { m.Volumes[1].File = "../../etc/shadow" }, `volumes[1].file: file name "../../etc/shadow" starts with '.'`},
		{func(m *Manifest) { m.Volumes[1].File = "a/b" }, `volumes[1].file: file name "a/b" contains '/'`},
		{func(m *Manifest) { m.Volumes[1].File = "-rf" }, `volumes[1].file: file name "-rf" starts with '-'`},
		{func(m *Manifest) { m.Volumes[1].File = "" }, "volumes[1].file: empty file name"},
		{func(m *Manifest) { m.Volumes[1].File = "C:x" }, `file name "C:x" contains ':'`},
		{func(m *Manifest) { m.Volumes[1].File = m.Volumes[0].File }, "is already volumes[0]"},
		{func(m *Manifest) { m.Volumes[1].FirstSegment = 0 }, "volumes[1].first_segment: 0, want 1"},
		{func(m *Manifest) { m.Volumes[1].Segments = 2 }, "volumes[1].segments: 2; want 1 to 1"},
		{func(m *Manifest) { m.Volumes[1].Bytes++ }, "volumes[1].bytes: 34714, but its 1 segments make 34713"},
		{func(m *Manifest) { m.Volumes[0].Bytes--; m.Volumes[1].Bytes++ }, "volumes[0].bytes: 65535, but its 1 segments make 65536"},
		{func(m *Manifest) { m.Volumes = m.Volumes[:1] }, "volumes: hold 1 of the 2 segments"},
		{func(m *Manifest) {
			m.Volumes = []Volume{{File: "x", Bytes: m.CiphertextBytes, FirstSegment: 0, Segments: 2}}
		}, ""},
	}
	for i, tt := range tests {
		m := exampleManifest(t)
		tt.change(m)
		err := m.validate()
		if tt.want == "" {
			require.NoError(t, err, "case %d", i)
			continue
		}
		require.ErrorIs(t, err, ErrInvalidManifest, "case %d: want %q", i, tt.want)
		require.ErrorContains(t, err, tt.want, "case %d", i)
	}
}

func TestParseManifestStrict(t *testing.T) {
	good, err := exampleManifest(t).Marshal()
	require.NoError(t, err)
	_, err = parseManifest(good)
	require.NoError(t, err)

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"unknown field", bytes.Replace(good, []byte(`"raw": true,`), []byte(`"raw": true, "extra": 1,`), 1), `unknown field "extra"`},
		{"trailing data", append(append([]byte{}, good...), "{}"...), "data after the JSON object"},
		{"not canonical: compact", compact(t, good), "not in the canonical encoding vault writes"},
		{"duplicate key", bytes.Replace(good, []byte(`"raw": true,`), []byte(`"raw": false, "raw": true,`), 1), "not in the canonical encoding"},
		{"guid as a number", bytes.Replace(good, []byte(`"to_guid": "1234567890123456789"`), []byte(`"to_guid": 1234567890123456789`), 1), "invalid manifest"},
		{"invalid snapshot name", bytes.Replace(good, []byte(`"to_snapshot": "tank/data@auto-2025-03-04"`), []byte(`"to_snapshot": "tank/data@-rf"`), 1), "starts with '-'"},
		{"future format with new fields", []byte(`{"format": "vault-sneakernet/3", "chunks": []}`), `format "vault-sneakernet/3" is neither "vault-sneakernet/1" nor`},
		{"not JSON", []byte("PK\x03\x04"), "invalid manifest: it is not a JSON object"},
		{"empty", nil, "invalid manifest: it is empty"},
		{"white space", []byte(" \n\t\r\n"), "invalid manifest: it is empty"},
		{"null", []byte("null\n"), "invalid manifest: it is JSON null, not an object"},
		{"array", []byte("[]\n"), "invalid manifest: it is a JSON array, not an object"},
		{"empty object", []byte("{}\n"), `invalid manifest: it has no "format" field: it is not a vault export manifest`},
		{"cut short", good[:len(good)/2], "invalid manifest: the JSON object is cut short"},
		{"not JSON inside", []byte(`{"format": x}`), "invalid manifest: not JSON: invalid character 'x'"},
		{"too long", make([]byte, MaxManifestSize+1), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseManifest(tt.data)
			require.ErrorIs(t, err, ErrInvalidManifest)
			require.ErrorContains(t, err, tt.want)
			require.NotContains(t, err.Error(), "EOF")
		})
	}
}

func compact(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	for _, line := range strings.Split(string(b), "\n") {
		out.WriteString(strings.TrimSpace(line))
	}
	return append(out.Bytes(), '\n')
}

func TestVerifyManifest(t *testing.T) {
	data, err := exampleManifest(t).Marshal()
	require.NoError(t, err)
	sig := signManifest(testSigningKey(1), data)

	s, err := VerifyManifest(data, sig, pinned(testSigningKey(2), testSigningKey(1)))
	require.NoError(t, err)
	require.Equal(t, "host2", s.Signer())

	// The signature is checked before the manifest is parsed: garbage with a bad signature
	// is a bad signature, not a parse error.
	_, err = VerifyManifest([]byte("garbage"), sig, pinned(testSigningKey(1)))
	require.ErrorIs(t, err, ErrBadSignature)

	// A signature over the bare manifest, without the context, does not verify.
	bare := []byte(conf.FormatSignerKey(testSigningKey(1).Public().(ed25519.PublicKey)) + " " +
		base64.StdEncoding.EncodeToString(ed25519.Sign(testSigningKey(1), data)) + "\n")
	_, err = VerifyManifest(data, bare, pinned(testSigningKey(1)))
	require.ErrorIs(t, err, ErrBadSignature)

	// A manifest that names another signer than the one who signed it.
	other, err := func() ([]byte, error) {
		m := exampleManifest(t)
		m.Signer = conf.FormatSignerKey(testSigningKey(2).Public().(ed25519.PublicKey))
		return m.Marshal()
	}()
	require.NoError(t, err)
	_, err = VerifyManifest(other, signManifest(testSigningKey(1), other), pinned(testSigningKey(1), testSigningKey(2)))
	require.ErrorIs(t, err, ErrInvalidManifest)
	require.ErrorContains(t, err, "signer: the manifest names vault-ed25519:")

	for _, bad := range []string{
		"",
		"\n",
		string(sig[:len(sig)-1]),
		string(sig) + "\n",
		strings.Replace(string(sig), " ", "  ", 1),
		strings.Replace(string(sig), "\n", "\r\n", 1),
		strings.Replace(string(sig), "vault-ed25519:", "ssh-ed25519:", 1),
		strings.Replace(string(sig), "=\n", "\n", 1),
		string(sig[:60]) + "\n",
	} {
		_, err := VerifyManifest(data, []byte(bad), pinned(testSigningKey(1)))
		require.Error(t, err, "signature file %q", bad)
		require.ErrorContains(t, err, "signature")
	}
}

func TestIsExportFile(t *testing.T) {
	for name, want := range map[string]bool{
		"x.manifest": true, "x.manifest.sig": true, "x.manifest.partial": true, "x.manifest.sig.partial": true,
		"x.vol0001": true, "x.vol12345": true, "x.vol0001.partial": true,
		"x.vol": false, "x.volume": false, "x.vol0001x": false, "y.vol0001": false, "x.y.manifest": false,
		"x.manifest.bak": false, "x": false,
		"x.breakglass.age": true, "x.breakglass.age.partial": true, "x.breakglass": false, "y.breakglass.age": false,
	} {
		require.Equal(t, want, isExportFile("x", name), name)
	}
}

func TestSegmentSizeFor(t *testing.T) {
	for _, tt := range []struct{ estimate, want int64 }{
		{0, DefaultSegmentSize},
		{100 << 30, DefaultSegmentSize},
		{512 << 30, DefaultSegmentSize},
		{512<<30 + 1, 8 << 20},
		{3 << 40, 32 << 20},
		{1 << 50, MaxSegmentSize},
	} {
		require.Equal(t, tt.want, SegmentSizeFor(tt.estimate), "estimate %d", tt.estimate)
	}
}
