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
	for _, c := range listCaptures {
		t.Run(c.name, func(t *testing.T) {
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
			if err := os.WriteFile(filepath.Join(dir, c.name+".txt"), []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, c.name+".cols"), []byte(cols+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("captured %s (%d entries); refresh its golden with go test ./zfs -update", c.name, len(entries))
		})
	}
}
