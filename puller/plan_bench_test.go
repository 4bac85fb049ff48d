package puller

import (
	"fmt"
	"strings"
	"testing"

	"github.com/belltech/vault/zfs"
)

// BenchmarkPlan500x1000 plans a job of 500 datasets with 1,000 snapshots each
// on the source; the target holds all but the newest, and 10 older ones the
// source has pruned. Every dataset gets one -I, with 10 vanished. The
// listings are parsed once, outside the timing; the target is under 1 s.
func BenchmarkPlan500x1000(b *testing.B) {
	const datasets, snaps, pruned = 500, 1000, 10
	var src, dst strings.Builder
	for i := range datasets {
		name := "a"
		if i > 0 {
			name = fmt.Sprintf("a/d%03d", i)
		}
		fmt.Fprintf(&src, "src/%s\tfilesystem\t%d\t2\t2\t-\toff\n", name, i+1)
		fmt.Fprintf(&dst, "dst/%s\tfilesystem\t%d\t2\t2\t-\toff\n", name, i+1)
		for k := range snaps + pruned {
			guid := uint64(i)<<32 | uint64(k+1)
			short := fmt.Sprintf("2026-01-01_00.00.00--%dd", k)
			if k >= pruned {
				fmt.Fprintf(&src, "src/%s@%s\tsnapshot\t%d\t%d\t%d\t-\toff\n", name, short, guid, 100+k, 1_700_000_000+k)
			}
			if k < snaps+pruned-1 {
				fmt.Fprintf(&dst, "dst/%s@%s\tsnapshot\t%d\t%d\t%d\t-\toff\n", name, short, guid, 5000+k, 1_700_000_000+k)
			}
		}
	}
	in := Input{
		Sources:   []zfs.Dataset{ds(b, "src/a")},
		Recursive: true,
		Source:    parseList(b, src.String()),
		Target:    parseList(b, dst.String()),
		TargetFor: mapTo(b, "dst"),
	}
	for b.Loop() {
		p, err := Plan(in)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Datasets) != datasets || len(p.Datasets[0].Steps) != 1 || len(p.Datasets[0].Vanished) != pruned {
			b.Fatalf("unexpected plan: %d datasets, first %+v", len(p.Datasets), p.Datasets[0])
		}
	}
}
