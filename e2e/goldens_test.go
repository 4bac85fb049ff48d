//go:build lab && linux

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belltech/vault/lab"
	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/zfs"
)

// listCaptures are the `zfs list -H -p` outputs whose real bytes become the zfs package's golden
// files (zfs/testdata/list/lab-*.txt). VAULT_LAB_CAPTURE=1 rewrites them from the lab; without
// it the test still checks that today's real output parses and has one entry per line.
var listCaptures = []struct {
	name  string
	cols  []zfs.Column
	types string
	root  string
}{
	{"lab-all-columns", []zfs.Column{zfs.ColName, zfs.ColType, zfs.ColGUID, zfs.ColCreateTXG, zfs.ColCreation, zfs.ColUsed,
		zfs.ColReferenced, zfs.ColWritten, zfs.ColUserRefs, zfs.ColReceiveResumeToken, zfs.ColEncryption, zfs.ColOrigin},
		"filesystem,volume,snapshot,bookmark", "host05data/listing"},
	{"lab-fast-path", []zfs.Column{zfs.ColName, zfs.ColType, zfs.ColGUID, zfs.ColCreateTXG},
		"filesystem,volume,snapshot", "host05data/listing"},
	{"lab-resume-token", []zfs.Column{zfs.ColName, zfs.ColType, zfs.ColGUID, zfs.ColCreateTXG, zfs.ColReceiveResumeToken},
		"filesystem,volume,snapshot", "rust10/capture"},
}

func TestLabListGoldens(t *testing.T) {
	// The listing fixture, and a receive cut short so a resume token exists.
	listFixture(t)
	labtest.Root(t, `
zfs create -p rust10/capture
zfs create host05data/capture-src
head -c 24M /dev/urandom >/host05data/capture-src/big.bin
zfs snapshot host05data/capture-src@2026-11-26_00.00.00--1w
zfs send host05data/capture-src@2026-11-26_00.00.00--1w | head -c 12M | zfs receive -s -u rust10/capture/partial || true
zfs get -H -o value receive_resume_token rust10/capture/partial | grep -q '^1-'
`)
	repo, err := lab.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	capture := os.Getenv("VAULT_LAB_CAPTURE") == "1"
	// One set of goldens per OpenZFS release the lab runs: lab-zfs2.3-*, lab-zfs2.4-*, ...
	prefix := "lab-zfs" + kmodRelease(t) + "-"
	for _, c := range listCaptures {
		name := prefix + strings.TrimPrefix(c.name, "lab-")
		t.Run(name, func(t *testing.T) {
			colNames := make([]string, len(c.cols))
			for i, col := range c.cols {
				colNames[i] = string(col)
			}
			cols := strings.Join(colNames, ",")
			out := labtest.As(t, "backup", "zfs list -H -p -o "+cols+" -t "+c.types+" -r "+labtest.Q(c.root))
			entries, err := zfs.ParseList(strings.NewReader(out), c.cols)
			if err != nil {
				t.Fatalf("real zfs list output does not parse: %v", err)
			}
			if got, want := len(entries), strings.Count(out, "\n"); got != want {
				t.Fatalf("parsed %d entries from %d lines", got, want)
			}
			if !capture {
				return
			}
			dir := filepath.Join(repo, "zfs", "testdata", "list")
			if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".cols"), []byte(cols+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("captured %s (%d entries); refresh its golden with go test ./zfs -update", name, len(entries))
		})
	}
}

// kmodRelease is the guest's OpenZFS kernel module release, major.minor ("2.3").
func kmodRelease(t *testing.T) string {
	t.Helper()
	vs, err := zfs.ParseVersion(labtest.Root(t, "zfs version"))
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d.%d", vs.Kernel.Major, vs.Kernel.Minor)
}

// TestLabHoldsGoldens is TestLabListGoldens for zfs holds: the real output, with and (from
// OpenZFS 2.2) without -p, parses, and VAULT_LAB_CAPTURE=1 writes it to zfs/testdata/holds.
func TestLabHoldsGoldens(t *testing.T) {
	labtest.Root(t, `zfs destroy -r host05data/holdcap 2>/dev/null || true
zfs create host05data/holdcap
zfs snapshot host05data/holdcap@2026-11-26_00.00.00--1w
zfs snapshot host05data/holdcap@2026-11-27_00.00.00--1w
zfs hold vault:lab:golden host05data/holdcap@2026-11-26_00.00.00--1w
zfs hold zrepl_last host05data/holdcap@2026-11-26_00.00.00--1w
zfs hold 'tag with space' host05data/holdcap@2026-11-27_00.00.00--1w
`)
	t.Cleanup(func() {
		labtest.Try(t, "", `for s in $(zfs list -H -t snapshot -o name -r host05data/holdcap); do zfs holds -H $s | cut -f2 | while read -r tag; do zfs release "$tag" $s; done; done
zfs destroy -r host05data/holdcap`)
	})
	repo, err := lab.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	release := kmodRelease(t)
	snaps := "host05data/holdcap@2026-11-26_00.00.00--1w host05data/holdcap@2026-11-27_00.00.00--1w"
	for _, flags := range []string{"-H", "-H -p"} {
		name := "lab-zfs" + release + strings.ReplaceAll(strings.TrimPrefix(flags, "-H"), " ", "")
		t.Run(name, func(t *testing.T) {
			res := labtest.Try(t, "backup", "zfs holds "+flags+" "+snaps)
			if res.Exit != 0 {
				if flags == "-H -p" && release < "2.2" {
					t.Skipf("OpenZFS %s has no zfs holds -p: %s", release, strings.TrimSpace(res.Stderr))
				}
				t.Fatalf("zfs holds %s: %s", flags, res)
			}
			holds, err := zfs.ParseHolds(strings.NewReader(res.Stdout))
			if err != nil {
				t.Fatalf("real zfs holds output does not parse: %v\n%s", err, res.Stdout)
			}
			if len(holds) != 3 {
				t.Fatalf("parsed %d holds, want 3:\n%s", len(holds), res.Stdout)
			}
			if !capturing() {
				return
			}
			dir := filepath.Join(repo, "zfs", "testdata", "holds")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(res.Stdout), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("captured %s; refresh its golden with go test ./zfs -update", name)
		})
	}
}

func capturing() bool { return os.Getenv("VAULT_LAB_CAPTURE") == "1" }
