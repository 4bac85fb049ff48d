package puller

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/belltech/vault/props"
	"github.com/belltech/vault/zfs"
)

// listingExec answers zfs list from a fixed tree and counts every command, so the number of zfs
// processes a run spawns can be compared across job sizes. It plays no part in judging zfs
// behaviour (the lab does that); it only counts what the puller asks for.
type listingExec struct {
	mu       sync.Mutex
	datasets []string // name type guid encryption, tab-separated, in listing order
	snaps    []string
	// props is what zfs get (props.GetArgs) prints; getErr, if set, is its failure instead.
	props  []string
	getErr error
	calls  []string
}

func (e *listingExec) Run(_ context.Context, c zfs.Cmd) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls = append(e.calls, strings.Join(c.Argv[1:3], " "))
	if c.Argv[1] == "get" && slices.Equal(c.Argv[1:len(props.GetArgs)+1], props.GetArgs) {
		if e.getErr != nil {
			return e.getErr
		}
		return writeLines(c.Stdout, e.props)
	}
	if c.Argv[1] != "list" {
		return fmt.Errorf("unexpected %q", c.Argv)
	}
	types := c.Argv[slices.Index(c.Argv, "-t")+1]
	cols := strings.Split(c.Argv[slices.Index(c.Argv, "-o")+1], ",")
	var lines []string
	if types == "snapshot" {
		lines = e.snaps
	} else {
		for _, d := range e.datasets {
			f := strings.Split(d, "\t")
			row := []string{f[0], f[1], f[2], "1"}
			switch cols[len(cols)-1] {
			case "encryption":
				row = append(row, "off")
			case "referenced":
				row = append(row, "-", "0")
			}
			lines = append(lines, strings.Join(row[:len(cols)], "\t"))
		}
	}
	return writeLines(c.Stdout, lines)
}

func writeLines(w io.Writer, lines []string) error {
	if w != nil && len(lines) > 0 {
		_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
		return err
	}
	return nil
}

func (e *listingExec) Start(context.Context, zfs.Cmd) (zfs.Process, error) {
	return nil, fmt.Errorf("no streams in this test")
}

func fakeSource(n int) *listingExec {
	e := &listingExec{datasets: []string{"src/jail\tfilesystem\t1"}}
	for i := range n {
		ds := fmt.Sprintf("src/jail/j%03d", i)
		e.datasets = append(e.datasets, fmt.Sprintf("%s\tfilesystem\t%d", ds, 100+i))
		for s := range 3 {
			e.snaps = append(e.snaps, fmt.Sprintf("%s@2026-11-%02d_00.00.00--1w\t%d\t%d\t0", ds, 20+s, 10000*(i+1)+s, 10+s))
		}
	}
	return e
}

// The listing cost of a run does not grow with the number of datasets: two zfs list calls per
// side, whether the job has 5 datasets or 50. (A dry run, as here, reads no properties; a real
// run adds one zfs get on the source, whatever the number: TestPropsOneGetPerRun.)
func TestListingCallsDoNotGrowWithDatasets(t *testing.T) {
	counts := map[int]int{}
	for _, n := range []int{5, 50} {
		src, dst := fakeSource(n), &listingExec{datasets: []string{"vault/b\tfilesystem\t7"}}
		root, _ := zfs.ParseDataset("src/jail")
		target, _ := zfs.ParseDataset("vault/b")
		job := &Job{Name: "j", Roots: []zfs.Dataset{root}, Recursive: true, TargetRoot: target,
			TargetFor: func(d zfs.Dataset) (zfs.Dataset, bool) {
				rel, ok := d.RelativeTo(root)
				if !ok {
					return zfs.Dataset{}, false
				}
				t, err := zfs.ParseDataset(strings.TrimSuffix("vault/b/jail/"+rel, "/"))
				return t, err == nil
			}}
		p := &Puller{Source: Side{ZFS: &zfs.ZFS{Bin: "/sbin/zfs", Exec: src}, Starter: src},
			Target: Side{ZFS: &zfs.ZFS{Bin: "/sbin/zfs", Exec: dst}, Starter: dst}}
		r := p.Pull(context.Background(), job, Options{DryRun: true})
		if r.Err != nil {
			t.Fatalf("%d datasets: %v", n, r.Err)
		}
		if got := len(r.Datasets); got != n+1 {
			t.Fatalf("%d datasets: planned %d, want %d", n, got, n+1)
		}
		counts[n] = len(src.calls) + len(dst.calls)
		for _, c := range append(src.calls, dst.calls...) {
			if c != "list -H" {
				t.Errorf("%d datasets: unexpected zfs call %q", n, c)
			}
		}
	}
	if counts[5] != counts[50] || counts[50] != 4 {
		t.Errorf("zfs list calls: %d for 5 datasets, %d for 50; want 4 for both", counts[5], counts[50])
	}
}
