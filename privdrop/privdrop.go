// Package privdrop turns the root-started vault daemon into the configured unprivileged user, once
// and for good.
//
// The whole drop is one short, ordered function, Drop: supplementary groups, then the group id, then
// the user id, then proof that root cannot be regained, then (on Linux) no_new_privs. A process
// whose Drop failed is in no state to carry on: MustDrop prints one line and exits.
//
// On Linux, credentials belong to each thread, and a Go process has several. The calls used here
// change every thread of the process (syscall.Setgroups, Setresgid and Setresuid run on all
// threads since Go 1.16, and no_new_privs is set with syscall.AllThreadsSyscall6), and the proof
// reads every thread back from /proc/self/task. On FreeBSD credentials belong to the process.
package privdrop

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
)

// User is who the daemon becomes: numeric ids, resolved once by Lookup.
type User struct {
	Name string
	UID  int
	GID  int
	// Groups are the supplementary groups (the primary GID may be among them; Drop always
	// includes it). Nil or empty means the primary group only.
	Groups []int
	Home   string
}

// maxID is the largest usable uid or gid: (uid_t)-1 = 4294967295 means "leave unchanged" to
// setresuid(2) and setresgid(2), so it must never reach them as a target id.
const maxID = 1<<32 - 2

// Lookup resolves a user name and its groups through os/user (/etc/passwd and /etc/group in a
// static binary). It refuses root, and any user whose primary or supplementary group is 0.
func Lookup(name string) (User, error) {
	if name == "" {
		return User{}, errors.New("cannot look up the daemon user: no user name configured")
	}
	pw, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return User{}, fmt.Errorf("cannot look up user %q: no such user (create it, e.g. `useradd --system %s`, or set `user` in the config)", name, name)
		}
		return User{}, fmt.Errorf("cannot look up user %q: %w", name, err)
	}
	uid, err := strconv.Atoi(pw.Uid)
	if err != nil {
		return User{}, fmt.Errorf("cannot look up user %q: uid %q is not a number", name, pw.Uid)
	}
	gid, err := strconv.Atoi(pw.Gid)
	if err != nil {
		return User{}, fmt.Errorf("cannot look up user %q: gid %q is not a number", name, pw.Gid)
	}
	ids, err := pw.GroupIds()
	if err != nil {
		return User{}, fmt.Errorf("cannot look up the groups of user %q: %w", name, err)
	}
	groups := make([]int, 0, len(ids))
	for _, s := range ids {
		g, err := strconv.Atoi(s)
		if err != nil {
			return User{}, fmt.Errorf("cannot look up the groups of user %q: gid %q is not a number", name, s)
		}
		groups = append(groups, g)
	}
	u := User{Name: name, UID: uid, GID: gid, Groups: groups, Home: pw.HomeDir}
	if _, err := u.targetGroups(); err != nil {
		return User{}, err
	}
	return u, nil
}

// targetGroups checks u and returns the exact group list Drop installs: the primary GID first,
// then the other supplementary groups sorted, without duplicates. The primary group comes first
// because FreeBSD before 15 keeps the effective gid in the first slot of the group list.
func (u User) targetGroups() ([]int, error) {
	switch {
	case u.UID == 0:
		return nil, fmt.Errorf("refusing to run as user %q: uid 0 is root; configure an unprivileged user such as \"backup\"", u.Name)
	case u.GID == 0:
		return nil, fmt.Errorf("refusing to run as user %q: its primary group is gid 0 (root/wheel); give it a group of its own", u.Name)
	case u.UID < 0 || u.UID > maxID:
		return nil, fmt.Errorf("refusing to run as user %q: uid %d is out of range", u.Name, u.UID)
	case u.GID < 0 || u.GID > maxID:
		return nil, fmt.Errorf("refusing to run as user %q: gid %d is out of range", u.Name, u.GID)
	}
	others := make([]int, 0, len(u.Groups))
	for _, g := range u.Groups {
		switch {
		case g == 0:
			return nil, fmt.Errorf("refusing to run as user %q: it is a member of group 0 (root/wheel); remove it from that group", u.Name)
		case g < 0 || g > maxID:
			return nil, fmt.Errorf("refusing to run as user %q: supplementary gid %d is out of range", u.Name, g)
		case g != u.GID:
			others = append(others, g)
		}
	}
	slices.Sort(others)
	return append([]int{u.GID}, slices.Compact(others)...), nil
}

// MustDrop is Drop for a daemon's main: a failure at any point exits the process with status 1
// after one line on stderr. A half-dropped process must not go on.
func MustDrop(u User) {
	if err := Drop(u); err != nil {
		fmt.Fprintf(os.Stderr, "vault: %v\n", err)
		os.Exit(1)
	}
}

// sameSet reports whether a and b hold the same ids, ignoring order and duplicates.
func sameSet(a, b []int) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
