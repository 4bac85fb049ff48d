package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/zfs"
)

// What vault pull prints of a report, one line per dataset with what needs the operator under it.
func TestPrintPullReport(t *testing.T) {
	dataset := func(s string) zfs.Dataset {
		d, err := zfs.ParseDataset(s)
		require.NoError(t, err)
		return d
	}
	src, tgt := dataset("host05data/jail"), dataset("rust10/Backups/host05/jail")
	for _, tt := range []struct {
		name string
		r    *puller.Report
		want string
	}{
		{"could not run", &puller.Report{Job: "host05", Err: errors.New("cannot connect to backup@host05:22: no route to host")},
			"CRIT host05: cannot connect to backup@host05:22: no route to host\n"},
		{"pulled", &puller.Report{Job: "host05", Snapshot: "2026-12-07_18.00.00--1w", Datasets: []puller.DatasetReport{{Source: src, Target: tgt, Outcome: puller.OK,
			Steps: []puller.StepReport{{Kind: puller.Incremental}}, Bytes: 2048, Duration: 1234 * time.Millisecond, Newest: "2026-12-07_18.00.00--1w"}}},
			"host05: took snapshot @2026-12-07_18.00.00--1w on the source\n" +
				"OK   host05 host05data/jail -> rust10/Backups/host05/jail: ok (incremental, 2.0 KiB in 1.2s; newest @2026-12-07_18.00.00--1w)\n"},
		{"planned", &puller.Report{Job: "host05", Datasets: []puller.DatasetReport{{Source: src, Target: tgt, Outcome: puller.Planned,
			Steps: []puller.StepReport{{Kind: puller.Incremental, From: "a", To: "c", Intermediates: true}}}}},
			"OK   host05 host05data/jail -> rust10/Backups/host05/jail: planned (incremental @a -I @c)\n"},
		{"a conflict, with its hint", &puller.Report{Job: "host05", Datasets: []puller.DatasetReport{{Source: src, Target: tgt, Outcome: puller.Conflicted,
			Err: "diverged", Hint: "vault resolve host05 host05data/jail --archive"}}},
			"CRIT host05 host05data/jail -> rust10/Backups/host05/jail: conflict\n    diverged\n    at the console, as root: vault resolve host05 host05data/jail --archive\n"},
		{"vanished from an empty source, and an orphan", &puller.Report{Job: "host05", Orphans: []zfs.Dataset{dataset("rust10/Backups/host05/old")},
			Datasets: []puller.DatasetReport{{Source: src, Target: tgt, Outcome: puller.SourceEmpty, Vanished: 2, Warnings: []string{"look"}}}},
			"WARN host05 host05data/jail -> rust10/Backups/host05/jail: source-empty (2 snapshot(s) gone from the source, kept here)\n    warning: look\n" +
				"WARN host05 rust10/Backups/host05/old: its source no longer exists; kept\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			printPullReport(&b, tt.r, false)
			require.Equal(t, tt.want, b.String())
		})
	}
}

// Without a running daemon vault pull runs the pull itself.
func TestPullByDaemonWithoutOne(t *testing.T) {
	var out strings.Builder
	s := &stdio{out: &out, err: &out, getenv: func(string) string { return "" }}
	done, err := pullByDaemon(context.Background(), s, &conf.Config{StateDir: t.TempDir()}, nil)
	if done || err != nil || out.Len() != 0 {
		t.Errorf("got done %v, err %v, output %q; want not done, nothing printed", done, err, out.String())
	}
}

// The jobs a pull takes: an unknown one and a media job are usage errors, nothing pulled.
func TestPullRefusesJobs(t *testing.T) {
	v := newVaultDir(t, "")
	code, out, errOut := runVault("pull", "-c", v.config, "nosuch")
	if code != exitUsage || out != "" || !strings.HasPrefix(errOut, `vault pull: no job named "nosuch" in the configuration; jobs are "host05"`) {
		t.Errorf("got exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
