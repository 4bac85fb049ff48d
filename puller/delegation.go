package puller

import (
	"slices"
	"strings"

	"github.com/belltech/vault/zfs"
)

// PrunePermissions is what the prune identity holds on a job's target, measured on OpenZFS 2.4
// (lab/guest/measure-append): `zfs destroy` of a snapshot and `zfs receive -A` of a partial
// receive each need both; with destroy alone both are refused.
var PrunePermissions = []string{"destroy", "mount"}

// pullerForbidden is what the pulling identity must never hold on a target, on the dataset or
// through an ancestor: each destroys or rewrites history without a receive.
var pullerForbidden = []string{"destroy", "promote", "rename", "rollback"}

// Delegation is who may do what on one job's target.
type Delegation struct {
	// Puller is what the identity that talks to the network holds: a receive, create and
	// mount (each checked by every receive, full, incremental and resumed), hold and release
	// (the base's hold), and the properties the job's first receives set.
	Puller []string
	// Pruner is what the prune identity holds; nil in the legacy mode, where prune runs as
	// the puller, which then holds destroy too.
	Pruner []string
	// Forbidden is what the puller must not hold, read back after granting: bootstrap fails
	// naming where a forbidden permission comes from (an ancestor's grant cannot be taken
	// away on the target).
	Forbidden []string
}

// JobDelegation gives the delegation for job. appendOnly says the kernel has receive:append
// (OpenZFS 2.4 and later): the puller then holds it instead of receive, and -F is refused to it
// by the kernel whatever else it holds. Before 2.4, receive implies -F, which can destroy
// history: not preventable by delegation, only detected (the ledger check). separatePruner
// says a prune identity is configured; without one the puller keeps destroy (legacy).
func JobDelegation(job *Job, appendOnly, separatePruner bool) Delegation {
	recv := "receive"
	if appendOnly {
		recv = "receive:append"
	}
	d := Delegation{Puller: []string{"create", "hold", "mount", recv, "release"}}
	// The -o settings of every receive need each property's permission; -x needs none.
	fsSet, _ := ReceiveProps(job, zfs.TypeFilesystem)
	volSet, _ := ReceiveProps(job, zfs.TypeVolume)
	for _, s := range append(fsSet, volSet...) {
		p := s.Name
		if strings.Contains(p, ":") {
			p = "userprop"
		}
		if !slices.Contains(d.Puller, p) {
			d.Puller = append(d.Puller, p)
		}
	}
	if separatePruner {
		d.Pruner = slices.Clone(PrunePermissions)
		d.Forbidden = slices.Clone(pullerForbidden)
		if appendOnly {
			// Plain receive beside receive:append would bring -F back.
			d.Forbidden = append(d.Forbidden, "receive")
		}
	} else {
		d.Puller = append(d.Puller, "destroy")
	}
	slices.Sort(d.Puller)
	slices.Sort(d.Forbidden)
	return d
}
