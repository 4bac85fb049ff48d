package puller

import (
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
		{"legacy, before 2.4", &Job{}, false, false, "create,destroy,hold,mount,receive,release", "", ""},
		{"legacy on 2.4: still append-only receive, destroy for prune", &Job{}, true, false, "create,destroy,hold,mount,receive:append,release", "", ""},
		{"separate pruner before 2.4: receive still implies -F", &Job{}, false, true, "create,hold,mount,receive,release", "destroy,mount", "destroy,promote,rename,rollback"},
		{"append-only: 2.4 with a pruner", &Job{}, true, true, "create,hold,mount,receive:append,release", "destroy,mount", "destroy,promote,receive,rename,rollback"},
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
