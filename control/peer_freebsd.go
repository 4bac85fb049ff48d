package control

import (
	"fmt"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// xucredVersion is XUCRED_VERSION from sys/ucred.h.
const xucredVersion = 0

// peerCred asks the kernel who connected: LOCAL_PEERCRED, the effective ids at connect time.
func peerCred(c *net.UnixConn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{}, err
	}
	var xu *unix.Xucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		xu, serr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	}); err != nil {
		return Peer{}, err
	}
	if serr != nil {
		return Peer{}, fmt.Errorf("getsockopt LOCAL_PEERCRED: %w", serr)
	}
	if xu.Version != xucredVersion {
		return Peer{}, fmt.Errorf("getsockopt LOCAL_PEERCRED: xucred version %d, want %d", xu.Version, xucredVersion)
	}
	p := Peer{UID: int(xu.Uid), GID: -1, PID: xucredPID(xu)}
	if xu.Ngroups > 0 {
		p.GID = int(xu.Groups[0]) // the effective group
	}
	return p, nil
}

// xucredPID reads cr_pid. struct xucred ends in a union of a pointer (_cr_unused1) and cr_pid
// (FreeBSD 13 and later; older kernels leave the pointer NULL, so 0 here). x/sys declares that
// union as its pointer member only, so it is read by position: the last pointer-sized word, whose
// first bytes hold the pid_t whatever the byte order, as every member of a union starts there.
// The pid is for the logs only; the uid decides.
func xucredPID(xu *unix.Xucred) int {
	off := unsafe.Sizeof(*xu) - unsafe.Sizeof(uintptr(0))
	return int(*(*int32)(unsafe.Add(unsafe.Pointer(xu), off)))
}
