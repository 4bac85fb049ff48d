package privdrop

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// FreeBSD credentials belong to the process, not to a thread: the plain system calls suffice.

func setGroups(gids []int) error { return unix.Setgroups(gids) }

// getresuid and getresgid call the system calls directly: x/sys/unix has no wrapper for them on
// FreeBSD.
func getresuid() (r, e, s int) {
	var ru, eu, su uint32
	_, _, errno := unix.RawSyscall(unix.SYS_GETRESUID, uintptr(unsafe.Pointer(&ru)), uintptr(unsafe.Pointer(&eu)), uintptr(unsafe.Pointer(&su)))
	if errno != 0 {
		return -1, -1, -1
	}
	return int(ru), int(eu), int(su)
}

func getresgid() (r, e, s int) {
	var rg, eg, sg uint32
	_, _, errno := unix.RawSyscall(unix.SYS_GETRESGID, uintptr(unsafe.Pointer(&rg)), uintptr(unsafe.Pointer(&eg)), uintptr(unsafe.Pointer(&sg)))
	if errno != 0 {
		return -1, -1, -1
	}
	return int(rg), int(eg), int(sg)
}

// setNoNewPrivs is Linux only. (FreeBSD 14 has procctl PROC_NO_NEW_PRIVS_CTL; FreeBSD 13 does not.)
func setNoNewPrivs() error { return nil }

// verifyThreads has nothing to add on FreeBSD: getresuid and getgroups already describe the process.
func verifyThreads(User, []int, bool) error { return nil }
