//go:build !unix

package control

import "os"

// fileOwner cannot tell here, so Listen refuses.
func fileOwner(os.FileInfo) (int, bool) { return 0, false }
