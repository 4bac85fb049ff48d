//go:build !linux && !freebsd

package privdrop

import (
	"fmt"
	"runtime"
)

// Drop is implemented for Linux and FreeBSD only; elsewhere it refuses, so the daemon never runs
// as root by accident.
func Drop(u User) error {
	return fmt.Errorf("cannot drop privileges to user %q: not supported on %s", u.Name, runtime.GOOS)
}
