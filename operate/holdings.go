package operate

import (
	"context"

	"github.com/belltech/vault/zfs"
)

// ListHoldings lists what an import's target holds: its snapshots by GUID, the GUID of its
// newest, and its type; Exists is false when the target dataset does not exist.
func ListHoldings(ctx context.Context, z *zfs.ZFS, target zfs.Dataset) (Holdings, error) {
	entries, err := z.List(ctx, []zfs.Dataset{target}, true, []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume, zfs.TypeSnapshot},
		[]zfs.Column{zfs.ColName, zfs.ColType, zfs.ColGUID, zfs.ColCreateTXG})
	if zfs.IsNotExist(err) {
		return Holdings{}, nil
	}
	if err != nil {
		return Holdings{}, err
	}
	h := Holdings{Exists: true, Have: map[uint64]string{}}
	var newestTXG uint64
	for _, e := range entries {
		if d, ok := e.Dataset(); ok && d == target {
			h.Type = e.Type
		}
		if s, ok := e.Snapshot(); ok && s.Dataset() == target {
			h.Have[e.GUID] = s.String()
			if e.CreateTXG >= newestTXG {
				h.Newest, newestTXG = e.GUID, e.CreateTXG
			}
		}
	}
	return h, nil
}
