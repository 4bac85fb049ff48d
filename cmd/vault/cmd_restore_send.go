package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/belltech/vault/bytefmt"
	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/operate"
	"github.com/belltech/vault/props"
	"github.com/belltech/vault/restore"
	"github.com/belltech/vault/sshx"
	"github.com/belltech/vault/zfs"
)

const restoreSendUsage = `       vault restore send [-c FILE] [--newest-only] [--resume] [--no-properties] [--limit RATE] [--zfs PATH] JOB DATASET[@SNAP] --to USER@HOST[:PORT]:POOL/PATH --identity FILE`

// restoreSendFlags are the options of vault restore send.
type restoreSendFlags struct {
	path, to, identity, limit, remoteZFS string
	newestOnly, resume, noProps          bool
}

func runRestoreSend(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "restore send", restoreUsage,
		"\nsend sends the vault's copy of DATASET and its children (a VM and its volumes) over SSH into\n"+
			"a new dataset POOL/PATH on the host, with zfs receive as USER there: the history up to SNAP\n"+
			"(default the newest), or SNAP alone with --newest-only. Encrypted datasets go raw. An existing\n"+
			"POOL/PATH is refused; --resume finishes a cut restore. The host key must be pinned in the\n"+
			"vault's known_hosts; the key is --identity alone, never the daemon's. Pulls stay pull-only:\n"+
			"this is an operator's action at the console.")
	var f restoreSendFlags
	fs.StringVar(&f.path, "c", conf.DefaultPath(), "the configuration `FILE`")
	fs.StringVar(&f.to, "to", "", "where to restore: `USER@HOST[:PORT]:POOL/PATH` (a new dataset)")
	fs.StringVar(&f.identity, "identity", "", "the private key `FILE` of the restore user on the host (not the daemon's)")
	fs.BoolVar(&f.newestOnly, "newest-only", false, "send SNAP alone as a full stream, not the history up to it")
	fs.BoolVar(&f.resume, "resume", false, "finish a cut restore: resume cut receives, skip what is complete")
	fs.BoolVar(&f.noProps, "no-properties", false, "do not set the properties the source had (recorded by the pulls)")
	fs.StringVar(&f.limit, "limit", "", "cap the stream at `RATE` bytes per second, e.g. 20MiB")
	fs.StringVar(&f.remoteZFS, "zfs", operate.SourceZFS, "the absolute `PATH` of zfs on the host")
	// Flags may follow JOB and DATASET, as the usage line puts --to and --identity.
	var pos []string
	for {
		if done, err := parseFlags(fs, args); done {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	if len(pos) != 2 || f.to == "" || f.identity == "" {
		return usageErrorf("restore send needs JOB, DATASET[@SNAP], --to and --identity\n%s", restoreSendUsage)
	}
	target, err := restore.ParseTarget(f.to)
	if err != nil {
		return usageErrorf("%v", err)
	}
	var limit int64
	if f.limit != "" {
		l, err := conf.ParseSize(f.limit)
		if err != nil || l == 0 {
			return usageErrorf("--limit %q: want a rate such as 20MiB (bytes per second)", f.limit)
		}
		limit = int64(l)
	}
	if !filepath.IsAbs(f.remoteZFS) {
		return usageErrorf("--zfs %q: want an absolute path, such as /sbin/zfs", f.remoteZFS)
	}
	c, err := loadConfig(f.path)
	if err != nil {
		return err
	}
	if err := checkRestoreIdentity(c, f.identity); err != nil {
		return err
	}
	req, err := restoreRequest(c, f, pos[0], pos[1], target)
	if err != nil {
		return err
	}
	return restoreSend(ctx, s, c, f, target, req, limit)
}

// restoreRequest resolves JOB DATASET[@SNAP] to the vault's dataset and the properties to set.
func restoreRequest(c *conf.Config, f restoreSendFlags, jobName, arg string, target restore.Target) (restore.Request, error) {
	dsArg, snap, _ := strings.Cut(arg, "@")
	if strings.Contains(arg, "@") && snap == "" {
		return restore.Request{}, usageErrorf("%q: no snapshot after @; name one, or leave out @ for the newest", arg)
	}
	probe := snap
	if probe == "" {
		probe = "newest" // vaultSnapshot wants a snapshot; only the dataset is kept
	}
	j, vs, err := vaultSnapshot(c, jobName, dsArg+"@"+probe)
	if err != nil {
		return restore.Request{}, err
	}
	req := restore.Request{Root: vs.Dataset(), Target: target.Dataset,
		Options: restore.Options{Snap: snap, NewestOnly: f.newestOnly, Resume: f.resume}}
	if f.noProps {
		return req, nil
	}
	store, err := openStateForConsole(c)
	if err != nil {
		return req, fmt.Errorf("cannot read the recorded properties: %w; --no-properties restores without them", err)
	}
	defer store.Close()
	kept, err := props.Load(store, j.Name)
	if err != nil {
		return req, fmt.Errorf("cannot read the recorded properties: %w; --no-properties restores without them", err)
	}
	src := ""
	if d, ok := sourceOf(j, req.Root); ok {
		src = d.String()
	}
	req.Props = func(rel string) []zfs.PropSetting {
		name := src
		if rel != "" {
			name += "/" + rel
		}
		d, err := zfs.ParseDataset(name)
		if err != nil || src == "" {
			return nil
		}
		set, _ := kept.Of(d)
		var out []zfs.PropSetting
		for _, k := range slices.Sorted(maps.Keys(set)) {
			out = append(out, zfs.PropSetting{Name: k, Value: set[k]})
		}
		return out
	}
	return req, nil
}

// checkRestoreIdentity refuses the daemon's key: a restore writes to a host, and the key a
// source trusts for pulls must stay pull-only.
func checkRestoreIdentity(c *conf.Config, identity string) error {
	fi, err := os.Stat(identity)
	if err != nil {
		return usageErrorf("--identity %q: %v", identity, err)
	}
	abs, _ := filepath.Abs(identity)
	daemon, _ := filepath.Abs(c.SSH.Identity)
	same := abs == daemon
	if di, err := os.Stat(c.SSH.Identity); err == nil && os.SameFile(fi, di) {
		same = true
	}
	if same {
		return usageErrorf("--identity %q is the daemon's key (ssh.identity): a restore uses a key of its own, "+
			"authorized for the restore user on the host only; make one with ssh-keygen -t ed25519 -f FILE", identity)
	}
	return nil
}

func restoreSend(ctx context.Context, s *stdio, c *conf.Config, f restoreSendFlags, target restore.Target, req restore.Request, limit int64) error {
	log := consoleLogger(s, false)
	sshx.TuneRuntime(1, s.getenv)
	client, err := sshx.Dial(ctx, sshx.Config{
		User: target.User, Host: target.Host, Port: target.Port,
		IdentityFile: f.identity, KnownHostsFile: c.SSH.KnownHosts,
		ConnectTimeout: c.SSH.ConnectTimeout, IOTimeout: c.SSH.IOTimeout, Keepalive: c.SSH.Keepalive,
		Log: log.Named("ssh"),
	})
	if err != nil {
		return fmt.Errorf("cannot connect to %s: %w", target, err)
	}
	defer client.Close()
	local := &zfs.Local{Log: log.Named("zfs")}
	snd := &restore.Sender{
		Local: &zfs.ZFS{Bin: c.ZFSBinary, Exec: local}, LocalStart: local,
		Remote: &zfs.ZFS{Bin: f.remoteZFS, Exec: client}, RemoteStart: client,
		Log: log.Named("restore"), Limit: limit,
	}
	snd.Progress = progressTo(s, isTerminal(s, s.err))
	res, err := snd.Send(ctx, req)
	if res != nil {
		for _, st := range res.Sent {
			fmt.Fprintf(s.out, "%s %s\n", target.Dataset, st)
		}
	}
	if errors.Is(err, restore.ErrExists) {
		return usageErrorf("%s exists on %s; restore beside it under a new name, or --resume to finish a cut restore", target.Dataset, target.Host)
	}
	var conflict *restore.Conflict
	if errors.As(err, &conflict) {
		return usageErrorf("%s: %v", target.Dataset, err)
	}
	if err != nil {
		return fmt.Errorf("restore of %s to %s failed: %w; run again with --resume to finish it", req.Root, target, err)
	}
	fmt.Fprintf(s.out, "restored %s@%s to %s: %d datasets, %d streams, %s in %s (%s/s)\n",
		req.Root, res.Plan.Snap, target, res.Datasets, res.Streams, bytefmt.IEC(res.Bytes),
		res.Duration.Round(time.Second), bytefmt.IEC(int64(float64(res.Bytes)/max(res.Duration.Seconds(), 0.001))))
	return nil
}
