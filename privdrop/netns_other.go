//go:build !linux

package privdrop

import "syscall"

// IsolatedAttr has no network namespace to offer outside Linux: the child is only a separate
// process (CheckNoNetwork says so).
func IsolatedAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }

// CheckNoNetwork returns ErrNoNetNS: without network namespaces nothing keeps the process off
// the network.
func CheckNoNetwork() error { return ErrNoNetNS }

// ArmParentDeath does nothing outside Linux: a worker ends when its parent's end of its stdin
// closes.
func ArmParentDeath(parent int) error { return nil }
