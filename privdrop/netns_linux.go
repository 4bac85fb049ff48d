package privdrop

import (
	"fmt"
	"net"
	"syscall"
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
