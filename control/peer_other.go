//go:build !linux && !freebsd

package control

import (
	"fmt"
	"net"
	"runtime"
)

// peerCred is implemented for Linux and FreeBSD only; elsewhere every peer is refused.
func peerCred(*net.UnixConn) (Peer, error) {
	return Peer{}, fmt.Errorf("peer credentials are not supported on %s", runtime.GOOS)
}
