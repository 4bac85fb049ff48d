// Package operate is the vault's application layer: what the commands and the daemon do with
// the domain packages, wired once. A pull (puller, sshx, zfs), the record of a run (state,
// the anomaly tripwire, the ledger check, the journal, the Prometheus textfile), a prune job
// (prune, ledger) and the admission of an import (sneakernet's manifest against the
// configuration). cmd/vault keeps the flags, the configuration's loading, the printing and the
// exit codes; no domain package imports this one.
package operate

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/sshx"
	"github.com/belltech/vault/zfs"
)

// SourceZFS is the zfs path sent to source hosts; vault serve there replaces it with its own.
const SourceZFS = "/sbin/zfs"

// PullerJob translates a configured job into what the puller runs. The configuration has been
// validated, so a name that does not parse here is a bug, reported as an error all the same.
func PullerJob(c *conf.Config, j *conf.Job) (*puller.Job, error) {
	pj := &puller.Job{Name: j.Name, Recursive: j.Recursive, BandwidthLimit: int64(j.BandwidthLimit), Location: j.Location,
		HoldPrefix: c.HoldPrefix, MaxNewSnapshots: j.MaxNewSnapshots, Quota: int64(j.Quota)}
	if j.Source != nil { // a media job has no source host
		pj.Host = j.Source.Host
	}
	var err error
	for _, s := range j.SourceDatasets {
		d, perr := zfs.ParseDataset(s)
		err = firstError(err, perr)
		pj.Roots = append(pj.Roots, d)
	}
	for _, s := range j.Exclude {
		d, perr := zfs.ParseDataset(s)
		err = firstError(err, perr)
		pj.Exclude = append(pj.Exclude, d)
	}
	pj.TargetRoot, err = parseDatasetOr(err, j.Target)
	pj.TargetFor = func(src zfs.Dataset) (zfs.Dataset, bool) {
		t, ok := j.TargetFor(src.String())
		if !ok {
			return zfs.Dataset{}, false
		}
		d, err := zfs.ParseDataset(t)
		return d, err == nil
	}
	for _, kv := range j.Receive.Set {
		k, v, _ := strings.Cut(kv, "=")
		pj.ReceiveSet = append(pj.ReceiveSet, zfs.PropSetting{Name: k, Value: v})
	}
	pj.ReceiveExclude = j.Receive.Exclude
	if j.SnapshotOnPull != nil {
		ttl, perr := policy.ParseTTL(j.SnapshotOnPull.TTL.String())
		err = firstError(err, perr)
		pj.SnapshotTTL = &ttl
	}
	if err != nil {
		return nil, fmt.Errorf("job %q: %w", j.Name, err)
	}
	return pj, nil
}

func parseDatasetOr(prev error, s string) (zfs.Dataset, error) {
	d, err := zfs.ParseDataset(s)
	return d, firstError(prev, err)
}

func firstError(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// DialSource opens the one SSH connection a job's run uses.
func DialSource(ctx context.Context, c *conf.Config, j *conf.Job, log hclog.Logger) (*sshx.Client, error) {
	return sshx.Dial(ctx, sshx.Config{
		User: j.Source.User, Host: j.Source.Host, Port: j.Source.Port,
		IdentityFile: c.SSH.Identity, KnownHostsFile: c.SSH.KnownHosts,
		ConnectTimeout: c.SSH.ConnectTimeout, IOTimeout: c.SSH.IOTimeout, Keepalive: c.SSH.Keepalive,
		Log: log.Named("ssh"),
	})
}
