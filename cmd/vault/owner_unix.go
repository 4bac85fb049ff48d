package main

import (
	"os"
	"syscall"
)

// ownerOf returns a file's owner, so root writing in the user's state directory keeps it theirs.
func ownerOf(fi os.FileInfo) (int, int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}
