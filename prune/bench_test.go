package prune

import (
	"fmt"
	"testing"
	"time"

	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/zfs"
)

// BenchmarkPlan100kSnapshots plans 100 datasets of 1,000 snapshots each: an
// hourly zfsnap2 snapshot (--1d), every sixth a --1w one, every 24th a --1m
// one, some held and some with other names, under the usual grid. The
// target is well under a second per plan.
func BenchmarkPlan100kSnapshots(b *testing.B) {
	loc, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, loc)
	in := make([]DatasetInput, 100)
	for d := range in {
		dataset, err := zfs.ParseDataset(fmt.Sprintf("rust10/Backups/host%02d/data", d))
		if err != nil {
			b.Fatal(err)
		}
		in[d].Dataset = dataset
		start := now.Add(-1000 * 6 * time.Hour)
		for i := range 1000 {
			at := start.Add(time.Duration(i) * 6 * time.Hour)
			ttl := policy.TTL{Days: 1}
			switch {
			case i%24 == 0:
				ttl = policy.TTL{Months: 1}
			case i%6 == 0:
				ttl = policy.TTL{Weeks: 1}
			}
			short := policy.FormatName("", at, ttl)
			if i%97 == 0 {
				short = fmt.Sprintf("manual-%d", i)
			}
			name, err := dataset.Snapshot(short)
			if err != nil {
				b.Fatal(err)
			}
			s := Snapshot{Name: name, GUID: uint64(d<<20 | i), CreateTXG: uint64(1000 + 7*i), Creation: at.UTC()}
			if i%250 == 0 {
				s.UserRefs = 1
			}
			in[d].Snapshots = append(in[d].Snapshots, s)
		}
	}
	grid, err := ParseGrid([]string{"24 hourly", "14 daily", "8 weekly", "12 monthly", "forever yearly"})
	if err != nil {
		b.Fatal(err)
	}
	r := Rules{SourceTTL: true, TTLFactor: 1.5, Grid: grid, KeepUnparsed: true, MinKeep: 7, MinAge: 24 * time.Hour, MaxDestroy: 20, Location: loc}
	b.ReportAllocs()
	for b.Loop() {
		Plan(in, r, now)
	}
}
