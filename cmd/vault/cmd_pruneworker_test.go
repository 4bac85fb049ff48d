package main

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/zfs"
)

// zfsRecorder answers zfs list with canned snapshots and records every command.
type zfsRecorder struct {
	list  string
	argvs []string
}

func (z *zfsRecorder) Run(_ context.Context, c zfs.Cmd) error {
	z.argvs = append(z.argvs, strings.Join(c.Argv[1:], " "))
	if len(c.Argv) > 1 && c.Argv[1] == "list" && c.Stdout != nil {
		_, err := c.Stdout.Write([]byte(z.list))
		return err
	}
	return nil
}

func TestPruneWorkerTrustsOnlyJobAndKeep(t *testing.T) {
	c, err := conf.Parse([]byte(`prune_user = "vault-prune"
timezone = "UTC"
[[job]]
name = "j"
source = "backup@host05"
source_datasets = ["tank/a"]
target = "rust10/B/j"
schedule = "@daily"
rpo = "26h"
[job.prune]
source_ttl = true
min_keep = 1
`))
	require.NoError(t, err)
	// Two expired one-day snapshots and a newer one, named when created.
	rec := &zfsRecorder{list: "rust10/B/j/a@2020-01-01_00.00.00--1d\t1\t10\t1577836800\t0\n" +
		"rust10/B/j/a@2020-01-02_00.00.00--1d\t2\t11\t1577923200\t0\n" +
		"rust10/B/j/a@2020-01-03_00.00.00--1d\t3\t12\t1578009600\t0\n"}
	w := &worker{c: c, ex: &prune.Executor{ZFS: &zfs.ZFS{Bin: "/sbin/zfs", Exec: rec}}}
	ctx := context.Background()

	// The daemon picks the job; an unknown one, or a clock or rules of its own, are refused.
	require.Contains(t, w.handle(ctx, []byte(`{"op":"prune","job":"nope"}`)).Error, `no job named "nope"`)
	require.Contains(t, w.handle(ctx, []byte(`{"op":"prune","job":"j","now":"2099-01-01T00:00:00Z"}`)).Error, "unknown field")

	// A dry run by the worker's own rules: the two older are expired, the newest kept.
	resp := w.handle(ctx, []byte(`{"op":"prune","job":"j","dry":true}`))
	require.Empty(t, resp.Error)
	require.Len(t, resp.Results, 1)
	require.Len(t, resp.Results[0].Plan.Destroy(), 2)

	// A freeze from the daemon keeps everything in its dataset, and nothing is destroyed.
	rec.argvs = nil
	resp = w.handle(ctx, []byte(`{"op":"prune","job":"j","freezes":{"rust10/B/j/a":"last pull failed"}}`))
	require.Empty(t, resp.Error)
	require.Empty(t, resp.Results[0].Plan.Destroy())
	require.Equal(t, "last pull failed", resp.Results[0].Plan.Frozen.Reason)
	for _, a := range rec.argvs {
		require.False(t, strings.HasPrefix(a, "destroy"), "ran zfs %s", a)
	}
	// A freeze of another job's dataset means nothing here.
	resp = w.handle(ctx, []byte(`{"op":"prune","job":"j","dry":true,"freezes":{"rust10/B/k":"x"}}`))
	require.Len(t, resp.Results[0].Plan.Destroy(), 2)

	// An abort outside the job's target is refused; inside it runs zfs receive -A.
	require.Contains(t, w.handle(ctx, []byte(`{"op":"abort","job":"j","target":"rust10/B/k"}`)).Error, "not in job j's target")
	rec.argvs = nil
	require.Empty(t, w.handle(ctx, []byte(`{"op":"abort","job":"j","target":"rust10/B/j/a"}`)).Error)
	require.Equal(t, []string{"receive -A rust10/B/j/a"}, rec.argvs)
}
