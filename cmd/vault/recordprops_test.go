package main

import (
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/props"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/state"
	"github.com/belltech/vault/zfs"
)

// record keeps the properties a run read for a restore in the job's props/ record; a run that
// read none (a source that refused the zfs get) leaves what earlier runs recorded.
func TestRecordKeepsProps(t *testing.T) {
	v := newVaultDir(t, "")
	fz := newFakeTargets(t, v.dir)
	c, err := conf.Load(v.config)
	require.NoError(t, err)
	c.ZFSBinary = fz.bin
	v.save(t, host05(time.Hour))
	store, err := state.Open(v.stateDir, -1, -1)
	require.NoError(t, err)
	defer store.Close()
	const jail = "rust10/Backups/host05/jail"
	fz.set(t, jail+"@a 11")
	run := func(kept map[zfs.Dataset]props.Set) {
		operate.NewRecords(store, nil, hclog.NewNullLogger()).Record(c, &puller.Report{Job: "host05", Started: time.Now(), Props: kept,
			Datasets: []puller.DatasetReport{{Source: ds(t, "host05data/jail"), Target: ds(t, jail), Outcome: puller.OK}}})
	}
	recorded := func() props.Set {
		k, err := props.Load(store, "host05")
		require.NoError(t, err)
		s, ok := k.Of(ds(t, "host05data/jail"))
		require.True(t, ok, "nothing recorded for host05data/jail")
		return s
	}
	run(map[zfs.Dataset]props.Set{ds(t, "host05data/jail"): {"atime": "off", "com.example:role": "db"}})
	assert.Equal(t, props.Set{"atime": "off", "com.example:role": "db"}, recorded())
	run(nil)
	assert.Equal(t, props.Set{"atime": "off", "com.example:role": "db"}, recorded())
	run(map[zfs.Dataset]props.Set{ds(t, "host05data/jail"): {"atime": "on"}})
	assert.Equal(t, props.Set{"atime": "on"}, recorded())
}
