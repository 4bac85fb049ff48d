package puller

import (
	"fmt"

	"github.com/belltech/vault/zfs"
)

// Protection is how far the vault's history is out of reach of the process that talks to the
// network, as the running OpenZFS and the configuration make it. Bootstrap grants the matching
// delegation (JobDelegation) and reads it back; this names the outcome for an operator.
type Protection int

const (
	// ProtectionUnknown: the OpenZFS version could not be read.
	ProtectionUnknown Protection = iota
	// ProtectionNone: no prune_user, so the pulling user holds destroy.
	ProtectionNone
	// ProtectionDetected: the pulling user holds no destroy, but receive implies -F (OpenZFS
	// before 2.4), which can roll history back; the ledger check detects it (CRIT), it cannot
	// prevent it.
	ProtectionDetected
	// ProtectionAppendOnly: OpenZFS 2.4 or later with prune_user: the pulling user holds
	// receive:append and nothing that destroys; the kernel refuses it every -F.
	ProtectionAppendOnly
)

// ProtectionOf gives the protection of a vault whose kernel module is kernel (nil: unknown) and
// that does (separatePruner) or does not have a prune_user.
func ProtectionOf(kernel *zfs.Version, separatePruner bool) Protection {
	switch {
	case !separatePruner:
		return ProtectionNone
	case kernel == nil:
		return ProtectionUnknown
	case kernel.AppendOnlyReceive():
		return ProtectionAppendOnly
	default:
		return ProtectionDetected
	}
}

// String is the level's name, as status --json and the README write it.
func (p Protection) String() string {
	switch p {
	case ProtectionNone:
		return "none"
	case ProtectionDetected:
		return "receive-implies-rollback"
	case ProtectionAppendOnly:
		return "append-only"
	default:
		return "unknown"
	}
}

// Explain says in one line what the level means on OpenZFS version (empty: unknown) and, when
// the operator can raise it, how.
func (p Protection) Explain(version string) string {
	on := "OpenZFS " + version
	if version == "" {
		on = "OpenZFS version unknown"
	}
	switch p {
	case ProtectionNone:
		return fmt.Sprintf("none (%s): the pulling user holds destroy; set prune_user", on)
	case ProtectionDetected:
		return fmt.Sprintf("receive-implies-rollback (%s): no destroy, but receive can roll back: detected, not prevented", on)
	case ProtectionAppendOnly:
		return fmt.Sprintf("append-only (%s): the pulling user cannot destroy or force a receive", on)
	default:
		return fmt.Sprintf("unknown (%s): cannot tell whether receive can roll back", on)
	}
}
