package main

import (
	"context"
	"os"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/zfs"
)

// vaultProtection names the protection level c gets from this host's OpenZFS (the kernel
// module's release, from zfs version). ok is false when c's zfs is not on this host: a status
// read from a copy of the state elsewhere says nothing about it.
func vaultProtection(ctx context.Context, c *conf.Config) (p report.Protection, ok bool) {
	if fi, err := os.Stat(c.ZFSBinary); err != nil || !fi.Mode().IsRegular() {
		return report.Protection{}, false
	}
	z := &zfs.ZFS{Bin: c.ZFSBinary, Exec: &zfs.Local{}}
	vctx, cancel := context.WithTimeout(ctx, holdingsTimeout)
	defer cancel()
	var kernel *zfs.Version
	version := ""
	if v, err := z.Version(vctx); err == nil {
		kernel, version = &v.Kernel, v.Kernel.String()
	}
	level := puller.ProtectionOf(kernel, c.PruneUser != "")
	return report.Protection{Level: level.String(), ZFS: version, Detail: level.Explain(version)}, true
}
