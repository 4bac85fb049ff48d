package conf

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Issue 18: every key that names a dataset refuses the names zfs refuses ("vault config check"
// once said OK to them and the pull failed), with the key in the one-line problem.
func TestDatasetKeysRefuseWhatZFSRefuses(t *testing.T) {
	const pull = "[[job]]\nname = \"j\"\nsource = \"backup@host05\"\nschedule = \"15 1 * * *\"\nrpo = \"26h\"\n"
	const signer = "age_identity = \"/var/lib/vault/age/identity.txt\"\n[[signer]]\nname = \"s\"\n" +
		"public_key = \"vault-ed25519:JViDQPNtzhhiKkgr7S1SKNs7DMTlTKLQrQy2r/TDmbo=\"\n"
	for _, bad := range []string{"1pool/x", "pool/-x", "mirror/x", "rust10/-B", "raidz/x", "draid/x"} {
		for _, tc := range []struct {
			key, toml string
		}{
			{"job[0].source_datasets[0]", pull + fmt.Sprintf("source_datasets = [%q]\ntarget = \"rust10/B\"\n", bad)},
			{"job[0].target", pull + fmt.Sprintf("source_datasets = [\"tank/a\"]\ntarget = %q\n", bad)},
			{"job[0].exclude[0]", pull + fmt.Sprintf("source_datasets = [\"tank/a\"]\ntarget = \"rust10/B\"\nexclude = [%q]\n", bad)},
			{"signer[0].datasets[0]", signer + fmt.Sprintf("datasets = [%q]\n", bad) +
				"[[job]]\nname = \"m\"\nmedia_signers = [\"s\"]\nsource_datasets = [\"tank/a\"]\ntarget = \"rust10/B\"\nrpo = \"2w\"\n"},
		} {
			_, err := parse("t.toml", []byte(tc.toml), host{goos: "linux", name: "rust10.example.org"})
			var ps *Problems
			if !errors.As(err, &ps) {
				t.Errorf("%s = %q: got %v, want problems", tc.key, bad, err)
				continue
			}
			found := false
			for _, p := range *ps {
				line := p.String()
				if strings.Contains(line, tc.key+":") && strings.Contains(line, bad) {
					found = true
					if strings.Contains(line, "\n") || !strings.Contains(line, "correct the spelling") {
						t.Errorf("%s = %q: %q is not one line naming the fix", tc.key, bad, line)
					}
				}
			}
			if !found {
				t.Errorf("%s = %q: no problem names the key and the name; got %v", tc.key, bad, err)
			}
		}
	}
}
