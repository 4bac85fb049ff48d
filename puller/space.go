package puller

// Space before sending (#16): every step is sized with `zfs send -n -P` on the source and
// compared with what the vault can take where it lands; a stream that cannot fit is not
// started, so it never leaves a partial receive holding space, and the job's other datasets
// go on.
//
// What "can take" means: the `available` property of the target (of its parent for a first
// receive, whose dataset does not exist yet). OpenZFS computes it as the least of what every
// ancestor's quota leaves and the pool's free space less its slop space
// (dsl_dir_space_available in module/zfs/dsl_dir.c), then of what the dataset's own refquota
// leaves (dsl_get_available in module/zfs/dsl_dataset.c); zfsprops(7): "availability can be
// limited by any number of factors, including physical pool size, quotas, reservations". So the
// job's quota, a quota an operator set higher up and a full pool are one number. For a first
// receive the parent's refquota, which does not bind a child, counts too: conservative, and
// bootstrap sets quota, not refquota.
//
// What the stream needs: zfs's estimate is the space the data takes on the source
// (dmu_adjust_send_estimate_for_indirects in module/zfs/dmu_send.c: the compressed size when
// the stream keeps records compressed, which every send of the vault does with -c, and -w for
// encrypted ones). A compressed or raw record is written as it arrives, so it takes on the vault
// what it took on the source; a record sent uncompressed is compressed, or not, by the target's
// setting and takes no more than its size in the stream. A resume's estimate is what is left
// (zfs_ioc_send_space subtracts the bytes the token says arrived), and what arrived is already
// charged to the target. What the estimate leaves out is metadata: two copies
// (redundant_metadata=all) of a 128-byte block pointer per block, which is 3.1% of an 8 KiB
// volume block and 0.2% of a 128 KiB record, plus dnodes. Hence the margin: 1/32 of the
// estimate, and at least 1 MiB, for what any stream writes whatever its size (the chain of
// indirect blocks above each block it changes, up to the dataset's root, and the dnode blocks,
// each in two copies). The floor stays small on purpose: it only matters for small streams, and
// a job with a small quota must still take them (TestLabHostileQuotaBoundsOneJob's 32 MiB
// quota takes a 4 MiB first receive). The margin is reasoned, not measured; a raidz pool's
// small blocks can still take more than `available` says (it assumes 128 KiB blocks), and such
// a receive fails as it did before this check: out of space, its partial state kept for a
// resume.

import (
	"fmt"

	"github.com/belltech/vault/bytefmt"
	"github.com/belltech/vault/zfs"
)

// minSpaceMargin is the least room kept beyond a stream's estimate.
const minSpaceMargin = 1 << 20

// spaceNeeded is what a receive of a stream zfs estimates at estimate bytes needs: the
// estimate and a margin for the metadata it leaves out (see above).
func spaceNeeded(estimate int64) int64 {
	margin := max(estimate/32, minSpaceMargin)
	if estimate > 1<<62 { // no overflow, and no stream that size fits anywhere
		return 1<<63 - 1
	}
	return estimate + margin
}

// NoSpaceError is a step refused before it started: its stream would not fit on the vault.
type NoSpaceError struct {
	// Stream names what would have been sent, such as "the stream of host05data/vm1@b
	// (incremental from @a)".
	Stream string
	// Where is the dataset whose available space was read: the target, or its parent for a
	// first receive.
	Where zfs.Dataset
	// Estimate is zfs send -n -P's size; Need adds the margin; Available is Where's.
	Estimate, Need, Available int64
}

func (e *NoSpaceError) Error() string {
	return fmt.Sprintf("not started: %s needs about %s (%s estimated, and room for metadata), %s has %s available (pool or quota); "+
		"free space (vault prune, or more disks) or raise quota in the configuration and run vault bootstrap, then pull again",
		e.Stream, bytefmt.IEC(e.Need), bytefmt.IEC(e.Estimate), e.Where, bytefmt.IEC(e.Available))
}

// checkSpace returns a *NoSpaceError when a stream of estimate bytes does not fit in avail
// bytes, nil when it does.
func checkSpace(stream string, where zfs.Dataset, estimate, avail int64) error {
	need := spaceNeeded(estimate)
	if need <= avail {
		return nil
	}
	return &NoSpaceError{Stream: stream, Where: where, Estimate: estimate, Need: need, Available: avail}
}

// spaceWhere is the dataset whose available space a step lands in: the target, or for a first
// receive (the target does not exist yet) its parent.
func spaceWhere(dp DatasetPlan, st Step) (zfs.Dataset, bool) {
	if st.Kind != Full {
		return dp.Target, true
	}
	return dp.Target.Parent()
}

// streamName names a step's stream for a person: the snapshot it brings, and where from.
func streamName(dp DatasetPlan, st Step) string {
	switch st.Kind {
	case Full:
		return "the stream of " + st.To.Name.String() + " (full)"
	case Incremental:
		from := ""
		if st.From != nil {
			from = " from @" + st.From.Name.Short()
		}
		return "the stream of " + st.To.Name.String() + " (incremental" + from + ")"
	}
	return "the rest of the interrupted receive into " + dp.Target.String()
}
