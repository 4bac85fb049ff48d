package restore

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/belltech/vault/zfs"
)

// recorder records what would run and runs nothing.
type recorder struct{ cmds [][]string }

func (r *recorder) Run(_ context.Context, c zfs.Cmd) error {
	r.cmds = append(r.cmds, c.Argv)
	return &zfs.ExitError{Argv: c.Argv, Code: 1, Stderr: "not in this test\n"}
}

func (r *recorder) Start(_ context.Context, c zfs.Cmd) (zfs.Process, error) {
	r.cmds = append(r.cmds, c.Argv)
	return nil, errors.New("nothing starts in this test")
}

// A resume token from the host is checked before anything is sent: one that does not decode, or
// that a dry run resolves elsewhere, sends nothing.
func TestResumeTokenFromTheHostIsVerified(t *testing.T) {
	local, remote := &recorder{}, &recorder{}
	s := &Sender{Local: &zfs.ZFS{Bin: "/sbin/zfs", Exec: local}, LocalStart: local,
		Remote: &zfs.ZFS{Bin: "/sbin/zfs", Exec: remote}, RemoteStart: remote}
	root, _ := zfs.ParseDataset("rust10/Backups/h5/vm")
	target, _ := zfs.ParseDataset("tank/vm-restored")
	_, err := s.step(context.Background(), Request{Root: root, Target: target}, Step{Kind: Resume, Token: "1-abc-10-789c"})
	if err == nil || !strings.Contains(err.Error(), "does not resume a send of rust10/Backups/h5/vm") || !strings.Contains(err.Error(), "zfs receive -A tank/vm-restored") {
		t.Fatalf("a token that does not decode: %v", err)
	}
	for _, c := range append(local.cmds, remote.cmds...) {
		t.Errorf("ran %q", c)
	}
}
