package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadPassphraseFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		require.NoError(t, os.Chmod(p, mode))
		return p
	}
	for _, tt := range []struct {
		name, content string
		mode          os.FileMode
		want, err     string
	}{
		{"plain", "correct horse battery staple", 0o600, "correct horse battery staple", ""},
		{"final newline", "correct horse battery staple\n", 0o600, "correct horse battery staple", ""},
		{"final CRLF", "correct horse battery staple\r\n", 0o400, "correct horse battery staple", ""},
		{"spaces kept", "  two spaces  \n", 0o600, "  two spaces  ", ""},
		{"group-readable", "correct horse battery staple\n", 0o640, "", "group"},
		{"world-readable", "correct horse battery staple\n", 0o644, "", "others"},
		{"empty", "", 0o600, "", "is empty"},
		{"only a newline", "\n", 0o600, "", "is empty"},
		{"two lines", "one\ntwo\n", 0o600, "", "more than one line"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := write(strings.ReplaceAll(tt.name, " ", "_"), tt.content, tt.mode)
			got, err := readPassphraseFile(p)
			if tt.err != "" {
				require.Error(t, err)
				require.Contains(t, err.Error(), tt.err)
				require.NotContains(t, err.Error(), "staple", "the error shows the passphrase")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestPassphraseFlagsRefused(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "--ask-passphrase", "--passphrase-file", "x", "m.manifest"}, "not both"},
		{[]string{"export", "--to", "/nonexistent", "--signing-key", "/nonexistent", "--recipient", "age1x", "--passphrase", "secret", "tank/a@b"}, "flag provided but not defined: -passphrase"},
	} {
		code, _, stderr := runVault(tt.args...)
		require.NotZero(t, code, "%v", tt.args)
		require.Contains(t, stderr, tt.want, "%v", tt.args)
	}
	// --ask-passphrase without a terminal is refused with the alternative.
	_, err := (&passphraseFlags{ask: true}).read(&stdio{in: strings.NewReader("secret\n")}, true)
	require.ErrorContains(t, err, "needs a terminal on standard input; use --passphrase-file FILE")
}
