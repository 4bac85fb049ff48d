package restore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/time/rate"

	"github.com/belltech/vault/serve"
	"github.com/belltech/vault/zfs"
)

// Sender runs a restore: zfs send on the vault (Local), zfs receive on the host (Remote, over
// SSH).
type Sender struct {
	Local       *zfs.ZFS
	LocalStart  zfs.Starter
	Remote      *zfs.ZFS
	RemoteStart zfs.Starter
	Log         hclog.Logger
	// Progress, if set, shows a stream's progress (what, zfs's estimate or -1, the bytes so far)
	// until the function it returns is called.
	Progress func(what string, total int64, n *atomic.Int64) func()
	// Limit caps the stream in bytes per second; 0 means none.
	Limit int64
}

// Request is one restore.
type Request struct {
	// Root is the vault's dataset; its descendants go with it.
	Root zfs.Dataset
	// Target is the new dataset on the host; Root's descendants land under it.
	Target zfs.Dataset
	Options
	// Props returns the properties to set on the dataset at rel (zfs receive -o); nil for none.
	Props func(rel string) []zfs.PropSetting
}

// Result is what a restore did.
type Result struct {
	Plan     *Plan  // the first plan
	Sent     []Step // the steps run, in order
	Datasets int
	Streams  int
	Bytes    int64
	Duration time.Duration
}

