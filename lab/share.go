//go:build linux

package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RepoRoot finds the module root (the directory holding go.mod) from the working directory up.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (no go.mod above the working directory)")
		}
		dir = parent
	}
}

// guestBinaries are built fresh for every share: the product and the lab's own helpers.
var guestBinaries = map[string]string{
	"vault":    "./cmd/vault",
	"labagent": "./lab/cmd/labagent",
	"labprobe": "./lab/cmd/labprobe",
}

// BuildShare fills dir with what the guest mounts at /mnt/lab: freshly built static linux/amd64
// binaries of vault and the lab helpers, and the guest scripts from lab/guest.
func BuildShare(ctx context.Context, repo, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// The guest's unprivileged users must reach the binaries (os.MkdirTemp makes 0700).
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	for name, pkg := range guestBinaries {
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", filepath.Join(dir, name), pkg)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("cannot build %s for the lab: %w\n%s", pkg, err, out)
		}
	}
	scripts, err := filepath.Glob(filepath.Join(repo, "lab", "guest", "*"))
	if err != nil {
		return err
	}
	for _, s := range scripts {
		b, err := os.ReadFile(s)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if fi, err := os.Stat(s); err == nil && fi.Mode()&0o111 != 0 {
			mode = 0o755
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(s)), b, mode); err != nil {
			return err
		}
	}
	return nil
}

// ShellQuote quotes s for bash in lab test scripts. The product never builds shell strings; lab
// scripts do, and they quote every interpolated value with this.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
