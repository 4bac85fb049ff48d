//go:build linux || freebsd

package privdrop

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Drop makes the process u, for good. It must run as root, once, before the daemon does any work
// that does not need root. The order below is the point of this function: do not rearrange it.
//
// On error the process may be half-dropped (some ids changed, others not) and must not continue:
// callers exit, which MustDrop does for them.
func Drop(u User) error {
	groups, err := u.targetGroups()
	if err != nil {
		return err
	}
	fail := func(step string, err error) error {
		return fmt.Errorf("cannot drop privileges to user %q (uid %d, gid %d): %s: %w", u.Name, u.UID, u.GID, step, err)
	}
	if euid := os.Geteuid(); euid != 0 {
		return fail("not running as root", fmt.Errorf("euid is %d", euid))
	}

	// ---- 1. SUPPLEMENTARY GROUPS FIRST. -----------------------------------------------------
	// Root's groups (0, and on FreeBSD wheel/operator) would otherwise survive the uid change and
	// keep their file access. Changing them needs root, so this must come before steps 2 and 3.
	// Linux: syscall.Setgroups, NOT unix.Setgroups, which changes the calling thread only.
	if err := setGroups(groups); err != nil {
		return fail("setgroups", err)
	}

	// ---- 2. THEN THE GROUP: real, effective AND saved gid. ----------------------------------
	// Still root, so this is allowed. A saved gid of 0 left behind could be switched back to.
	if err := unix.Setresgid(u.GID, u.GID, u.GID); err != nil {
		return fail("setresgid", err)
	}

	// ---- 3. THE USER LAST: real, effective AND saved uid. No way back after this. -----------
	// All three are named explicitly rather than left to setuid(2)'s rules for the saved id: a
	// saved uid of 0 would let the process switch back to root at will.
	if err := unix.Setresuid(u.UID, u.UID, u.UID); err != nil {
		return fail("setresuid", err)
	}

	// ---- 4. PROVE IT. Read every id back, and try to become root again: that MUST fail. -----
	if err := verify(u, groups); err != nil {
		return fail("verify", err)
	}

	// ---- 5. LINUX: NO_NEW_PRIVS on every thread (a no-op elsewhere). ------------------------
	// No exec from here on (zfs, ssh) can gain privilege through a setuid bit or file
	// capabilities, and the children inherit the flag.
	if err := setNoNewPrivs(); err != nil {
		return fail("no_new_privs", err)
	}
	return nil
}

// verify proves that the drop took: every id is the user's, the group list is exactly groups,
// and the kernel refuses to give root back. On Linux it also checks each thread of the process.
func verify(u User, groups []int) error {
	if r, e, s := getresuid(); r != u.UID || e != u.UID || s != u.UID {
		return fmt.Errorf("uids are real %d, effective %d, saved %d; want %d", r, e, s, u.UID)
	}
	if r, e, s := getresgid(); r != u.GID || e != u.GID || s != u.GID {
		return fmt.Errorf("gids are real %d, effective %d, saved %d; want %d", r, e, s, u.GID)
	}
	got, err := unix.Getgroups()
	if err != nil {
		return fmt.Errorf("getgroups: %w", err)
	}
	if !sameSet(got, groups) {
		return fmt.Errorf("groups are %v; want %v", got, groups)
	}
	// The real test: if root can be had back, nothing above counts.
	if err := unix.Setuid(0); err == nil {
		return fmt.Errorf("setuid(0) succeeded: root can still be regained")
	}
	if err := unix.Setgid(0); err == nil {
		return fmt.Errorf("setgid(0) succeeded: group 0 can still be regained")
	}
	return verifyThreads(u, groups, false)
}
