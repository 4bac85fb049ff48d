package puller

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/props"
	"github.com/belltech/vault/zfs"
)

// upToDate gives a source of n datasets under src/jail (fakeSource: the root has no snapshots,
// each child three) and a vault that already holds every snapshot, under vault/b/jail, and the
// job between them: a real run (not a dry run) with nothing to send.
func upToDate(t *testing.T, n int) (src, dst *listingExec, job *Job) {
	t.Helper()
	src = fakeSource(n)
	dst = &listingExec{datasets: []string{"vault/b\tfilesystem\t7", "vault/b/jail\tfilesystem\t8"}}
	for i := range n {
		dst.datasets = append(dst.datasets, fmt.Sprintf("vault/b/jail/j%03d\tfilesystem\t%d", i, 500+i))
	}
	for _, s := range src.snaps {
		dst.snaps = append(dst.snaps, strings.Replace(s, "src/jail/", "vault/b/jail/", 1))
	}
	root, err := zfs.ParseDataset("src/jail")
	require.NoError(t, err)
	target, err := zfs.ParseDataset("vault/b")
	require.NoError(t, err)
	job = &Job{Name: "j", Host: "host05", Roots: []zfs.Dataset{root}, Recursive: true, TargetRoot: target,
		TargetFor: func(d zfs.Dataset) (zfs.Dataset, bool) {
			rel, ok := d.RelativeTo(root)
			if !ok {
				return zfs.Dataset{}, false
			}
			t, err := zfs.ParseDataset(strings.TrimSuffix("vault/b/jail/"+rel, "/"))
			return t, err == nil
		}}
	return src, dst, job
}

func pullWith(src, dst *listingExec, job *Job, log hclog.Logger) *Report {
	p := &Puller{Source: Side{ZFS: &zfs.ZFS{Bin: "/sbin/zfs", Exec: src}, Starter: src},
		Target: Side{ZFS: &zfs.ZFS{Bin: "/sbin/zfs", Exec: dst}, Starter: dst}, Log: log}
	return p.Pull(context.Background(), job, Options{})
}

// A run reads the source's local properties with one zfs get, whether the job has 5 datasets
// or 50, and keeps those a restore may set, of the datasets it pulled or found up to date: an
// empty set for one with none, nothing for the root that has no snapshots (source-empty).
func TestPropsOneGetPerRun(t *testing.T) {
	for _, n := range []int{5, 50} {
		src, dst, job := upToDate(t, n)
		src.props = []string{
			"src/jail\tcompression\tzstd",
			"src/jail/j000\tatime\toff",
			"src/jail/j000\tmountpoint\t/mnt/x",
			"src/jail/j001\tcom.example:role\tdb",
			"src/jail/j001\trecordsize\t16384",
		}
		var logs bytes.Buffer
		r := pullWith(src, dst, job, hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}))
		require.NoError(t, r.Err, "%d datasets", n)
		for _, d := range r.Datasets {
			want := UpToDate
			if d.Source.String() == "src/jail" {
				want = SourceEmpty
			}
			assert.Equal(t, want, d.Outcome, "%d datasets: %s", n, d.Source)
		}
		want := map[zfs.Dataset]props.Set{
			ds(t, "src/jail/j000"): {"atime": "off"},
			ds(t, "src/jail/j001"): {"com.example:role": "db", "recordsize": "16384"},
		}
		for i := 2; i < n; i++ {
			want[ds(t, fmt.Sprintf("src/jail/j%03d", i))] = props.Set{}
		}
		assert.Equal(t, want, r.Props, "%d datasets", n)
		assert.Equal(t, []string{"get -H", "list -H", "list -H"}, sorted(src.calls), "%d datasets: the source's zfs calls", n)
		assert.Equal(t, []string{"list -H", "list -H"}, dst.calls, "%d datasets: the vault's zfs calls", n)
		assert.Contains(t, logs.String(), `skipped="src/jail/j000: property \"mountpoint\" is not one a restore sets again"`)
		assert.NotContains(t, logs.String(), "[WARN]")
	}
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// A source whose vault serve refuses the zfs get, or that answers it with what the parser does
// not trust, costs one warning naming the host and the fix; the pull goes on as before and
// nothing is kept (what earlier runs recorded stays).
func TestPropsReadFailureIsAWarning(t *testing.T) {
	for name, setup := range map[string]func(e *listingExec){
		"refused": func(e *listingExec) {
			e.getErr = &zfs.ExitError{Argv: []string{"/sbin/zfs", "get"}, Code: 2,
				Stderr: `vault serve: refused: zfs subcommand "get" is not allowed (only list, send, hold, release, holds, snapshot)`}
		},
		"a dataset not asked for": func(e *listingExec) { e.props = []string{"src/jail/j000\tatime\toff", "src/other\tatime\ton"} },
		"not three fields":        func(e *listingExec) { e.props = []string{"src/jail/j000\tatime"} },
		"too much": func(e *listingExec) {
			e.props = []string{"src/jail/j000\tcom.x:y\t" + strings.Repeat("v", MaxPropsOutput)}
		},
	} {
		src, dst, job := upToDate(t, 3)
		setup(src)
		var logs bytes.Buffer
		r := pullWith(src, dst, job, hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Info}))
		require.NoError(t, r.Err, name)
		assert.Len(t, r.Datasets, 4, name)
		for _, d := range r.Datasets[1:] {
			assert.Equal(t, UpToDate, d.Outcome, "%s: %s", name, d.Source)
		}
		assert.Nil(t, r.Props, name)
		assert.Equal(t, 1, strings.Count(logs.String(), "[WARN]"), "%s: %s", name, logs.String())
		assert.Contains(t, logs.String(), "update vault on host05", name)
	}
}

func TestLimitedBuffer(t *testing.T) {
	b := &limitedBuffer{max: 4}
	n, err := b.Write([]byte("abc"))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	_, err = io.Copy(b, strings.NewReader("de"))
	assert.ErrorContains(t, err, "more than 4 bytes")
	_, err = io.WriteString(b, "de")
	assert.ErrorContains(t, err, "more than 4 bytes")
	assert.Equal(t, "abc", b.buf.String())
}
