package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/privdrop"
	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/prunework"
	"github.com/belltech/vault/zfs"
)

func init() {
	register(command{name: "prune-worker", summary: "internal: the prune identity, started by vault daemon and vault prune as root; not run by hand", run: runPruneWorker})
}

// runPruneWorker is the process that destroys (issue 14): started as root by the daemon's root
// phase in a new network namespace (privdrop.IsolatedAttr), it reads the configuration while it
// is root, drops to prune_user for good, proves it cannot reach the network, and then answers
// the requests of package prunework on stdin, one line each, on stdout. Its rules, targets and
// clock are its own; a request chooses the job and may only add reasons to keep.
func runPruneWorker(ctx context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "prune-worker", "usage: vault prune-worker [-c FILE]",
		"\nStarted by vault daemon and vault prune as root; answers their requests on stdin.")
	path := fs.String("c", conf.DefaultPath(), "the configuration `FILE`")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	c, err := loadConfig(*path)
	if err != nil {
		return err
	}
	if c.PruneUser == "" {
		return usageErrorf("no prune_user in %s: the prune worker runs only as an identity of its own", *path)
	}
	u, err := privdrop.Lookup(c.PruneUser)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("prune_user (in %s): %w", *path, err)}
	}
	parent := os.Getppid()
	switch os.Geteuid() {
	case 0:
		privdrop.MustDrop(u)
		if err := privdrop.ArmParentDeath(parent); err != nil {
			return fmt.Errorf("the prune worker: %w", err)
		}
	case u.UID:
	default:
		return usageErrorf("the prune worker runs as root (it drops to %s) or as %s, not as uid %d", u.Name, u.Name, os.Geteuid())
	}
	if err := privdrop.CheckNoNetwork(); err != nil {
		if !errors.Is(err, privdrop.ErrNoNetNS) {
			return fmt.Errorf("the prune worker must not reach the network: %w", err)
		}
		fmt.Fprintf(s.err, "vault prune-worker: %v; on FreeBSD, block the user in pf (see the README)\n", err)
	}
	log := consoleLogger(s, false)
	w := &worker{c: c, ex: &prune.Executor{ZFS: &zfs.ZFS{Bin: c.ZFSBinary, Exec: &zfs.Local{Log: log.Named("zfs")}}, Log: log.Named("prune")}}
	sc := bufio.NewScanner(s.in)
	sc.Buffer(make([]byte, 64<<10), prunework.MaxLine)
	enc := json.NewEncoder(s.out)
	for sc.Scan() {
		if err := enc.Encode(w.handle(ctx, sc.Bytes())); err != nil {
			return err
		}
	}
	return sc.Err()
}

type worker struct {
	c  *conf.Config
	ex *prune.Executor
}

func (w *worker) handle(ctx context.Context, line []byte) prunework.Response {
	req, err := prunework.DecodeRequest(line)
	if err != nil {
		return prunework.Response{Error: err.Error()}
	}
	resp := prunework.Response{Job: req.Job}
	j, ok := w.c.Job(req.Job)
	if !ok {
		resp.Error = fmt.Sprintf("no job named %q in the configuration the prune worker started with; restart the daemon to prune a job added since", req.Job)
		return resp
	}
	root, err := zfs.ParseDataset(j.Target)
	if err != nil {
		resp.Error = err.Error()
		return resp
	}
	switch req.Op {
	case prunework.OpAbort:
		target, _ := zfs.ParseDataset(req.Target) // checked by DecodeRequest
		if target != root && !root.IsAncestorOf(target) {
			resp.Error = fmt.Sprintf("%s is not in job %s's target %s", target, j.Name, root)
		} else if err := w.ex.ZFS.AbortReceive(ctx, target); err != nil {
			resp.Error = err.Error()
		}
		return resp
	default:
		rules, err := prune.RulesFromConf(j.Prune, j.Location)
		if err != nil {
			resp.Error = fmt.Sprintf("job %q: %v", j.Name, err)
			return resp
		}
		// Acknowledged liars come from root's ack directory, never from the request.
		g := req.Guard(root)
		if g.AckedLies, err = prunework.LoadAcks(prunework.AckDir(w.c.StateDir), j.Name, root); err != nil {
			resp.Error = err.Error()
			return resp
		}
		results, err := w.ex.RunGuarded(ctx, root, rules, g, time.Now(), req.Dry)
		resp = prunework.FromResults(j.Name, results)
		if err != nil {
			resp.Error = err.Error()
		}
		return resp
	}
}

// pruneWorker is the daemon's (or the console's) end of a running worker.
type pruneWorker struct {
	mu  sync.Mutex
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

// startPruneWorker starts this binary as `vault prune-worker -c path`, as root, in a new network
// namespace; it must be called before the caller drops root. Its log goes to logw.
func startPruneWorker(path string, logw io.Writer) (*pruneWorker, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot start the prune worker: %w", err)
	}
	cmd := exec.Command(exe, "prune-worker", "-c", path)
	cmd.Env = []string{"PATH=/sbin:/bin:/usr/sbin:/usr/bin", "LANG=C"}
	cmd.Dir = "/"
	cmd.SysProcAttr = privdrop.IsolatedAttr()
	cmd.Stderr = logw
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start the prune worker: %w", err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), prunework.MaxLine)
	return &pruneWorker{cmd: cmd, in: in, out: sc}, nil
}

// do sends one request and reads its response.
func (w *pruneWorker) do(req prunework.Request) (prunework.Response, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	line, err := json.Marshal(req)
	if err != nil {
		return prunework.Response{}, err
	}
	if _, err := w.in.Write(append(line, '\n')); err != nil {
		return prunework.Response{}, fmt.Errorf("the prune worker is gone: %w", err)
	}
	if !w.out.Scan() {
		err := w.out.Err()
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return prunework.Response{}, fmt.Errorf("the prune worker is gone: %w", err)
	}
	var resp prunework.Response
	if err := json.Unmarshal(w.out.Bytes(), &resp); err != nil {
		return resp, fmt.Errorf("the prune worker answered what is not a response: %w", err)
	}
	return resp, nil
}

// Prune asks the worker to prune (or plan, dry) job, with the daemon's freezes.
func (w *pruneWorker) Prune(job string, dry bool, freezes map[zfs.Dataset]*prune.Freeze) ([]prune.Result, error) {
	req := prunework.Request{Op: prunework.OpPrune, Job: job, Dry: dry, Freezes: map[string]string{}}
	for ds, f := range freezes {
		req.Freezes[ds.String()] = f.Reason
	}
	resp, err := w.do(req)
	if err != nil {
		return nil, err
	}
	results := resp.PruneResults()
	if resp.Error != "" {
		return results, errors.New(resp.Error)
	}
	return results, nil
}

// Abort asks the worker to abort the partial receive into target (zfs receive -A).
func (w *pruneWorker) Abort(job string, target zfs.Dataset) error {
	resp, err := w.do(prunework.Request{Op: prunework.OpAbort, Job: job, Target: target.String()})
	if err == nil && resp.Error != "" {
		err = errors.New(resp.Error)
	}
	return err
}

// Close ends the worker: it exits at the end of its input.
func (w *pruneWorker) Close() error {
	w.in.Close()
	return w.cmd.Wait()
}
