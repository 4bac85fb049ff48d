package puller

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/belltech/vault/zfs"
)

// TargetPermissions is the delegation the unprivileged user needs on a job's target, as
// measured in the lab (TestLabDaemonMinimalDelegation, OpenZFS 2.3): receive, create and mount
// are each checked by every receive (full, incremental, resumed); hold and release move the
// base's hold; destroy prunes and aborts an unusable resume token (zfs receive -A). Properties
// a first receive sets are added per job.
var TargetPermissions = []string{"create", "destroy", "hold", "mount", "receive", "release"}

// JobPermissions is TargetPermissions plus the properties job's first receives set (-o): a
// delegated receive without the grant prints an error and exits 0, leaving the property unset.
// The properties a receive excludes (-x) need no grant: vault's streams carry no properties
// (no -p, no -R), so without the grant zfs receive complains on stderr but receives exactly the
// same dataset (measured in the lab).
func JobPermissions(job *Job) []string {
	return JobDelegation(job, false, false).Puller
}

// BootstrapReport is what vault bootstrap did for one job.
type BootstrapReport struct {
	Job           string
	Target        zfs.Dataset
	CreatedTarget bool
	// Delegated lists the permissions granted now; empty when they were all there already.
	Delegated []string
	// Revoked lists what was taken away from the pulling user now.
	Revoked []string
	// QuotaSet is the quota set on the target now (bytes), 0 when it was right already or
	// the job has none.
	QuotaSet int64
	// Pull is the first receives of the datasets that had none; nil for media jobs.
	Pull *Report
	Err  error
}

// Changed reports whether the bootstrap changed anything.
func (b *BootstrapReport) Changed() bool {
	if b.CreatedTarget || len(b.Delegated) > 0 || len(b.Revoked) > 0 || b.QuotaSet > 0 {
		return true
	}
	if b.Pull != nil {
		for _, d := range b.Pull.Datasets {
			if d.Outcome == OK {
				return true
			}
		}
	}
	return false
}

// Bootstrap is BootstrapAs with the legacy delegation: one user that pulls and prunes.
func (p *Puller) Bootstrap(ctx context.Context, job *Job, user string, pull bool) *BootstrapReport {
	return p.BootstrapAs(ctx, job, Users{Puller: user}, JobDelegation(job, false, false), pull)
}

// Users are the identities a job's target is delegated to.
type Users struct {
	Puller string
	Pruner string // "" in the legacy mode (Delegation.Pruner nil)
}

// BootstrapAs is the root phase for one job: create the target if missing, grant and then
// verify the delegation d (the puller's and, when separate, the pruner's), take away from the
// puller what it must not hold and verify that too, and run the first full receive of every
// dataset that has none. It is idempotent: a second run changes nothing and says so. pull is
// false for media jobs, whose streams arrive with vault import.
func (p *Puller) BootstrapAs(ctx context.Context, job *Job, users Users, d Delegation, pull bool) *BootstrapReport {
	b := &BootstrapReport{Job: job.Name, Target: job.TargetRoot}
	_, err := p.Target.ZFS.List(ctx, []zfs.Dataset{job.TargetRoot}, false, datasetTypes, []zfs.Column{zfs.ColName})
	switch {
	case zfs.IsNotExist(err):
		if err := p.Target.ZFS.CreateAll(ctx, job.TargetRoot, map[string]string{"canmount": "noauto"}); err != nil {
			b.Err = err
			return b
		}
		b.CreatedTarget = true
	case err != nil:
		b.Err = err
		return b
	}
	granted, err := p.grant(ctx, users.Puller, d.Puller, job.TargetRoot)
	b.Delegated = granted
	if err != nil {
		b.Err = err
		return b
	}
	if d.Pruner != nil {
		if users.Pruner == "" {
			b.Err = fmt.Errorf("job %s: a prune delegation without a prune user", job.Name)
			return b
		}
		granted, err := p.grant(ctx, users.Pruner, d.Pruner, job.TargetRoot)
		for _, g := range granted {
			b.Delegated = append(b.Delegated, g+" ("+users.Pruner+")")
		}
		if err != nil {
			b.Err = err
			return b
		}
	}
	if b.Revoked, err = p.revoke(ctx, users.Puller, d.Forbidden, job.TargetRoot); err != nil {
		b.Err = err
		return b
	}
	if job.Quota > 0 {
		set, err := p.ensureQuota(ctx, job)
		if err != nil {
			b.Err = err
			return b
		}
		b.QuotaSet = set
	}
	if pull {
		b.Pull = p.Pull(ctx, job, Options{OnlyNew: true})
	}
	return b
}

