package puller

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zfs"
)

func TestCheckSpace(t *testing.T) {
	const MiB, GiB = int64(1 << 20), int64(1 << 30)
	where := ds(t, "rust10/Backups/host05/vm1")
	cases := []struct {
		name            string
		estimate, avail int64
		wantNeed        int64 // 0: fits
	}{
		{"small stream, room", 1 * MiB, 1 * GiB, 0},
		{"small stream needs the 1 MiB floor", 1 * MiB, 2*MiB - 1, 2 * MiB},
		{"small stream, exactly the floor left", 1 * MiB, 2 * MiB, 0},
		{"empty stream, nothing left", 0, 0, 1 * MiB},
		{"a 4 MiB first receive under a 32 MiB quota", 4 * MiB, 32 * MiB, 0},
		{"32 GiB needs 1 GiB more", 32 * GiB, 33 * GiB, 0},
		{"32 GiB, a byte short", 32 * GiB, 33*GiB - 1, 33 * GiB},
		{"larger than what is left", 1200 * MiB, 800 * MiB, 1200*MiB + 1200*MiB/32},
		{"absurd estimate does not overflow", 1<<63 - 1, 1 << 62, 1<<63 - 1},
	}
	for _, c := range cases {
		err := checkSpace("the stream of host05data/vm1@b (incremental from @a)", where, c.estimate, c.avail)
		if c.wantNeed == 0 {
			if err != nil {
				t.Errorf("%s: checkSpace(%d, %d) = %v, want nil", c.name, c.estimate, c.avail, err)
			}
			continue
		}
		var nse *NoSpaceError
		if !errors.As(err, &nse) {
			t.Errorf("%s: checkSpace(%d, %d) = %v, want a *NoSpaceError", c.name, c.estimate, c.avail, err)
			continue
		}
		if nse.Need != c.wantNeed || nse.Estimate != c.estimate || nse.Available != c.avail || nse.Where != where {
			t.Errorf("%s: got %+v, want need %d", c.name, nse, c.wantNeed)
		}
	}

	err := checkSpace("the stream of host05data/vm1@b (incremental from @a)", where, 1200*MiB, 800*MiB)
	want := "not started: the stream of host05data/vm1@b (incremental from @a) needs about 1.2 GiB (1.2 GiB estimated, and room for metadata), " +
		"rust10/Backups/host05/vm1 has 800.0 MiB available (pool or quota); free space (vault prune, or more disks) or raise quota in the configuration and run vault bootstrap, then pull again"
	if err == nil || err.Error() != want {
		t.Errorf("message:\ngot  %v\nwant %s", err, want)
	}
}

func TestSpaceWhereAndStreamName(t *testing.T) {
	dp := DatasetPlan{Source: ds(t, "host05data/vm1"), Target: ds(t, "rust10/Backups/host05/vm1")}
	a := SnapRef{Name: snapName(t, "host05data/vm1@a")}
	b := SnapRef{Name: snapName(t, "host05data/vm1@b")}
	cases := []struct {
		st          Step
		where, name string
	}{
		{Step{Kind: Full, To: a}, "rust10/Backups/host05", "the stream of host05data/vm1@a (full)"},
		{Step{Kind: Incremental, From: &a, To: b}, "rust10/Backups/host05/vm1", "the stream of host05data/vm1@b (incremental from @a)"},
		{Step{Kind: Resume, Token: "1-abc"}, "rust10/Backups/host05/vm1", "the rest of the interrupted receive into rust10/Backups/host05/vm1"},
	}
	for _, c := range cases {
		where, ok := spaceWhere(dp, c.st)
		if !ok || where.String() != c.where {
			t.Errorf("%s: spaceWhere = %s, %v; want %s", c.st.Kind, where, ok, c.where)
		}
		if got := streamName(dp, c.st); got != c.name {
			t.Errorf("%s: streamName = %q, want %q", c.st.Kind, got, c.name)
		}
	}
}

// fakeSide plays one side of a pull for the space check's tests: zfs list from a fixed set of
// datasets and snapshots, zfs send -n -P and zfs get available from tables, holds that always
// succeed, and sends and receives that move a few bytes. It records the streams it starts. It
// judges nothing of zfs's behaviour (the lab does); it lets the puller's control flow be seen.
type fakeSide struct {
	mu        sync.Mutex
	entries   []string          // "name\ttype\tguid\tcreatetxg"
	estimates map[string]int64  // snapshot sent -> zfs send -n -P size
	estErr    map[string]bool   // snapshot sent -> zfs send -n -P fails
	available map[string]int64  // dataset -> zfs get available
	tokens    map[string]string // dataset -> receive_resume_token
	sends     []string          // snapshots whose send started
	receives  []string          // targets whose receive started
	received  map[string]int64  // target -> bytes its receive read
}

