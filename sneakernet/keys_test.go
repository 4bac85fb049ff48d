package sneakernet

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
)

func TestSigningKeyRoundTrip(t *testing.T) {
	k, err := GenerateSigningKey()
	require.NoError(t, err)
	b := MarshalSigningKey(k, testCreated)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 4)
	require.Equal(t, "# vault manifest signing key", lines[0])
	require.Equal(t, "# created: 2025-03-04T05:06:07Z", lines[1])
	// The public key line pastes into the config as a [[signer]]'s public_key.
	pubText, ok := strings.CutPrefix(lines[2], "# public key: ")
	require.True(t, ok)
	pub, err := conf.ParseSignerKey(pubText)
	require.NoError(t, err)
	require.True(t, pub.Equal(k.Public()))
	require.True(t, strings.HasPrefix(lines[3], SigningKeyPrefix))

	got, err := ParseSigningKey(b)
	require.NoError(t, err)
	require.True(t, got.Equal(k))
}

func TestParseSigningKeyRefuses(t *testing.T) {
	good := MarshalSigningKey(testSigningKey(1), testCreated)
	keyLine := string(good[bytes.LastIndex(good[:len(good)-1], []byte("\n"))+1 : len(good)-1])
	secret := strings.TrimPrefix(keyLine, SigningKeyPrefix)
	tests := []struct {
		data string
		want string
	}{
		{"", "no signing key in the file"},
		{"# only a comment\n", "no signing key in the file"},
		{keyLine + "\n" + keyLine + "\n", "line 2: a signing key file holds one key"},
		{"AGE-SECRET-KEY-1XYZ\n", `line 1: not a signing key: want "vault-ed25519-private:" followed by base64`},
		{conf.FormatSignerKey(testSigningKey(1).Public().(ed25519.PublicKey)) + "\n", "line 1: not a signing key"},
		{SigningKeyPrefix + secret[:20] + "\n", "the base64 of 32 bytes"},
		{SigningKeyPrefix + strings.TrimRight(secret, "=") + "\n", "the base64 of 32 bytes"},
		{keyLine + "x\n", "the base64 of 32 bytes"},
		{strings.Repeat("#", maxKeyFileSize+1), "longer than"},
	}
	for _, tt := range tests {
		_, err := ParseSigningKey([]byte(tt.data))
		require.ErrorContains(t, err, tt.want)
		require.NotContains(t, err.Error(), secret[:10], "an error must not quote the key")
	}
	// CRLF line ends, as a key copied through a Windows machine has.
	k, err := ParseSigningKey([]byte(strings.ReplaceAll(string(good), "\n", "\r\n")))
	require.NoError(t, err)
	require.True(t, k.Equal(testSigningKey(1)))
}

func TestKeyFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "signing.key")
	data := MarshalSigningKey(testSigningKey(3), testCreated)
	require.NoError(t, WriteKeyFile(path, data))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	k, err := ReadSigningKeyFile(path)
	require.NoError(t, err)
	require.True(t, k.Equal(testSigningKey(3)))

	err = WriteKeyFile(path, []byte("other"))
	require.ErrorIs(t, err, os.ErrExist)
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, data, got, "an existing key file is never replaced")

	for _, mode := range []os.FileMode{0o640, 0o604, 0o644, 0o620, 0o602} {
		require.NoError(t, os.Chmod(path, mode))
		_, err := ReadSigningKeyFile(path)
		require.EqualError(t, err, "key file \""+path+"\" is accessible by group or others (mode "+fmt.Sprintf("%04o", mode)+"): run `chmod 600 "+path+"`")
	}
	require.NoError(t, os.Chmod(path, 0o400))
	_, err = ReadSigningKeyFile(path)
	require.NoError(t, err)

	_, err = ReadKeyFile(dir)
	require.ErrorContains(t, err, "is not a regular file")
	_, err = ReadKeyFile(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestIdentityFile(t *testing.T) {
	id := testIdentity(t, 0)
	b := MarshalIdentity(id, testCreated)
	// Exactly what age-keygen writes.
	require.Equal(t, "# created: 2025-03-04T05:06:07Z\n# public key: "+id.Recipient().String()+"\n"+id.String()+"\n", string(b))

	path := filepath.Join(t.TempDir(), "vault.agekey")
	require.NoError(t, WriteKeyFile(path, b))
	ids, err := ReadIdentityFile(path)
	require.NoError(t, err)
	require.Len(t, ids, 1)
	require.Equal(t, id.String(), ids[0].(*age.X25519Identity).String())

	require.NoError(t, os.Chmod(path, 0o644))
	_, err = ReadIdentityFile(path)
	require.ErrorContains(t, err, "is accessible by group or others")

	enc := filepath.Join(t.TempDir(), "breakglass.agekey")
	require.NoError(t, WriteKeyFile(enc, []byte("age-encryption.org/v1\n-> scrypt ...\n")))
	_, err = ReadIdentityFile(enc)
	require.ErrorContains(t, err, "is itself encrypted (age -p)")
}
