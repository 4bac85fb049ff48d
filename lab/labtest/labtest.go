//go:build linux

// Package labtest runs a test package against one booted lab guest: TestMain calls Main, which
// builds or reuses the image, builds the vault binary fresh, boots, runs the guest's set-up
// (pools host05data and rust10, the delegated backup user, sshd), runs the tests and powers off.
package labtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab"
)

var guest *lab.Guest

// Guest is the package's booted guest; valid only inside tests run by Main.
func Guest() *lab.Guest { return guest }

// Main is a TestMain for lab tests.
func Main(m *testing.M) {
	os.Exit(run(m, Options{}))
}

// Options says how MainWith boots the package's guest.
type Options struct {
	// Init is the guest's PID 1 (lab.BootOptions.Init): lab-init when empty.
	Init string
}

// MainWith is Main for a test package whose guest boots otherwise, such as with systemd as
// PID 1 (a package of its own, since one boot serves a whole package).
func MainWith(m *testing.M, o Options) {
	os.Exit(run(m, o))
}

func run(m *testing.M, o Options) int {
	ctx := context.Background()
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "lab:", err)
		return 1
	}
	g, cleanup, err := StartWith(ctx, os.Stderr, o)
	if err != nil {
		return fail(err)
	}
	defer cleanup()
	guest = g
	return m.Run()
}

// Start builds or reuses the image, builds the share, boots and sets the guest up. The returned
// function powers it off and removes the share.
func Start(ctx context.Context, logw *os.File) (*lab.Guest, func(), error) {
	return StartWith(ctx, logw, Options{})
}

// StartWith is Start with the guest booted as o says.
func StartWith(ctx context.Context, logw *os.File, o Options) (*lab.Guest, func(), error) {
	repo, err := lab.RepoRoot()
	if err != nil {
		return nil, nil, err
	}
	track, err := lab.ParseTrack(os.Getenv("VAULT_LAB_ZFS"))
	if err != nil {
		return nil, nil, err
	}
	img, err := lab.EnsureImage(ctx, lab.ImageOptions{RecipeDir: filepath.Join(repo, "lab", "image"), Track: track, Log: logw})
	if err != nil {
		return nil, nil, err
	}
	share, err := os.MkdirTemp("", "vault-lab-share-")
	if err != nil {
		return nil, nil, err
	}
	if err := lab.BuildShare(ctx, repo, share); err != nil {
		os.RemoveAll(share)
		return nil, nil, err
	}
	g, err := lab.Boot(ctx, lab.BootOptions{Image: img, Share: share, Log: logw, Init: o.Init})
	if err != nil {
		os.RemoveAll(share)
		return nil, nil, err
	}
	cleanup := func() {
		g.Close()
		os.RemoveAll(share)
	}
	start := time.Now()
	res, err := g.Exec(ctx, "", "/mnt/lab/setup")
	if err != nil || res.Exit != 0 {
		cleanup()
		if err != nil {
			return nil, nil, fmt.Errorf("lab set-up: %w", err)
		}
		return nil, nil, fmt.Errorf("lab set-up failed:\n%s", res)
	}
	fmt.Fprintf(logw, "%s (%s)\n", strings.TrimSpace(res.Stdout), time.Since(start).Round(100*time.Millisecond))
	return g, cleanup, nil
}

// Root runs a bash script as root and fails the test if it exits non-zero. It returns stdout.
func Root(t testing.TB, script string) string {
	t.Helper()
	return As(t, "", script)
}

// As runs a bash script as user and fails the test if it exits non-zero. It returns stdout.
func As(t testing.TB, user, script string) string {
	t.Helper()
	res := Try(t, user, script)
	if res.Exit != 0 {
		t.Fatalf("lab command failed:\n%s", res)
	}
	return res.Stdout
}

// Try runs a bash script as user and returns its result whatever the exit status; it fails the
// test only if the harness cannot get an answer.
func Try(t testing.TB, user, script string) *lab.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	res, err := guest.Script(ctx, user, script)
	if err != nil {
		t.Fatalf("lab: %v", err)
	}
	return res
}

// WaitFor runs script as root, once a second, until it exits 0, and returns its stdout. After
// timeout it fails the test with the last try and what diag says (a daemon's log, say).
func WaitFor(t testing.TB, what string, timeout time.Duration, script string, diag func() string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		res := Try(t, "", script)
		if res.Exit == 0 {
			return res.Stdout
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; last try:\n%s\n%s", timeout, what, res, diag())
		}
		time.Sleep(time.Second)
	}
}

// Q quotes a value for a lab script.
func Q(s string) string { return lab.ShellQuote(s) }