func (f *fakeSide) Run(_ context.Context, c zfs.Cmd) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	args := c.Argv[1:]
	out := func(s string) error {
		if c.Stdout != nil {
			_, err := io.WriteString(c.Stdout, s)
			return err
		}
		return nil
	}
	switch args[0] {
	case "list":
		return out(f.list(args))
	case "send": // only ever the dry run here: send -n -P ... SNAP
		snap := args[len(args)-1]
		if f.estErr[snap] {
			return &zfs.ExitError{Argv: c.Argv, Code: 1, Stderr: "connection reset"}
		}
		return out(fmt.Sprintf("incremental\tx\t%s\t%d\nsize\t%d\n", snap, f.estimates[snap], f.estimates[snap]))
	case "get":
		name := args[len(args)-1]
		n, ok := f.available[name]
		if !ok {
			return &zfs.ExitError{Argv: c.Argv, Code: 1, Stderr: fmt.Sprintf("cannot open '%s': dataset does not exist", name)}
		}
		return out(fmt.Sprintf("%s\tavailable\t%d\t-\n", name, n))
	case "hold", "release":
		return nil
	}
	return fmt.Errorf("fakeSide: unexpected %q", c.Argv)
}

func (f *fakeSide) list(args []string) string {
	types := args[slices.Index(args, "-t")+1]
	cols := strings.Split(args[slices.Index(args, "-o")+1], ",")
	roots := args[slices.Index(args, "-t")+2:]
	if len(roots) > 0 && roots[0] == "-r" {
		roots = roots[1:]
	}
	var b strings.Builder
	for _, e := range f.entries {
		fields := strings.Split(e, "\t")
		name, typ := fields[0], fields[1]
		if (typ == "snapshot") != (types == "snapshot") {
			continue
		}
		if !slices.ContainsFunc(roots, func(r string) bool {
			return name == r || strings.HasPrefix(name, r+"/") || strings.HasPrefix(name, r+"@")
		}) {
			continue
		}
		var row []string
		for _, col := range cols {
			switch col {
			case "name":
				row = append(row, name)
			case "type":
				row = append(row, typ)
			case "guid":
				row = append(row, fields[2])
			case "createtxg":
				row = append(row, fields[3])
			case "encryption":
				row = append(row, "off")
			case "receive_resume_token":
				tok := f.tokens[name]
				if tok == "" {
					tok = "-"
				}
				row = append(row, tok)
			case "referenced", "userrefs":
				row = append(row, "0")
			}
		}
		b.WriteString(strings.Join(row, "\t") + "\n")
	}
	return b.String()
}

func (f *fakeSide) Start(_ context.Context, c zfs.Cmd) (zfs.Process, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	args := c.Argv[1:]
	switch args[0] {
	case "send":
		f.sends = append(f.sends, args[len(args)-1])
		return &fakeProc{stdout: strings.NewReader(strings.Repeat("stream", 1000))}, nil
	case "receive":
		target := args[len(args)-1]
		f.receives = append(f.receives, target)
		// runStep closes its copy of the pipe's read end after Start, as it would for a child
		// that has its own: read from a copy of the descriptor.
		fd, err := syscall.Dup(int(c.Stdin.(*os.File).Fd()))
		if err != nil {
			return nil, err
		}
		in := os.NewFile(uintptr(fd), "receive-stdin")
		p := &fakeProc{done: make(chan struct{})}
		go func() {
			defer close(p.done)
			defer in.Close()
			n, _ := io.Copy(io.Discard, in)
			f.mu.Lock()
			if f.received == nil {
				f.received = map[string]int64{}
			}
			f.received[target] += n
			f.mu.Unlock()
		}()
		return p, nil
	}
	return nil, fmt.Errorf("fakeSide: unexpected start of %q", c.Argv)
}

type fakeProc struct {
	stdout io.Reader
	done   chan struct{}
}

func (p *fakeProc) Stdout() io.Reader { return p.stdout }
func (p *fakeProc) Wait() error {
	if p.done != nil {
		<-p.done
	}
	return nil
}
func (p *fakeProc) Abort() error { return errors.New("aborted") }

