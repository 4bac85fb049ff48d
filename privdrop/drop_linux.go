package privdrop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// setGroups sets the supplementary groups of every thread. syscall.Setgroups goes through
// AllThreadsSyscall (or libc's setgroups in a cgo binary); unix.Setgroups would change only the
// thread it happens to run on and leave root's groups on the others.
func setGroups(gids []int) error { return syscall.Setgroups(gids) }

func getresuid() (r, e, s int) { return unix.Getresuid() }
func getresgid() (r, e, s int) { return unix.Getresgid() }

// setNoNewPrivs sets PR_SET_NO_NEW_PRIVS on every thread (the flag is per thread) and checks it.
// A cgo-linked binary cannot do that (AllThreadsSyscall answers ENOTSUP) and fails closed: vault
// ships with CGO_ENABLED=0.
func setNoNewPrivs() error {
	_, _, errno := syscall.AllThreadsSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0)
	if errno == syscall.ENOTSUP {
		return fmt.Errorf("cannot set it on every thread of a cgo-linked binary (%w); build vault with CGO_ENABLED=0", errno)
	}
	if errno != 0 {
		return errno
	}
	return verifyThreads(User{}, nil, true)
}

// verifyThreads reads /proc/self/task/*/status and checks every thread of the process: all four
// uids (real, effective, saved, filesystem) are u.UID, all four gids u.GID, the groups are groups,
// and no capability is left in the permitted, effective or ambient set. With nnp it checks only
// that every thread has no_new_privs set.
func verifyThreads(u User, groups []int, nnp bool) error {
	tasks, err := filepath.Glob("/proc/self/task/[0-9]*")
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("cannot list the threads in /proc/self/task (is /proc mounted?)")
	}
	for _, task := range tasks {
		b, err := os.ReadFile(filepath.Join(task, "status"))
		if errors.Is(err, os.ErrNotExist) {
			continue // the thread exited meanwhile
		}
		if err != nil {
			return fmt.Errorf("cannot read thread status: %w", err)
		}
		st := parseStatus(b)
		tid := filepath.Base(task)
		want := map[string]string{}
		if nnp {
			want["NoNewPrivs"] = "1"
		} else {
			id, gid := strconv.Itoa(u.UID), strconv.Itoa(u.GID)
			want["Uid"] = strings.Join([]string{id, id, id, id}, " ")
			want["Gid"] = strings.Join([]string{gid, gid, gid, gid}, " ")
			for _, c := range []string{"CapPrm", "CapEff", "CapAmb"} {
				want[c] = "0000000000000000"
			}
		}
		for key, w := range want {
			if got, ok := st[key]; !ok || got != w {
				return fmt.Errorf("thread %s: %s is %q; want %q", tid, key, got, w)
			}
		}
		if !nnp {
			var got []int
			for _, f := range strings.Fields(st["Groups"]) {
				g, err := strconv.Atoi(f)
				if err != nil {
					return fmt.Errorf("thread %s: bad Groups line %q", tid, st["Groups"])
				}
				got = append(got, g)
			}
			if !sameSet(got, groups) {
				return fmt.Errorf("thread %s: groups are %v; want %v", tid, got, groups)
			}
		}
	}
	return nil
}

// parseStatus maps each "Key:\tvalue" line of a /proc status file to its value, with runs of
// white space collapsed to one space.
func parseStatus(b []byte) map[string]string {
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok {
			m[k] = strings.Join(strings.Fields(v), " ")
		}
	}
	return m
}
