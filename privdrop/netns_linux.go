package privdrop

import (
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// IsolatedAttr is the SysProcAttr of a child that must never reach the network: it is cloned
// into a new, empty network namespace (one loopback interface, down), which needs root. The
// child cannot leave it: setns(2) and unshare(2) need capabilities it drops. Pdeathsig ends the
// child with its parent.
func IsolatedAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET, Pdeathsig: syscall.SIGKILL}
}

// CheckNoNetwork returns nil when the process sees no interface but a loopback that is down (see
// IsolatedAttr).
func CheckNoNetwork() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("cannot list the network interfaces: %w", err)
	}
	return noNetwork(ifs)
}

// ArmParentDeath asks the kernel to SIGKILL this process when parent, the process that started
// it, dies. IsolatedAttr's Pdeathsig does not survive the child's own privilege drop: a change
// of credentials clears it (prctl(2)), so a child that drops calls this afterwards. It fails
// when the parent is already gone. (The kernel keeps the setting per thread, and ties it to the
// parent's thread that started the child; Go ends a thread only when a goroutine locked to it
// exits, which vault's code never does. A worker also ends when its parent's end of its stdin
// closes.)
func ArmParentDeath(parent int) error {
	if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
		return fmt.Errorf("cannot set the parent-death signal: %w", err)
	}
	if os.Getppid() != parent {
		return fmt.Errorf("the parent (pid %d) is gone", parent)
	}
	return nil
}