// spaceWorld is a job of two datasets, small and big, each with a new snapshot @b on the
// source over the vault's @a: each needs one incremental. The vault has 1 GiB available.
func spaceWorld(t *testing.T) (*Puller, *Job, *fakeSide, *fakeSide) {
	t.Helper()
	src := &fakeSide{
		entries: []string{
			"src/small\tfilesystem\t11\t1", "src/small@a\tsnapshot\t12\t2", "src/small@b\tsnapshot\t13\t3",
			"src/big\tfilesystem\t21\t1", "src/big@a\tsnapshot\t22\t2", "src/big@b\tsnapshot\t23\t3",
		},
		estimates: map[string]int64{"src/small@b": 1 << 20, "src/big@b": 10 << 30},
		estErr:    map[string]bool{},
	}
	dst := &fakeSide{
		entries: []string{
			"vault/b\tfilesystem\t1\t1",
			"vault/b/small\tfilesystem\t31\t1", "vault/b/small@a\tsnapshot\t12\t2",
			"vault/b/big\tfilesystem\t41\t1", "vault/b/big@a\tsnapshot\t22\t2",
		},
		available: map[string]int64{"vault/b": 1 << 30, "vault/b/small": 1 << 30, "vault/b/big": 1 << 30},
	}
	root := ds(t, "vault/b")
	job := &Job{Name: "j", Roots: []zfs.Dataset{ds(t, "src/small"), ds(t, "src/big")}, TargetRoot: root,
		TargetFor: func(d zfs.Dataset) (zfs.Dataset, bool) {
			t, err := zfs.ParseDataset("vault/b/" + strings.TrimPrefix(d.String(), "src/"))
			return t, err == nil
		}}
	p := &Puller{Source: Side{ZFS: &zfs.ZFS{Bin: "/sbin/zfs", Exec: src}, Starter: src},
		Target: Side{ZFS: &zfs.ZFS{Bin: "/sbin/zfs", Exec: dst}, Starter: dst}}
	return p, job, src, dst
}

func datasetReport(t *testing.T, r *Report, src string) DatasetReport {
	t.Helper()
	for _, d := range r.Datasets {
		if d.Source.String() == src {
			return d
		}
	}
	t.Fatalf("no report for %s in %+v", src, r.Datasets)
	return DatasetReport{}
}

func TestPullRefusesAStreamThatCannotFit(t *testing.T) {
	p, job, src, dst := spaceWorld(t)
	r := p.Pull(context.Background(), job, Options{})
	require.NoError(t, r.Err)

	big := datasetReport(t, r, "src/big")
	if big.Outcome != Failed || !big.NoSpace {
		t.Errorf("big: outcome %s, NoSpace %v; want failed, true", big.Outcome, big.NoSpace)
	}
	want := "not started: the stream of src/big@b (incremental from @a) needs about 10.3 GiB (10.0 GiB estimated, and room for metadata), vault/b/big has 1.0 GiB available"
	if !strings.HasPrefix(big.Err, want) {
		t.Errorf("big: error\n%s\nwant it to start with\n%s", big.Err, want)
	}
	if len(big.Steps) != 1 || big.Steps[0].Estimated != 10<<30 || big.Steps[0].Bytes != 0 {
		t.Errorf("big: steps %+v, want one estimated at 10 GiB that moved nothing", big.Steps)
	}

	small := datasetReport(t, r, "src/small")
	if small.Outcome != OK || small.NoSpace || len(small.Warnings) != 0 {
		t.Errorf("small: outcome %s, NoSpace %v, warnings %q; want ok, false, none", small.Outcome, small.NoSpace, small.Warnings)
	}
	if !slices.Equal(src.sends, []string{"src/small@b"}) || !slices.Equal(dst.receives, []string{"vault/b/small"}) {
		t.Errorf("sends %q, receives %q; want only small's", src.sends, dst.receives)
	}
	if dst.received["vault/b/small"] != 6000 {
		t.Errorf("small's receive read %d bytes, want 6000", dst.received["vault/b/small"])
	}
	if got := ExitCode([]*Report{r}); got != ExitFailed {
		t.Errorf("exit code %d, want %d", got, ExitFailed)
	}
}

func TestPullWithRoomPullsBoth(t *testing.T) {
	p, job, src, dst := spaceWorld(t)
	dst.available["vault/b/big"] = 11 << 30
	r := p.Pull(context.Background(), job, Options{})
	require.NoError(t, r.Err)
	for _, name := range []string{"src/small", "src/big"} {
		if d := datasetReport(t, r, name); d.Outcome != OK || len(d.Warnings) != 0 {
			t.Errorf("%s: outcome %s (%s), warnings %q; want ok, none", name, d.Outcome, d.Err, d.Warnings)
		}
	}
	slices.Sort(src.sends)
	if !slices.Equal(src.sends, []string{"src/big@b", "src/small@b"}) || len(dst.receives) != 2 {
		t.Errorf("sends %q, receives %q; want both", src.sends, dst.receives)
	}
}

