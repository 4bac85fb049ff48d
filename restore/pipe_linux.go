package restore

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// pipeSize is the send's output pipe: 1 MiB rather than Linux's 64 KiB, so that each read
// takes what zfs send wrote meanwhile and feeds the SSH channel large writes. Measured in the
// lab (BenchmarkLabRestoreSend), with the progress estimate skipped: see README, Performance.
const pipeSize = 1 << 20

// growPipe enlarges the pipe r reads from, if it is one; a failure (a lower
// /proc/sys/fs/pipe-max-size for an unprivileged user) only leaves it as it was.
func growPipe(r io.Reader) {
	if f, ok := r.(*os.File); ok {
		if sc, err := f.SyscallConn(); err == nil {
			_ = sc.Control(func(fd uintptr) { _, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, pipeSize) })
		}
	}
}
