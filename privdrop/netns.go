package privdrop

import (
	"errors"
	"fmt"
	"net"
	"strings"
)

// ErrNoNetNS is returned by CheckNoNetwork where the system has no network namespaces (FreeBSD):
// the process is a separate identity but can still open sockets. The README says what the
// operator can add there (a pf rule on the user).
var ErrNoNetNS = errors.New("this system has no network namespaces: the process can reach the network")

// noNetwork proves, from the interfaces the process sees, that it cannot reach any host: every
// interface is a loopback and none is up. A new network namespace on Linux holds exactly one
// such interface, lo, down; the host's namespace always has lo up.
func noNetwork(ifs []net.Interface) error {
	var bad []string
	for _, i := range ifs {
		if i.Flags&net.FlagLoopback == 0 || i.Flags&net.FlagUp != 0 {
			bad = append(bad, fmt.Sprintf("%s (%s)", i.Name, i.Flags))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("the process can reach the network: interface %s", strings.Join(bad, ", "))
	}
	return nil
}
