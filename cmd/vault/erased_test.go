package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/ledger"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

// fakeTargets is a zfs that lists host05's target from a file the test rewrites: one snapshot a
// line, "name guid" (createtxg, creation and holds made up), for both the ledger's listing and
// the prune's.
type fakeTargets struct {
	bin, listing string
}

func newFakeTargets(t *testing.T, dir string) *fakeTargets {
	t.Helper()
	f := &fakeTargets{bin: filepath.Join(dir, "zfs"), listing: filepath.Join(dir, "listing")}
	script := `#!/bin/sh
case "$*" in
"list -H -p -o name,guid -t snapshot -r rust10/Backups/host05")
	awk '{print $1 "\t" $2}' ` + f.listing + ` ;;
"list -H -p -o name,guid,createtxg,creation,userrefs -t snapshot -r rust10/Backups/host05")
	awk '{print $1 "\t" $2 "\t" NR "\t" 1764547200+NR*3600 "\t0"}' ` + f.listing + ` ;;
*)
	echo "unexpected: $*" >&2; exit 1 ;;
esac
`
	require.NoError(t, os.WriteFile(f.bin, []byte(script), 0o755))
	return f
}

func (f *fakeTargets) set(t *testing.T, lines ...string) {
	t.Helper()
	require.NoError(t, os.WriteFile(f.listing, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
}

// The ledger check at the start of vault prune: a first run writes the ledger; snapshots gone
// since are named, CRIT, and freeze their dataset (a dry run says so and saves nothing); the
// alarm stays until vault ack; vault status and vault check show it.
func TestPruneChecksTheLedger(t *testing.T) {
	v := newVaultDir(t, "")
	fz := newFakeTargets(t, v.dir)
	cfg := strings.Replace(mustRead(t, v.config), filepath.Join(v.dir, "no-zfs-here"), fz.bin, 1)
	require.NoError(t, os.WriteFile(v.config, []byte(cfg), 0o600))
	v.save(t, host05(time.Hour))
	const jail, www = "rust10/Backups/host05/jail", "rust10/Backups/host05/jail/www"
	fz.set(t, jail+"@a 11", jail+"@b 12", jail+"@c 13", www+"@a 21")

	code, out, errOut := runVault("prune", "-c", v.config, "host05")
	if code != 0 || strings.Contains(out, "CRIT") {
		t.Fatalf("first prune: exit %d\n%s%s", code, out, errOut)
	}
	store, err := state.Open(v.stateDir, -1, -1)
	require.NoError(t, err)
	defer store.Close()
	l, err := ledger.Load(store, "host05")
	require.NoError(t, err)
	if l == nil || len(l.Snapshots) != 4 {
		t.Fatalf("the first prune saved the ledger %+v, want the 4 snapshots", l)
	}

	// @a and @b of jail are erased (a receive -F from @a would leave @a; here a destroy).
	fz.set(t, jail+"@c 13", www+"@a 21")
	code, out, _ = runVault("prune", "--dry-run", "-c", v.config, "host05")
	want := "CRIT host05 " + jail + ": 2 snapshot(s) erased from the vault, not by vault prune: @a, @b\n" +
		"    nothing in it is pruned until, after finding out who erased them (zpool history -il rust10), vault ack host05 host05data/jail\n"
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "(frozen: erased-snapshots alarm") {
		t.Errorf("dry run: exit %d, want the alarm %q and the freeze in:\n%s", code, want, out)
	}
	if st, _ := loadJobState(store, "host05"); st.Datasets["host05data/jail"].Anomaly != nil {
		t.Errorf("a dry run saved the alarm")
	}
	if l2, _ := ledger.Load(store, "host05"); len(l2.Snapshots) != 4 {
		t.Errorf("a dry run saved the ledger")
	}

	code, out, _ = runVault("prune", "-c", v.config, "host05")
	if code != 0 || !strings.Contains(out, want) {
		t.Errorf("prune: exit %d, want the alarm %q in:\n%s", code, want, out)
	}
	st, err := loadJobState(store, "host05")
	require.NoError(t, err)
	if a := st.Datasets["host05data/jail"].Anomaly; a == nil || a.Kind != report.AlarmErased {
		t.Fatalf("the alarm is not saved: %+v", a)
	}
	if a := st.Datasets["host05data/jail/www"].Anomaly; a != nil {
		t.Errorf("www lost nothing, yet: %+v", a)
	}
	var erasedRecs []state.Record
	_, err = state.ReadJournal(filepath.Join(v.stateDir, state.JournalFile), func(r state.Record) error {
		if r.Kind == state.KindErased {
			erasedRecs = append(erasedRecs, r)
		}
		return nil
	})
	require.NoError(t, err)
	if len(erasedRecs) != 1 || erasedRecs[0].Dataset != jail || erasedRecs[0].Details["erased"] != jail+"@a,"+jail+"@b" ||
		erasedRecs[0].Details["guids"] != "11,12" || erasedRecs[0].Outcome != state.OutcomeAlarm {
		t.Errorf("journal: %+v, want one erased record naming @a and @b", erasedRecs)
	}

	// Found once: the next prune finds nothing new, and the dataset stays frozen.
	code, out, _ = runVault("prune", "-c", v.config, "host05")
	if code != 0 || strings.Contains(out, "CRIT") || !strings.Contains(out, "host05 "+jail+" (frozen: erased-snapshots alarm") {
		t.Errorf("the prune after: exit %d, want no new alarm and the freeze:\n%s", code, out)
	}
	code, out, _ = runVault("status", "-c", v.config, "host05")
	if code != 0 || !strings.Contains(out, "erased-snapshots alarm since") || !strings.Contains(out, "@a, @b") || !strings.Contains(out, "vault ack host05 host05data/jail") {
		t.Errorf("status:\n%s", out)
	}
	if code, out, _ = runVault("check", "-c", v.config, "host05"); code != 2 || !strings.HasPrefix(out, "VAULT CRITICAL - host05 host05data/jail: erased-snapshots alarm") {
		t.Errorf("check: exit %d %q", code, out)
	}
	code, out, _ = runVault("ack", "-c", v.config, "host05", "host05data/jail")
	if code != 0 || !strings.Contains(out, "alarm lifted for host05data/jail") {
		t.Errorf("ack: exit %d %q", code, out)
	}
	if code, out, _ = runVault("check", "-c", v.config, "host05"); code != 0 {
		t.Errorf("check after ack: exit %d %q", code, out)
	}
}

// The check at the end of every pull: a run that could not even reach its source still checks
// the vault's targets; what prune journalled it destroyed is not an erasure; a journal line of
// an older vault (names only) counts too.
func TestRecordChecksTheLedger(t *testing.T) {
	v := newVaultDir(t, "")
	fz := newFakeTargets(t, v.dir)
	c, err := conf.Load(v.config)
	require.NoError(t, err)
	c.ZFSBinary = fz.bin
	v.save(t, host05(time.Hour))
	store, err := state.Open(v.stateDir, -1, -1)
	require.NoError(t, err)
	defer store.Close()
	journal, err := store.OpenJournal()
	require.NoError(t, err)
	defer journal.Close()
	const jail = "rust10/Backups/host05/jail"
	unreachable := func() *puller.Report {
		return &puller.Report{Job: "host05", Started: time.Now(), Err: errors.New("cannot connect to backup@host05:22: no route to host")}
	}
	rec := operate.NewRecords(store, journal, hclog.NewNullLogger())

	fz.set(t, jail+"@a 11", jail+"@b 12", jail+"@c 13", jail+"@d 14")
	rec.Record(c, unreachable())
	// vault prune destroys @a (journalled with GUIDs) and an older vault @b (names only).
	require.NoError(t, journal.Append(state.Record{Kind: state.KindPrune, Job: "host05", Dataset: jail, Outcome: state.OutcomeOK,
		Details: map[string]string{"destroyed": "a", "destroyed_guids": "11"}}))
	require.NoError(t, journal.Append(state.Record{Kind: state.KindPrune, Job: "host05", Dataset: jail, Outcome: state.OutcomeOK,
		Details: map[string]string{"destroyed": "b"}}))
	fz.set(t, jail+"@c 13", jail+"@d 14", jail+"@e 15")
	rec.Record(c, unreachable())
	st, err := loadJobState(store, "host05")
	require.NoError(t, err)
	if a := st.Datasets["host05data/jail"].Anomaly; a != nil {
		t.Fatalf("pruned snapshots raised the alarm: %+v", a)
	}
	// Then @d goes, and not by prune.
	fz.set(t, jail+"@c 13", jail+"@e 15")
	rec.Record(c, unreachable())
	st, err = loadJobState(store, "host05")
	require.NoError(t, err)
	a := st.Datasets["host05data/jail"].Anomaly
	if a == nil || a.Kind != report.AlarmErased || !strings.Contains(a.Detail, "1 snapshot(s) erased from the vault, not by vault prune: @d") {
		t.Fatalf("@d erased: alarm %+v", a)
	}
	var b strings.Builder
	printErased(&b, c, st, false)
	if !strings.HasPrefix(b.String(), "CRIT host05 host05data/jail -> "+jail+": erased\n    erased-snapshots alarm since ") {
		t.Errorf("vault pull prints:\n%s", b.String())
	}
}

// The check before a pull finds what a rollback erased even when the pull then brings it all
// back from the source under the same GUIDs, which the check at its end could not see.
func TestCheckBeforePull(t *testing.T) {
	v := newVaultDir(t, "")
	fz := newFakeTargets(t, v.dir)
	c, err := conf.Load(v.config)
	require.NoError(t, err)
	c.ZFSBinary = fz.bin
	j, _ := c.Job("host05")
	v.save(t, host05(time.Hour))
	store, err := state.Open(v.stateDir, -1, -1)
	require.NoError(t, err)
	defer store.Close()
	journal, err := store.OpenJournal()
	require.NoError(t, err)
	defer journal.Close()
	rec := operate.NewRecords(store, journal, hclog.NewNullLogger())
	const jail = "rust10/Backups/host05/jail"
	pulled := func() *puller.Report {
		return &puller.Report{Job: "host05", Started: time.Now(), Datasets: []puller.DatasetReport{
			{Source: ds(t, "host05data/jail"), Target: ds(t, jail), Outcome: puller.OK}}}
	}
	fz.set(t, jail+"@a 11", jail+"@b 12", jail+"@c 13")
	rec.Record(c, pulled())

	fz.set(t, jail+"@a 11") // zfs rollback -r @a
	rec.CheckBeforePull(c, j)
	fz.set(t, jail+"@a 11", jail+"@b 12", jail+"@c 13", jail+"@d 14") // the pull brings them back, and @d
	rec.Record(c, pulled())

	st, err := loadJobState(store, "host05")
	require.NoError(t, err)
	a := st.Datasets["host05data/jail"].Anomaly
	if a == nil || a.Kind != report.AlarmErased || a.Detail != "2 snapshot(s) erased from the vault, not by vault prune: @b, @c" {
		t.Fatalf("alarm %+v, want @b and @c named", a)
	}
	var checks []string
	_, err = state.ReadJournal(filepath.Join(v.stateDir, state.JournalFile), func(r state.Record) error {
		if r.Kind == state.KindErased {
			checks = append(checks, r.Details["check"])
		}
		return nil
	})
	require.NoError(t, err)
	if len(checks) != 1 || checks[0] != "before pull" {
		t.Errorf("erased records by check: %q, want one, before pull", checks)
	}
	l, err := ledger.Load(store, "host05")
	require.NoError(t, err)
	if len(l.Snapshots) != 4 {
		t.Errorf("the ledger after the pull: %+v, want its 4 snapshots", l.Snapshots)
	}
}

func ds(t *testing.T, name string) zfs.Dataset {
	t.Helper()
	d, err := zfs.ParseDataset(name)
	require.NoError(t, err)
	return d
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// loadJobState reads a job's saved state as vault does.
func loadJobState(store *state.Store, job string) (*report.JobState, error) {
	return operate.NewRecords(store, nil, hclog.NewNullLogger()).Load(job)
}
