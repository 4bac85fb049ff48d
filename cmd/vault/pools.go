package main

import (
	"context"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/zfs"
	"github.com/belltech/vault/zpool"
)

// poolsTimeout bounds one look at the pools (a zpool list and a zpool status): a zpool that
// hangs, as on a suspended pool, is reported rather than waited for, inside the 10 seconds
// Nagios gives vault check.
const poolsTimeout = 8 * time.Second

// lookAtPools adds to st the pools that hold its jobs' targets: two zpool commands whatever
// their number. zpool runs with zfs.Local's environment (LC_ALL=C, TZ=UTC), so its dates are
// read as UTC. A zpool that cannot run is one WARN in st, never an error.
func lookAtPools(ctx context.Context, c *conf.Config, st *report.Status) {
	var want []string
	for _, js := range st.Jobs {
		if d, err := zfs.ParseDataset(js.Target); err == nil {
			want = append(want, d.Pool())
		}
	}
	z := &zpool.Zpool{Bin: c.ZpoolBinary, Exec: &zfs.Local{}, Location: time.UTC}
	lctx, cancel := context.WithTimeout(ctx, poolsTimeout)
	defer cancel()
	h, err := z.Look(lctx, want)
	st.SetPools(h, err, report.PoolThresholdsOf(c))
}
