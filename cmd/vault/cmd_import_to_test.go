package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// vault import --to: the flag combinations refused before anything is read, and no
// configuration read at all (a configuration file that is not TOML at -c's default is never
// looked at: the flag's value is only a default, and --to refuses -c itself).
func TestImportToFlags(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "x.manifest")
	key := "vault-ed25519:iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w="
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no signer key", []string{"--to", "tank/new", "--identity", "id", manifest}, "--to needs --signer-key"},
		{"-c with --to", []string{"-c", "/etc/vault/vault.toml", "--to", "tank/new", "--signer-key", key, "--identity", "id", manifest}, "--to reads no configuration"},
		{"--identity without --to", []string{"--identity", "id", manifest}, "--identity goes with --to"},
		{"--no-properties without --to", []string{"--no-properties", manifest}, "--no-properties goes with --to"},
		{"no way to decrypt", []string{"--to", "tank/new", "--signer-key", key, manifest}, "give one way to decrypt"},
		{"two ways to decrypt", []string{"--to", "tank/new", "--signer-key", key, "--identity", "id", "--passphrase-file", "p", manifest}, "give one way to decrypt"},
		{"a pool", []string{"--to", "tank", "--signer-key", key, "--identity", "id", manifest}, "--to tank is a pool"},
		{"bad key", []string{"--to", "tank/new", "--signer-key", "ssh-ed25519 AAAA", "--identity", "id", manifest}, "--signer-key"},
		{"bad dataset", []string{"--to", "tank/-x", "--signer-key", key, "--identity", "id", manifest}, "--to:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runVault(append([]string{"import"}, tt.args...)...)
			require.Equal(t, exitUsage, code, "stderr: %s", errOut)
			require.Empty(t, out)
			require.Contains(t, errOut, tt.want)
		})
	}
	// A manifest that is not there is refused as such: the media is read, no configuration.
	code, _, errOut := runVault("import", "--to", "tank/new", "--signer-key", key, "--identity", "id", manifest)
	require.Equal(t, exitFailure, code, errOut)
	require.Contains(t, errOut, "refused "+manifest)
}
