// Command labprobe runs inside the lab guest and exercises vault's zfs package against the real
// pools, printing JSON the e2e tests compare with zfs's own answers (`zfs get`, `zfs holds`):
//
//	labprobe list ROOT...   one recursive listing of every type and column vault reads
//	labprobe holds SNAP...  the holds on snapshots
//
// It is test infrastructure and never ships in the vault binary.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/belltech/vault/zfs"
)

// AllColumns is every column the zfs package parses, for the ground-truth comparison.
var AllColumns = []zfs.Column{
	zfs.ColName, zfs.ColType, zfs.ColGUID, zfs.ColCreateTXG, zfs.ColCreation, zfs.ColUsed,
	zfs.ColReferenced, zfs.ColWritten, zfs.ColUserRefs, zfs.ColReceiveResumeToken, zfs.ColEncryption, zfs.ColOrigin,
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "labprobe:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: labprobe list ROOT... or labprobe holds SNAP")
	}
	z := &zfs.ZFS{Bin: "/sbin/zfs", Exec: &zfs.Local{}}
	ctx := context.Background()
	var out any
	switch args[0] {
	case "list":
		var roots []zfs.Dataset
		for _, a := range args[1:] {
			d, err := zfs.ParseDataset(a)
			if err != nil {
				return err
			}
			roots = append(roots, d)
		}
		types := []zfs.Type{zfs.TypeFilesystem, zfs.TypeVolume, zfs.TypeSnapshot, zfs.TypeBookmark}
		entries, err := z.List(ctx, roots, true, types, AllColumns)
		if err != nil {
			return err
		}
		out = entries
	case "holds":
		var snaps []zfs.Snapshot
		for _, a := range args[1:] {
			s, err := zfs.ParseSnapshot(a)
			if err != nil {
				return err
			}
			snaps = append(snaps, s)
		}
		holds, err := z.Holds(ctx, snaps)
		if err != nil {
			return err
		}
		out = holds
	default:
		return fmt.Errorf("unknown probe %q", args[0])
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
