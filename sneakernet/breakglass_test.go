package sneakernet

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/require"
)

const testPassphrase = "correct horse battery staple"

// withBreakGlass exports data with a break-glass passphrase (and a work factor tests can
// afford) besides the vault's recipient.
func withBreakGlass(t testing.TB, data []byte) *exported {
	t.Helper()
	return doExport(t, data, func(o *ExportOptions) {
		o.Passphrase = testPassphrase
		o.scryptWorkFactor = 4
	})
}

// ageCLI opens an export the way the break-glass procedure does with the age command line:
// `age -d NAME.breakglass.age >id`, then `cat NAME.vol* | age -d -i id`.
func ageCLI(t *testing.T, e *exported, passphrase string) []byte {
	t.Helper()
	bg, err := os.Open(e.path(e.o.Name + ".breakglass.age"))
	require.NoError(t, err)
	defer bg.Close()
	sid, err := age.NewScryptIdentity(passphrase)
	require.NoError(t, err)
	r, err := age.Decrypt(bg, sid)
	require.NoError(t, err)
	ids, err := age.ParseIdentities(r)
	require.NoError(t, err)
	var all []byte
	for j := range e.m.Volumes {
		b, err := os.ReadFile(e.vol(j + 1))
		require.NoError(t, err)
		all = append(all, b...)
	}
	pr, err := age.Decrypt(bytes.NewReader(all), ids...)
	require.NoError(t, err)
	plain, err := io.ReadAll(pr)
	require.NoError(t, err)
	return plain
}

func TestBreakGlassRoundTrip(t *testing.T) {
	data := randomBytes(200_000, 7)
	e := withBreakGlass(t, data)
	bg := e.m.BreakGlass
	require.NotNil(t, bg)
	require.Equal(t, e.o.Name+".breakglass.age", bg.File)
	require.Equal(t, []string{testIdentity(t, 0).Recipient().String(), bg.Recipient}, e.m.Recipients,
		"the stream is encrypted to the vault's recipient and the break-glass one")
	raw, err := os.ReadFile(e.path(bg.File))
	require.NoError(t, err)
	sum := sha256.Sum256(raw)
	require.Equal(t, hex.EncodeToString(sum[:]), bg.SHA256)
	require.EqualValues(t, len(raw), bg.Bytes)
	require.False(t, bytes.Contains(raw, []byte("AGE-SECRET-KEY")), "the break-glass identity is stored in the clear")
	require.Equal(t, []string{e.o.Name + ".breakglass.age", e.o.Name + ".manifest", e.o.Name + ".manifest.sig"},
		slices.DeleteFunc(dirNames(t, e.dir), func(n string) bool {
			return filepath.Ext(n) != ".age" && filepath.Ext(n) != ".manifest" && filepath.Ext(n) != ".sig"
		}))

	// Without vault: the age library standing in for the age command line.
	require.True(t, bytes.Equal(data, ageCLI(t, e, testPassphrase)))

	// With vault and the passphrase instead of the vault's identity.
	s := e.read(t)
	ids, err := BreakGlassIdentities(s, testMedia(t, e.dir), testPassphrase)
	require.NoError(t, err)
	require.NoError(t, Preflight(s, testMedia(t, e.dir), ids))
	out, n, err := e.importTo(t, ids...)
	require.NoError(t, err)
	require.EqualValues(t, len(data), n)
	require.True(t, bytes.Equal(data, out.Bytes()))

	// And the vault's own identity still opens it, as before.
	out, _, err = e.importTo(t, testIdentity(t, 0))
	require.NoError(t, err)
	require.True(t, bytes.Equal(data, out.Bytes()))

	// Every export gets a fresh break-glass identity.
	other := withBreakGlass(t, data)
	require.NotEqual(t, bg.Recipient, other.m.BreakGlass.Recipient)
}

func TestBreakGlassRefusals(t *testing.T) {
	data := randomBytes(50_000, 8)
	e := withBreakGlass(t, data)
	s := e.read(t)
	media := testMedia(t, e.dir)

	_, err := BreakGlassIdentities(s, media, "not the passphrase at all")
	require.ErrorIs(t, err, ErrWrongPassphrase)
	require.ErrorContains(t, err, e.m.BreakGlass.File)

	plain := doExport(t, data, nil)
	require.Nil(t, plain.m.BreakGlass)
	_, err = BreakGlassIdentities(plain.read(t), testMedia(t, plain.dir), testPassphrase)
	require.ErrorIs(t, err, ErrNoBreakGlass)

	// A damaged or missing break-glass file is refused by every import, before any byte is
	// written: the media is not what was signed.
	bgPath := e.path(e.m.BreakGlass.File)
	orig, err := os.ReadFile(bgPath)
	require.NoError(t, err)
	for _, tt := range []struct {
		name   string
		damage func()
		want   string
	}{
		{"flipped bit", func() { flipBit(t, bgPath, int64(len(orig)/2)) }, "does not match the signed manifest"},
		{"truncated", func() { require.NoError(t, os.WriteFile(bgPath, orig[:len(orig)-1], 0o600)) }, "the manifest says"},
		{"missing", func() { require.NoError(t, os.Remove(bgPath)) }, "is missing"},
		{"a directory", func() { require.NoError(t, os.Remove(bgPath)); require.NoError(t, os.Mkdir(bgPath, 0o700)) }, "not a regular file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.damage()
			defer func() {
				require.NoError(t, os.RemoveAll(bgPath))
				require.NoError(t, os.WriteFile(bgPath, orig, 0o600))
			}()
			out, n, err := e.importTo(t, testIdentity(t, 0))
			require.ErrorContains(t, err, "break-glass file "+e.m.BreakGlass.File)
			require.ErrorContains(t, err, tt.want)
			require.Zero(t, n)
			require.Zero(t, out.Len())
			require.ErrorContains(t, Preflight(s, media, []age.Identity{testIdentity(t, 0)}), tt.want)
			_, err = BreakGlassIdentities(s, media, testPassphrase)
			require.ErrorContains(t, err, tt.want)
		})
	}
	// Restored, it imports again.
	_, _, err = e.importTo(t, testIdentity(t, 0))
	require.NoError(t, err)
}