// ensureQuota sets the job's quota on its target unless it is set already, and reads it back.
// It returns the quota it set, 0 when there was nothing to do. A job without a quota leaves
// the target's quota as it is (an operator may have set one by hand).
func (p *Puller) ensureQuota(ctx context.Context, job *Job) (int64, error) {
	read := func() (string, error) {
		props, err := p.Target.ZFS.Get(ctx, []string{"quota"}, job.TargetRoot)
		if err != nil {
			return "", fmt.Errorf("cannot read the quota of %q: %w", job.TargetRoot, err)
		}
		for _, pr := range props {
			if pr.Property == "quota" {
				return pr.Value, nil
			}
		}
		return "", fmt.Errorf("cannot read the quota of %q: zfs get printed no quota", job.TargetRoot)
	}
	want := strconv.FormatInt(job.Quota, 10)
	got, err := read()
	if err != nil || got == want {
		return 0, err
	}
	if err := p.Target.ZFS.Set(ctx, job.TargetRoot, "quota", want); err != nil {
		return 0, fmt.Errorf("cannot set quota=%s on %q: %w", want, job.TargetRoot, err)
	}
	if got, err = read(); err != nil {
		return 0, err
	}
	if got != want {
		return 0, fmt.Errorf("quota on %q is %s after zfs set quota=%s; set it by hand and check the pool", job.TargetRoot, got, want)
	}
	return job.Quota, nil
}

// grant delegates what user lacks of want on target, and reads it back.
func (p *Puller) grant(ctx context.Context, user string, want []string, target zfs.Dataset) ([]string, error) {
	have, err := p.Target.ZFS.Delegated(ctx, user, target)
	if err != nil {
		return nil, fmt.Errorf("cannot read the delegation on %q: %w", target, err)
	}
	missing := have.Missing(want)
	if len(missing) == 0 {
		return nil, nil
	}
	if err := p.Target.ZFS.Allow(ctx, user, missing, target); err != nil {
		return nil, err
	}
	if have, err = p.Target.ZFS.Delegated(ctx, user, target); err != nil {
		return missing, fmt.Errorf("cannot read back the delegation on %q: %w", target, err)
	}
	if still := have.Missing(want); len(still) > 0 {
		return missing, fmt.Errorf("zfs allow on %q did not take: %s still missing for %s", target, strings.Join(still, ","), user)
	}
	return missing, nil
}

// revoke takes forbidden away from user on target and verifies that user holds none of it
// there, from anywhere: a grant on an ancestor cannot be taken away below it, so bootstrap
// fails naming it and the command that removes it.
func (p *Puller) revoke(ctx context.Context, user string, forbidden []string, target zfs.Dataset) ([]string, error) {
	if len(forbidden) == 0 {
		return nil, nil
	}
	have, err := p.Target.ZFS.Delegated(ctx, user, target)
	if err != nil {
		return nil, fmt.Errorf("cannot read the delegation on %q: %w", target, err)
	}
	var here []string
	for _, perm := range have.Held(forbidden) {
		if slices.Contains(have.From[perm], target) {
			here = append(here, perm)
		}
	}
	if len(here) > 0 {
		if err := p.Target.ZFS.Unallow(ctx, user, here, target); err != nil {
			return nil, err
		}
		if have, err = p.Target.ZFS.Delegated(ctx, user, target); err != nil {
			return here, fmt.Errorf("cannot read back the delegation on %q: %w", target, err)
		}
	}
	if held := have.Held(forbidden); len(held) > 0 {
		perm := held[0]
		if from := have.From[perm]; len(from) > 0 {
			return here, fmt.Errorf("%s holds %s on %s through %s, and the process that talks to the network must not: remove it there (zfs unallow -u %s %s %s)",
				user, perm, target, from[0], user, perm, from[0])
		}
		return here, fmt.Errorf("%s still holds %s on %s after zfs unallow", user, perm, target)
	}
	return here, nil
}
