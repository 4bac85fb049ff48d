//go:build lab && linux

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belltech/vault/lab"
	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/zfs"
)

// stderrCases provoke, on real OpenZFS, each failure the zfs package's classifiers name
// (zfs/classify.go), run as the user vault runs them as. The real stderr must classify as the
// case says; VAULT_LAB_CAPTURE=1 writes it to zfs/testdata/stderr/lab-zfsX.Y-CASE.txt, where
// the zfs package's unit test checks every classifier against every track's text.
var stderrCases = []struct {
	name   string
	user   string
	script string
	is     func(error) bool
}{
	{"not-exist-list", "backup", "zfs list -H -p -o name,guid host05data/errcap/nope", zfs.IsNotExist},
	{"not-exist-get", "backup", "zfs get -H -p -o value type rust10/Backups/errcap/nope", zfs.IsNotExist},
	{"not-exist-snapshots", "backup", "zfs list -H -p -t snapshot -o name -d 1 rust10/Backups/errcap/nope", zfs.IsNotExist},
	{"hold-exists", "backup", "zfs hold vault:lab:errcap host05data/errcap@2026-11-26_00.00.00--1w", zfs.IsHoldExists},
	{"hold-missing-tag", "backup", "zfs release vault:lab:errcap host05data/errcap@2026-11-27_00.00.00--1w", zfs.IsHoldMissing},
	{"hold-missing-snapshot", "backup", "zfs release vault:lab:errcap host05data/errcap@2026-11-20_00.00.00--1w", zfs.IsHoldMissing},
	{"resume-snapshot-gone", "backup", "zfs send -t $(cat /tmp/errcap.token) >/dev/null", zfs.IsResumeUnusable},
	{"resume-token-corrupt", "backup", "zfs send -t 1-e604ea4bf-e0-789c63a2 >/dev/null", zfs.IsResumeUnusable},
	{"quota-exceeded", "backup", "zfs receive -u rust10/Backups/errcap/q/child </tmp/errcap.stream", zfs.IsQuotaExceeded},
}

func TestLabStderrGoldens(t *testing.T) {
	labtest.Root(t, `zfs destroy -r host05data/errcap 2>/dev/null || true
zfs destroy -r rust10/Backups/errcap 2>/dev/null || true
zfs create host05data/errcap
head -c 4M /dev/urandom >/host05data/errcap/f
zfs snapshot host05data/errcap@2026-11-26_00.00.00--1w
zfs snapshot host05data/errcap@2026-11-27_00.00.00--1w
head -c 4M /dev/urandom >/host05data/errcap/g
zfs snapshot host05data/errcap@2026-11-28_00.00.00--1w
zfs hold vault:lab:errcap host05data/errcap@2026-11-26_00.00.00--1w
zfs create rust10/Backups/errcap
zfs create -o quota=1M rust10/Backups/errcap/q
zfs send host05data/errcap@2026-11-26_00.00.00--1w >/tmp/errcap.stream
chmod 0644 /tmp/errcap.stream
# A receive cut short leaves a resume token; then the snapshot it was cut from goes.
zfs send host05data/errcap@2026-11-28_00.00.00--1w | head -c 2M | zfs receive -s -u rust10/Backups/errcap/partial || true
zfs get -H -o value receive_resume_token rust10/Backups/errcap/partial >/tmp/errcap.token
grep -q '^1-' /tmp/errcap.token
chmod 0644 /tmp/errcap.token
zfs destroy host05data/errcap@2026-11-28_00.00.00--1w`)
	t.Cleanup(func() {
		labtest.Try(t, "", `zfs release vault:lab:errcap host05data/errcap@2026-11-26_00.00.00--1w
zfs destroy -r host05data/errcap; zfs destroy -r rust10/Backups/errcap; rm -f /tmp/errcap.stream /tmp/errcap.token`)
	})
	repo, err := lab.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	prefix := "lab-zfs" + kmodRelease(t) + "-"
	for _, c := range stderrCases {
		t.Run(c.name, func(t *testing.T) {
			res := labtest.Try(t, c.user, "export LC_ALL=C; "+c.script)
			if res.Exit == 0 {
				t.Fatalf("%s succeeded; it must fail for this case:\n%s", c.script, res)
			}
			stderr := res.Stderr
			if !c.is(&zfs.ExitError{Code: res.Exit, Stderr: stderr}) {
				t.Errorf("the real stderr of %s does not classify as %s:\n%s", c.script, c.name, stderr)
			}
			if !capturing() {
				return
			}
			dir := filepath.Join(repo, "zfs", "testdata", "stderr")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, prefix+c.name+".txt"), []byte(stderr), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("captured %s%s: %q", prefix, c.name, strings.TrimSpace(stderr))
		})
	}
}