func TestBreakGlassOptionsRefused(t *testing.T) {
	pass, err := age.NewScryptRecipient(testPassphrase)
	require.NoError(t, err)
	for _, tt := range []struct {
		name   string
		change func(*ExportOptions)
		want   string
	}{
		{"short passphrase", func(o *ExportOptions) { o.Passphrase = "hunter2" }, "the break-glass passphrase is 7 bytes; use at least 12"},
		{"with a scrypt recipient", func(o *ExportOptions) { o.Passphrase = testPassphrase; o.Recipients = []age.Recipient{pass} }, "a passphrase recipient must be the only one"},
		{"no other recipient", func(o *ExportOptions) { o.Passphrase = testPassphrase; o.Recipients = nil }, "no recipients"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			o := baseOptions(t, dir)
			o.scryptWorkFactor = 4
			tt.change(&o)
			_, err := NewExporter(o)
			require.ErrorContains(t, err, tt.want)
			require.Empty(t, dirNames(t, dir))
		})
	}
	// An existing break-glass file of the same name stops an export before it starts.
	dir := t.TempDir()
	o := baseOptions(t, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, o.Name+".breakglass.age"), nil, 0o600))
	_, err = NewExporter(o)
	require.ErrorContains(t, err, o.Name+".breakglass.age is already in")
}

// A failed export removes the break-glass file with the rest: it is written after the
// volumes, and a failure there or later leaves nothing.
func TestBreakGlassFailedExportLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	o := baseOptions(t, dir)
	o.Passphrase, o.scryptWorkFactor = testPassphrase, 4
	tmpl, err := o.check()
	require.NoError(t, err)
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	d := &faultyDir{exportDir: rootDir{root}, failCreate: o.Name + ".manifest.sig.partial"}
	x, err := newExporter(o, tmpl, d)
	require.NoError(t, err)
	_, err = x.Write(randomBytes(10_000, 9))
	require.NoError(t, err)
	_, err = x.Commit()
	require.Error(t, err)
	require.Empty(t, dirNames(t, dir))
}

func TestManifestBreakGlassInvalid(t *testing.T) {
	valid := func(m *Manifest) {
		m.BreakGlass = &BreakGlass{File: "host05-tank_data-auto-2025-03-04.breakglass.age", Bytes: 350,
			SHA256: m.Segments[0], Recipient: m.Recipients[1]}
	}
	for i, tt := range []struct {
		change func(*Manifest)
		want   string
	}{
		{func(m *Manifest) {}, ""},
		{func(m *Manifest) { m.BreakGlass.File = "../x" }, `break_glass.file: file name "../x" starts with '.'`},
		{func(m *Manifest) { m.BreakGlass.File = m.Volumes[0].File }, "break_glass.file: " + `"host05-tank_data-auto-2025-03-04.vol0001" is also a volume`},
		{func(m *Manifest) { m.BreakGlass.Bytes = 0 }, "break_glass.bytes: 0; want 1 to 16384"},
		{func(m *Manifest) { m.BreakGlass.Bytes = 1 << 20 }, "break_glass.bytes:"},
		{func(m *Manifest) { m.BreakGlass.SHA256 = "00" }, "break_glass.sha256:"},
		{func(m *Manifest) { m.BreakGlass.Recipient = testIdentity(t, 2).Recipient().String() }, "break_glass.recipient:"},
		{func(m *Manifest) { m.BreakGlass.Recipient = "" }, "break_glass.recipient:"},
	} {
		m := exampleManifest(t)
		valid(m)
		tt.change(m)
		err := m.validate()
		if tt.want == "" {
			require.NoError(t, err, "case %d", i)
			continue
		}
		require.ErrorIs(t, err, ErrInvalidManifest, "case %d", i)
		require.ErrorContains(t, err, tt.want, "case %d", i)
	}
}

// TestManifestGoldenBreakGlass pins the optional break_glass field, next to the manifest
// without it (TestManifestGolden), which must stay as older versions wrote it.
func TestManifestGoldenBreakGlass(t *testing.T) {
	m := exampleManifest(t)
	m.BreakGlass = &BreakGlass{File: "host05-tank_data-auto-2025-03-04.breakglass.age", Bytes: 350,
		SHA256: m.Segments[0], Recipient: m.Recipients[1]}
	s := checkGoldenManifest(t, m, "example-breakglass.manifest")
	// Manifest returns a copy: changing it does not change the verified one.
	c := s.Manifest()
	c.BreakGlass.Bytes = 1
	require.EqualValues(t, 350, s.Manifest().BreakGlass.Bytes)
}