// Send lists the vault's tree and the host's target, plans, and runs the plan. After a round
// that resumed cut receives, it lists and plans again: what a token resumed is known only once
// it is done. An error names the dataset and the side that failed.
func (s *Sender) Send(ctx context.Context, req Request) (*Result, error) {
	start := time.Now()
	vault, err := ListVault(ctx, s.Local, req.Root)
	if err != nil {
		return nil, err
	}
	res := &Result{Datasets: len(vault)}
	o := req.Options
	for round := 0; ; round++ {
		host, err := ListHost(ctx, s.Remote, req.Target)
		if err != nil {
			return res, err
		}
		plan, err := MakePlan(vault, host, o)
		if err != nil {
			return res, err
		}
		if res.Plan == nil {
			res.Plan = plan
		}
		o.Snap = plan.Snap
		o.Resume = true // from now on the target is ours
		resumed := false
		for _, st := range plan.Steps {
			n, err := s.step(ctx, req, st)
			res.Bytes += n
			res.Streams++
			res.Sent = append(res.Sent, st)
			if err != nil {
				res.Duration = time.Since(start)
				return res, fmt.Errorf("%s (%s): %w", join(req.Target, st.Rel), st.Kind, err)
			}
			resumed = resumed || st.Kind == Resume
		}
		if !resumed {
			break
		}
		if round > len(vault) {
			return res, errors.New("resume tokens are still left after resuming every dataset; look at `zfs get receive_resume_token` on the host")
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// step runs one zfs send | ssh zfs receive and returns the bytes sent.
func (s *Sender) step(ctx context.Context, req Request, st Step) (int64, error) {
	dst := join(req.Target, st.Rel)
	so, sendCmd, recvCmd, err := s.commands(req, st)
	if err != nil {
		return 0, err
	}
	// The host's token is the host's data, and the host may be hostile: it must resume a send
	// of this very dataset, checked as vault serve checks a client's (a forged guid would
	// otherwise send any snapshot of the vault's pool).
	if st.Kind == Resume {
		if err := s.verifyToken(ctx, req, st); err != nil {
			return 0, err
		}
	}
	// The estimate is for the progress display; a token is tried this way first, for a clear
	// message when the vault cannot serve it. Otherwise it costs a zfs command per stream.
	total := int64(-1)
	if s.Progress != nil || st.Kind == Resume {
		n, err := s.Local.SendSize(ctx, so)
		if err != nil && st.Kind == Resume {
			return 0, fmt.Errorf("the host's resume token cannot be sent from here (%w); "+
				"abort the cut receive on the host (zfs receive -A %s) and run again with --resume", err, dst)
		}
		if err == nil {
			total = n
		}
	}
	sp, err := s.LocalStart.Start(ctx, sendCmd)
	if err != nil {
		return 0, fmt.Errorf("cannot start the send: %w", err)
	}
	growPipe(sp.Stdout())
	var counter atomic.Int64
	in := &sendReader{r: sp.Stdout(), p: sp, n: &counter, ctx: ctx}
	if s.Limit > 0 {
		in.lim = rate.NewLimiter(rate.Limit(s.Limit), int(min(s.Limit, 1<<20)))
	}
	recvCmd.Stdin = in
	// The receive is not tied to ctx: cancelled, the send ends, its input ends, and a resumable
	// receive keeps what arrived.
	rp, err := s.RemoteStart.Start(context.WithoutCancel(ctx), recvCmd)
	if err != nil {
		_ = sp.Abort()
		return 0, fmt.Errorf("cannot start the receive on the host: %w", err)
	}
	stop := func() {}
	if s.Progress != nil {
		stop = s.Progress(fmt.Sprintf("%s %s", dst, st.Kind), total, &counter)
	}
	rerr := rp.Wait()
	stop()
	var serr error
	if in.waited.Load() {
		serr = in.err
	} else {
		// The receive ended before its input did: it failed, and the send waits on a full pipe.
		serr = sp.Abort()
	}
	s.log().Debug("restore step", "dataset", dst, "kind", st.Kind, "bytes", counter.Load(), "send", serr, "receive", rerr)
	switch {
	case serr != nil && in.waited.Load():
		return counter.Load(), fmt.Errorf("send failed: %w", serr)
	case rerr != nil:
		return counter.Load(), fmt.Errorf("receive on the host failed: %w", rerr)
	case ctx.Err() != nil:
		return counter.Load(), context.Cause(ctx)
	}
	return counter.Load(), nil
}

// verifyToken checks that st's token resumes a send of the vault's dataset st is for, and of
// nothing else.
func (s *Sender) verifyToken(ctx context.Context, req Request, st Step) error {
	src, dst := join(req.Root, st.Rel), join(req.Target, st.Rel)
	bin := s.Local.Bin
	if bin == "" {
		bin = serve.DefaultZFS
	}
	g := &serve.Gate{Allow: []zfs.Dataset{src}, ZFS: bin, Exec: s.Local.Exec, Log: s.Log}
	if _, err := g.VerifyResumeToken(ctx, st.Token); err != nil {
		why := err.Error()
		var re *serve.RefusedError
		if errors.As(err, &re) && re.Detail != "" {
			why = re.Detail
		}
		return fmt.Errorf("the host's resume token for %s does not resume a send of %s (%s): abort the cut receive on the host (zfs receive -A %s) and run again with --resume", dst, src, why, dst)
	}
	return nil
}

// commands builds the send and the receive of st.
func (s *Sender) commands(req Request, st Step) (zfs.SendOptions, zfs.Cmd, zfs.Cmd, error) {
	src, dst := join(req.Root, st.Rel), join(req.Target, st.Rel)
	so := zfs.SendOptions{Token: st.Token}
	if st.Kind != Resume {
		var err error
		if so.Snapshot, err = src.Snapshot(st.To); err != nil {
			return so, zfs.Cmd{}, zfs.Cmd{}, err
		}
		if st.Kind == Incremental {
			if so.FromSnapshot, err = src.Snapshot(st.From); err != nil {
				return so, zfs.Cmd{}, zfs.Cmd{}, err
			}
			so.Intermediates = st.Intermediates
		}
		so.Raw = st.Raw
	}
	sendCmd, err := s.Local.SendCmd(so)
	if err != nil {
		return so, zfs.Cmd{}, zfs.Cmd{}, err
	}
	ro := zfs.ReceiveOptions{Target: dst}
	if req.Props != nil && st.Kind != Incremental {
		ro.Set = req.Props(st.Rel)
	}
	recvCmd, err := s.Remote.ReceiveCmd(ro)
	return so, sendCmd, recvCmd, err
}

func (s *Sender) log() hclog.Logger {
	if s.Log == nil {
		return hclog.NewNullLogger()
	}
	return s.Log
}

// sendReader is the receive's input: the send's output, counted and rate-limited. At the end of
// the stream it waits for the send, so that a send that failed ends the input with an error (and
// the receive is killed) rather than with EOF, which a receive could take for a complete stream.
type sendReader struct {
	ctx    context.Context
	r      io.Reader
	p      zfs.Process
	n      *atomic.Int64
	lim    *rate.Limiter
	waited atomic.Bool
	err    error // the send's, once waited
}

func (r *sendReader) Read(b []byte) (int, error) {
	if r.lim != nil && len(b) > r.lim.Burst() {
		b = b[:r.lim.Burst()]
	}
	n, err := r.r.Read(b)
	if n > 0 {
		r.n.Add(int64(n))
		if r.lim != nil {
			if werr := r.lim.WaitN(r.ctx, n); werr != nil {
				return n, werr
			}
		}
	}
	if err == io.EOF {
		r.err = r.p.Wait()
		r.waited.Store(true)
		if r.err != nil {
			return n, r.err
		}
	}
	return n, err
}

// join names the dataset at rel under root.
func join(root zfs.Dataset, rel string) zfs.Dataset {
	if rel == "" {
		return root
	}
	d, err := zfs.ParseDataset(root.String() + "/" + rel)
	if err != nil {
		return root // rel comes from a listing under root: cannot happen
	}
	return d
}

// ListVault lists root and its descendants on the vault, with their snapshots oldest first.
func ListVault(ctx context.Context, z *zfs.ZFS, root zfs.Dataset) ([]VaultDataset, error) {
	cols := []zfs.Column{zfs.ColName, zfs.ColGUID, zfs.ColCreateTXG, zfs.ColEncryption}
	es, err := z.List(ctx, []zfs.Dataset{root}, true, []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume, zfs.TypeSnapshot}, cols)
	if err != nil {
		if zfs.IsNotExist(err) {
			return nil, fmt.Errorf("the vault holds no dataset %s", root)
		}
		return nil, fmt.Errorf("cannot list the vault's %s: %w", root, err)
	}
	tree, err := group(es, root)
	if err != nil {
		return nil, fmt.Errorf("the vault's listing of %s: %w", root, err)
	}
	var out []VaultDataset
	for rel, d := range tree {
		out = append(out, VaultDataset{Rel: rel, Encrypted: d.enc != "" && d.enc != "off", Snapshots: d.snaps})
	}
	slices.SortFunc(out, func(a, b VaultDataset) int { return compareRel(a.Rel, b.Rel) })
	return out, nil
}

// ListHost lists target and its descendants on the host, with their snapshots oldest first and
// their resume tokens. A target that does not exist is an empty map, if its parent exists.
func ListHost(ctx context.Context, z *zfs.ZFS, target zfs.Dataset) (map[string]HostDataset, error) {
	cols := []zfs.Column{zfs.ColName, zfs.ColGUID, zfs.ColCreateTXG, zfs.ColReceiveResumeToken}
	es, err := z.List(ctx, []zfs.Dataset{target}, true, []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume, zfs.TypeSnapshot}, cols)
	if zfs.IsNotExist(err) {
		parent, _ := target.Parent()
		_, perr := z.List(ctx, []zfs.Dataset{parent}, false, []zfs.Type{zfs.TypeFilesystem}, []zfs.Column{zfs.ColName})
		if zfs.IsNotExist(perr) {
			return nil, fmt.Errorf("%s does not exist on the host: create it there (with the restore user's zfs allow) first, or restore elsewhere", parent)
		}
		if perr != nil {
			return nil, fmt.Errorf("cannot list %s on the host: %w", parent, perr)
		}
		return map[string]HostDataset{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list %s on the host: %w", target, err)
	}
	tree, err := group(es, target)
	if err != nil {
		return nil, fmt.Errorf("the host's listing of %s: %w", target, err)
	}
	out := map[string]HostDataset{}
	for rel, d := range tree {
		out[rel] = HostDataset{Snapshots: d.snaps, Token: d.token}
	}
	return out, nil
}

type listed struct {
	enc, token string
	snaps      []Snap
	txgs       []uint64
}

// group sorts a listing of root's tree into datasets by their path relative to root.
func group(es []zfs.Entry, root zfs.Dataset) (map[string]*listed, error) {
	tree := map[string]*listed{}
	rel := func(d zfs.Dataset) (string, error) {
		if d == root {
			return "", nil
		}
		r, ok := d.RelativeTo(root)
		if !ok {
			return "", fmt.Errorf("%s is not under %s", d, root)
		}
		return r, nil
	}
	for _, e := range es {
		if d, ok := e.Dataset(); ok {
			r, err := rel(d)
			if err != nil {
				return nil, err
			}
			tree[r] = &listed{enc: e.Encryption, token: e.ResumeToken}
		}
	}
	for _, e := range es {
		sn, ok := e.Snapshot()
		if !ok {
			continue
		}
		r, err := rel(sn.Dataset())
		if err != nil {
			return nil, err
		}
		d := tree[r]
		if d == nil {
			return nil, fmt.Errorf("snapshot %s of a dataset not listed", sn)
		}
		d.snaps = append(d.snaps, Snap{Short: sn.Short(), GUID: e.GUID})
		d.txgs = append(d.txgs, e.CreateTXG)
	}
	for _, d := range tree {
		idx := make([]int, len(d.snaps))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(d.txgs[a], d.txgs[b]) })
		sorted := make([]Snap, len(idx))
		for i, j := range idx {
			sorted[i] = d.snaps[j]
		}
		d.snaps = sorted
	}
	if _, ok := tree[""]; !ok && len(tree) > 0 {
		return nil, fmt.Errorf("%s itself is not listed", root)
	}
	return tree, nil
}
