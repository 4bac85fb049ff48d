package zfs

import (
	"errors"
	"fmt"
	"testing"
)

// The stderr strings are OpenZFS's (lib/libzfs: zfs_hold_nvl, zfs_release, zfs_send_resume),
// as zfs prints them under LC_ALL=C.
func TestClassifiers(t *testing.T) {
	exit := func(stderr string) error { return &ExitError{Code: 1, Stderr: stderr} }
	wrapped := func(stderr string) error { return fmt.Errorf("pull: %w", exit(stderr)) }
	for _, tc := range []struct {
		name string
		is   func(error) bool
		err  error
		want bool
	}{
		{"hold exists", IsHoldExists, exit("cannot hold snapshot 'tank/a@s': tag already exists on this dataset\n"), true},
		{"hold exists, wrapped", IsHoldExists, wrapped("cannot hold snapshot 'tank/a@s': tag already exists on this dataset\n"), true},
		{"hold of a missing snapshot", IsHoldExists, exit("cannot hold snapshot 'tank/a@s': dataset does not exist\n"), false},
		{"hold exists, not zfs's", IsHoldExists, errors.New("tag already exists"), false},
		{"no such tag", IsHoldMissing, exit("cannot release hold from snapshot 'tank/a@s': no such tag on this dataset\n"), true},
		{"release of a missing snapshot", IsHoldMissing, wrapped("cannot release hold from snapshot 'tank/a@s': dataset does not exist\n"), true},
		{"release denied", IsHoldMissing, exit("cannot release hold from snapshot 'tank/a@s': permission denied\n"), false},
		{"release, not zfs's", IsHoldMissing, errors.New("no such tag"), false},
		{"token snapshot gone", IsResumeUnusable, exit("cannot resume send: 'tank/a@s' used in the initial send no longer exists\n"), true},
		{"token snapshot replaced", IsResumeUnusable, wrapped("cannot resume send: 'tank/a' is no longer the same snapshot used in the initial send\n"), true},
		{"send of a missing dataset", IsResumeUnusable, exit("cannot open 'tank/a': dataset does not exist\n"), false},
		{"connection lost", IsResumeUnusable, errors.New("cannot resume send: ssh: connection lost"), false},
		{"nil", IsResumeUnusable, nil, false},
	} {
		if got := tc.is(tc.err); got != tc.want {
			t.Errorf("%s: %v: got %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
