package operate

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/sshx"
	"github.com/belltech/vault/zfs"
)

// Wiring is what a job's run is connected to besides its configuration. The one wiring of a
// pull: vault pull, the daemon's scheduled pulls, vault bootstrap and vault resolve use it.
type Wiring struct {
	Log hclog.Logger
	// Progress, if set, shows each stream's progress (the command's bar on a terminal).
	Progress puller.ProgressFunc
	// Transfers, if set, follows the streams in progress (the daemon's, for vault status --watch).
	Transfers puller.TransferSink
	// Abort, if set, aborts a target's interrupted receive for the puller (the prune worker
	// holds the right to, with prune_user).
	Abort func(job string, ds zfs.Dataset) error
	// AllowNew, if set, gives the puller a job's one-off allowances (vault ack of a refused flood).
	AllowNew func(job string) func(zfs.Dataset) int
}

// Pull connects to the job's source and runs one pull of it.
func (w Wiring) Pull(ctx context.Context, c *conf.Config, j *conf.Job, o puller.Options) *puller.Report {
	pj, err := PullerJob(c, j)
	if err != nil {
		return &puller.Report{Job: j.Name, Err: err}
	}
	if w.AllowNew != nil {
		pj.AllowNew = w.AllowNew(j.Name)
	}
	client, err := DialSource(ctx, c, j, w.Log)
	if err != nil {
		return &puller.Report{Job: j.Name, Err: err}
	}
	defer client.Close()
	p := w.puller(c)
	w.connect(p, client)
	p.Transfers = w.Transfers
	if w.Abort != nil {
		p.Abort = func(_ context.Context, ds zfs.Dataset) error { return w.Abort(j.Name, ds) }
	}
	return p.Pull(ctx, pj, o)
}

// Bootstrap is the root phase of a job: its target created, delegated and verified, and (for
// an SSH job) the first full receive of every dataset that has no copy yet.
func (w Wiring) Bootstrap(ctx context.Context, c *conf.Config, j *conf.Job) *puller.BootstrapReport {
	pj, err := PullerJob(c, j)
	if err != nil {
		return &puller.BootstrapReport{Job: j.Name, Err: err}
	}
	p := w.puller(c)
	users, deleg, err := JobDelegation(ctx, c, pj, p.Target.ZFS)
	if err != nil {
		return &puller.BootstrapReport{Job: j.Name, Target: pj.TargetRoot, Err: err}
	}
	if j.IsMedia() {
		return p.BootstrapAs(ctx, pj, users, deleg, false)
	}
	client, err := DialSource(ctx, c, j, w.Log)
	if err != nil {
		return &puller.BootstrapReport{Job: j.Name, Target: pj.TargetRoot, Err: err}
	}
	defer client.Close()
	w.connect(p, client)
	return p.BootstrapAs(ctx, pj, users, deleg, true)
}

// puller is a puller with the vault's pool as its target, and no source yet.
func (w Wiring) puller(c *conf.Config) *puller.Puller {
	local := &zfs.Local{Log: w.Log.Named("zfs")}
	return &puller.Puller{Target: puller.Side{ZFS: &zfs.ZFS{Bin: c.ZFSBinary, Exec: local}, Starter: local}, Log: w.Log.Named("puller")}
}

// connect gives p the source at the other end of client, and the progress bars.
func (w Wiring) connect(p *puller.Puller, client *sshx.Client) {
	p.Source = puller.Side{ZFS: &zfs.ZFS{Bin: SourceZFS, Exec: client}, Starter: client}
	p.Progress = w.Progress
}

// JobDelegation is who holds what on the job's target: with prune_user, the puller holds no
// destroy and, where the kernel has it (OpenZFS 2.4), receive:append instead of receive; without
// it, the legacy set (one user that pulls and prunes).
func JobDelegation(ctx context.Context, c *conf.Config, pj *puller.Job, z *zfs.ZFS) (puller.Users, puller.Delegation, error) {
	users := puller.Users{Puller: c.User, Pruner: c.PruneUser}
	if c.PruneUser == "" {
		return users, puller.JobDelegation(pj, false, false), nil
	}
	v, err := z.Version(ctx)
	if err != nil {
		return users, puller.Delegation{}, fmt.Errorf("cannot tell which delegation this OpenZFS allows: %w", err)
	}
	return users, puller.JobDelegation(pj, v.Kernel.AppendOnlyReceive(), true), nil
}
