package zpool

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func addSeeds(f *testing.F, dir string) {
	files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.txt"))
	for _, txt := range files {
		if data, err := os.ReadFile(txt); err == nil {
			f.Add(data)
		}
	}
}

func FuzzParseList(f *testing.F) {
	addSeeds(f, "list")
	f.Fuzz(func(t *testing.T, data []byte) {
		pools, err := ParseList(bytes.NewReader(data))
		if err != nil {
			if pools != nil {
				t.Fatalf("pools with error %v", err)
			}
			return
		}
		if len(pools) > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("%d pools from %d lines", len(pools), bytes.Count(data, []byte("\n"))+1)
		}
		for _, p := range pools {
			if CheckPoolName(p.Name) != nil || !poolStates[p.Health] {
				t.Fatalf("pool %q health %q", p.Name, p.Health)
			}
			// A pool reported ONLINE had the literal word in its line, and its space.
			if p.Health == "ONLINE" && (!bytes.Contains(data, []byte("\tONLINE\t")) || !p.SpaceKnown) {
				t.Fatalf("pool %q ONLINE without the word or its space", p.Name)
			}
			if p.Capacity < 0 || p.Capacity > 100 || p.Fragmentation < -1 || p.Fragmentation > 100 || p.Allocated > p.Size {
				t.Fatalf("pool %+v", p)
			}
		}
	})
}

func FuzzParseStatus(f *testing.F) {
	addSeeds(f, "status")
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseStatus(bytes.NewReader(data), time.UTC)
		if err != nil {
			if st != nil {
				t.Fatalf("statuses with error %v", err)
			}
			if !strings.HasPrefix(err.Error(), "cannot ") {
				t.Fatalf("error %q does not say what could not be done", err)
			}
			return
		}
		for _, s := range st {
			if CheckPoolName(s.Pool) != nil || !bytes.Contains(data, []byte("  pool: "+s.Pool+"\n")) && !bytes.HasSuffix(data, []byte("  pool: "+s.Pool)) {
				t.Fatalf("pool %q not on a pool line", s.Pool)
			}
			// A pool reported ONLINE had the literal state line, and an ONLINE row in its tree.
			if s.State == "ONLINE" && (!bytes.Contains(data, []byte(" state: ONLINE\n")) || len(s.Vdevs) > 0 && s.Vdevs[0].State != "ONLINE") {
				t.Fatalf("pool %q ONLINE without the state line or an ONLINE row", s.Pool)
			}
			if !poolStates[s.State] {
				t.Fatalf("pool %q in state %q", s.Pool, s.State)
			}
			if !s.NoConfig && len(s.Vdevs) == 0 {
				t.Fatalf("pool %q without a tree", s.Pool)
			}
			var r, w, c uint64
			for _, v := range s.Vdevs {
				r, w, c = addSat(r, v.Read), addSat(w, v.Write), addSat(c, v.Checksum)
				if !v.Counters && (v.Read|v.Write|v.Checksum) != 0 {
					t.Fatalf("vdev %+v has counts without counters", v)
				}
			}
			if r != s.Read || w != s.Write || c != s.Checksum {
				t.Fatalf("pool %q sums %d/%d/%d, rows %d/%d/%d", s.Pool, s.Read, s.Write, s.Checksum, r, w, c)
			}
			if s.Errors == NoKnownDataErrors && s.DataErrors != 0 || s.DataErrors > 0 && s.Errors == "" {
				t.Fatalf("pool %q errors %q with %d data errors", s.Pool, s.Errors, s.DataErrors)
			}
			for _, sc := range s.Scans {
				if sc.InProgress() && (sc.Start.IsZero() || sc.Percent > 100.01 && sc.Kind != ScanErrorScrub) {
					t.Fatalf("scan %+v", sc)
				}
				if !sc.InProgress() && sc.End.IsZero() {
					t.Fatalf("scan %+v ended without an end", sc)
				}
				if sc.Percent < 0 && sc.Percent != -1 {
					t.Fatalf("scan %+v", sc)
				}
			}
		}
	})
}
