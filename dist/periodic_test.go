package dist

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// runPeriodic runs vault.periodic with sh (as periodic(8) would, /etc/defaults/periodic.conf
// aside: absent here), vault check faked by a script that prints a line and exits rc.
func runPeriodic(t *testing.T, env []string, rc string) (string, int) {
	t.Helper()
	dir := t.TempDir()
	fake := filepath.Join(dir, "vault")
	script := "#!/bin/sh\necho \"args: $*\"\necho \"VAULT LEVEL - 3 dataset(s)\"\nexit " + rc + "\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "vault.periodic")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "daily_vault_bin=" + fake}, env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// vault check's statuses become periodic(8)'s: OK 0, WARN 1 (info), CRIT and UNKNOWN 3 (never
// masked); disabled, the script says nothing; a missing binary is 3 with the setting to fix.
func TestPeriodicMapsVaultCheck(t *testing.T) {
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	enabled := []string{"daily_vault_enable=YES", "daily_vault_user=" + me.Username,
		"daily_vault_config=/usr/local/etc/vault.toml", "daily_vault_flags=--warn 26h"}
	for _, tc := range []struct{ rc, want int }{{0, 0}, {1, 1}, {2, 3}, {3, 3}, {70, 3}} {
		out, code := runPeriodic(t, enabled, strconv.Itoa(tc.rc))
		if code != tc.want {
			t.Errorf("vault check exit %d: periodic status %d, want %d\n%s", tc.rc, code, tc.want, out)
		}
		for _, want := range []string{"Backups in the vault:", "  args: check -c /usr/local/etc/vault.toml --warn 26h", "  VAULT LEVEL - 3 dataset(s)"} {
			if !strings.Contains(out, want) {
				t.Errorf("vault check exit %d: output lacks %q:\n%s", tc.rc, want, out)
			}
		}
	}
	if out, code := runPeriodic(t, nil, "2"); code != 0 || out != "" {
		t.Errorf("not enabled: status %d, output %q; want 0 and nothing", code, out)
	}
	out, code := runPeriodic(t, append(enabled, "daily_vault_bin=/nonexistent/vault"), "0")
	if code != 3 || !strings.Contains(out, "/nonexistent/vault is missing: set daily_vault_bin") {
		t.Errorf("missing binary: status %d, output %q", code, out)
	}
}
