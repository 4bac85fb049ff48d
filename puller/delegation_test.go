package puller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zfs"
)

func TestJobDelegation(t *testing.T) {
	props := &Job{ReceiveSet: []zfs.PropSetting{{Name: "canmount", Value: "noauto"}, {Name: "readonly", Value: "on"}, {Name: "com.example:client", Value: "x"}}}
	for _, tc := range []struct {
		name                 string
		job                  *Job
		appendOnly, separate bool
		puller, pruner, no   string
	}{
		{"legacy, before 2.4", &Job{}, false, false, "canmount,create,destroy,hold,mount,readonly,receive,release", "", ""},
		{"legacy on 2.4: still append-only receive, destroy for prune", &Job{}, true, false, "canmount,create,destroy,hold,mount,readonly,receive:append,release", "", ""},
		{"separate pruner before 2.4: receive still implies -F", &Job{}, false, true, "canmount,create,hold,mount,readonly,receive,release", "destroy,mount", "destroy,promote,rename,rollback"},
		{"append-only: 2.4 with a pruner", &Job{}, true, true, "canmount,create,hold,mount,readonly,receive:append,release", "destroy,mount", "destroy,promote,receive,rename,rollback"},
		{"the floor's -o need no permission where the job excludes them", &Job{ReceiveExclude: []string{"canmount", "readonly"}}, true, true, "create,hold,mount,receive:append,release", "destroy,mount", "destroy,promote,receive,rename,rollback"},
		{"the job's -o properties", props, true, true, "canmount,create,hold,mount,readonly,receive:append,release,userprop", "destroy,mount", "destroy,promote,receive,rename,rollback"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := JobDelegation(tc.job, tc.appendOnly, tc.separate)
			require.Equal(t, tc.puller, strings.Join(d.Puller, ","))
			require.Equal(t, tc.pruner, strings.Join(d.Pruner, ","))
			require.Equal(t, tc.no, strings.Join(d.Forbidden, ","))
			for _, p := range d.Forbidden {
				require.NotContains(t, d.Puller, p, "the puller is granted what it must not hold")
			}
		})
	}
}

// allowFake answers zfs allow from a table of grants (dataset -> "user perms" lines under
// Local+Descendent) and applies zfs unallow to it.
type allowFake struct {
	grants map[string]map[string][]string // dataset -> user -> perms
	ran    []string
}

func (f *allowFake) Run(_ context.Context, c zfs.Cmd) error {
	f.ran = append(f.ran, strings.Join(c.Argv[1:], " "))
	switch c.Argv[1] {
	case "allow":
		if len(c.Argv) == 3 {
			var b strings.Builder
			for ds, users := range f.grants {
				fmt.Fprintf(&b, "---- Permissions on %s ----\nLocal+Descendent permissions:\n", ds)
				for u, perms := range users {
					fmt.Fprintf(&b, "\tuser %s %s\n", u, strings.Join(perms, ","))
				}
			}
			_, err := c.Stdout.Write([]byte(b.String()))
			return err
		}
		ds, u := c.Argv[5], c.Argv[3]
		if f.grants[ds] == nil {
			f.grants[ds] = map[string][]string{}
		}
		f.grants[ds][u] = append(f.grants[ds][u], strings.Split(c.Argv[4], ",")...)
	case "unallow":
		ds, u := c.Argv[5], c.Argv[3]
		f.grants[ds][u] = slices.DeleteFunc(f.grants[ds][u], func(p string) bool { return slices.Contains(strings.Split(c.Argv[4], ","), p) })
	}
	return nil
}

func TestRevokeTakesAwayOrNamesTheAncestor(t *testing.T) {
	target, _ := zfs.ParseDataset("rust10/B/j")
	d := JobDelegation(&Job{}, true, true)

	// destroy granted on the target itself (a vault bootstrapped before prune_user): taken away.
	f := &allowFake{grants: map[string]map[string][]string{"rust10/B/j": {"backup": {"create", "destroy", "receive", "mount"}}}}
	p := &Puller{Target: Side{ZFS: &zfs.ZFS{Bin: "/sbin/zfs", Exec: f}}}
	_, err := p.grant(t.Context(), "backup", d.Puller, target)
	require.NoError(t, err)
	revoked, err := p.revoke(t.Context(), "backup", d.Forbidden, target)
	require.NoError(t, err)
	require.Equal(t, []string{"destroy", "receive"}, revoked)
	require.NotContains(t, f.grants["rust10/B/j"]["backup"], "destroy")
	require.Contains(t, f.grants["rust10/B/j"]["backup"], "receive:append")

	// destroy granted on an ancestor: cannot be taken away here; the error says where and how.
	f = &allowFake{grants: map[string]map[string][]string{"rust10/B": {"backup": {"destroy"}}, "rust10/B/j": {"backup": {"create"}}}}
	p = &Puller{Target: Side{ZFS: &zfs.ZFS{Bin: "/sbin/zfs", Exec: f}}}
	_, err = p.revoke(t.Context(), "backup", d.Forbidden, target)
	require.EqualError(t, err, "backup holds destroy on rust10/B/j through rust10/B, and the process that talks to the network must not: remove it there (zfs unallow -u backup destroy rust10/B)")

	// Nothing forbidden held: nothing run but the reading.
	f = &allowFake{grants: map[string]map[string][]string{"rust10/B/j": {"backup": {"create"}}}}
	p = &Puller{Target: Side{ZFS: &zfs.ZFS{Bin: "/sbin/zfs", Exec: f}}}
	revoked, err = p.revoke(t.Context(), "backup", d.Forbidden, target)
	require.NoError(t, err)
	require.Empty(t, revoked)
	require.Equal(t, []string{"allow rust10/B/j"}, f.ran)
}