// An estimate or a space reading that fails does not fail the pull: the stream runs, with a
// warning that it was not checked.
func TestPullWithoutAnEstimateWarnsAndPulls(t *testing.T) {
	p, job, src, dst := spaceWorld(t)
	src.estErr["src/big@b"] = true // the 10 GiB stream, which would not fit, goes unmeasured
	delete(dst.available, "vault/b/small")
	r := p.Pull(context.Background(), job, Options{})
	require.NoError(t, r.Err)

	big := datasetReport(t, r, "src/big")
	if big.Outcome != OK || len(big.Warnings) != 1 || !strings.HasPrefix(big.Warnings[0], "cannot estimate the size of the stream of src/big@b (incremental from @a) (") ||
		!strings.HasSuffix(big.Warnings[0], "): the space on the vault was not checked before it") {
		t.Errorf("big: outcome %s (%s), warnings %q; want ok with one warning that the size is unknown", big.Outcome, big.Err, big.Warnings)
	}
	if big.Steps[0].Estimated != -1 {
		t.Errorf("big: estimated %d, want -1 (unknown)", big.Steps[0].Estimated)
	}
	small := datasetReport(t, r, "src/small")
	if small.Outcome != OK || len(small.Warnings) != 1 || !strings.HasPrefix(small.Warnings[0], "cannot read the space available on vault/b/small (") {
		t.Errorf("small: outcome %s (%s), warnings %q; want ok with one warning that the space is unknown", small.Outcome, small.Err, small.Warnings)
	}
	if len(src.sends) != 2 || len(dst.receives) != 2 {
		t.Errorf("sends %q, receives %q; want both", src.sends, dst.receives)
	}
}

// A first receive is checked against its parent's space, the target not existing yet.
func TestPullChecksAFirstReceiveAgainstTheParent(t *testing.T) {
	p, job, src, dst := spaceWorld(t)
	src.entries = append(src.entries, "src/new\tfilesystem\t51\t1", "src/new@a\tsnapshot\t52\t2")
	src.estimates["src/new@a"] = 2 << 30
	job.Roots = append(job.Roots, ds(t, "src/new"))
	r := p.Pull(context.Background(), job, Options{})
	require.NoError(t, r.Err)
	d := datasetReport(t, r, "src/new")
	if d.Outcome != Failed || !d.NoSpace || !strings.Contains(d.Err, "the stream of src/new@a (full) needs about 2.1 GiB (2.0 GiB estimated, and room for metadata), vault/b has 1.0 GiB available") {
		t.Errorf("new: outcome %s, NoSpace %v, error %q; want refused against vault/b", d.Outcome, d.NoSpace, d.Err)
	}
	if slices.Contains(dst.receives, "vault/b/new") {
		t.Errorf("receives %q: the refused first receive started", dst.receives)
	}
}

// A resume is checked too: its estimate (zfs send -n -P -t) is what is left of the stream.
func TestPullChecksAResume(t *testing.T) {
	p, job, src, dst := spaceWorld(t)
	const token = "1-abc123"
	dst.tokens = map[string]string{"vault/b/big": token}
	src.estimates[token] = 3 << 30
	r := p.Pull(context.Background(), job, Options{})
	require.NoError(t, r.Err)
	big := datasetReport(t, r, "src/big")
	if big.Outcome != Failed || !big.NoSpace || !strings.HasPrefix(big.Err, "not started: the rest of the interrupted receive into vault/b/big needs about 3.1 GiB (3.0 GiB estimated") {
		t.Errorf("big: outcome %s, NoSpace %v, error %q; want the resume refused", big.Outcome, big.NoSpace, big.Err)
	}
	if len(big.Steps) != 1 || big.Steps[0].Kind != Resume {
		t.Errorf("big: steps %+v, want the one resume", big.Steps)
	}
	if slices.Contains(dst.receives, "vault/b/big") || slices.Contains(src.sends, token) {
		t.Errorf("sends %q, receives %q: the refused resume started", src.sends, dst.receives)
	}
	if d := datasetReport(t, r, "src/small"); d.Outcome != OK {
		t.Errorf("small: outcome %s (%s), want ok", d.Outcome, d.Err)
	}
}
