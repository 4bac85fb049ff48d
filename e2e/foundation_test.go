//go:build lab && linux

package e2e

import (
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

func TestLabVersion(t *testing.T) {
	out := labtest.As(t, "backup", "/mnt/lab/vault version")
	if !strings.HasPrefix(out, "vault ") || !strings.Contains(out, "linux/amd64") {
		t.Fatalf("vault version printed %q, want \"vault VERSION goVERSION linux/amd64\"", out)
	}
	// The binary is static: no interpreter, so it runs on any FreeBSD/Linux of the right arch.
	if got := labtest.Root(t, "head -c 4096 /mnt/lab/vault | grep -c ld-linux || true"); strings.TrimSpace(got) != "0" {
		t.Fatalf("vault binary names a dynamic loader; want a static binary")
	}
}

func TestLabZFSVersion(t *testing.T) {
	out := labtest.Root(t, "zfs version")
	if !strings.Contains(out, "zfs-kmod-2.") {
		t.Fatalf("zfs version printed %q, want a loaded OpenZFS 2.x kernel module", out)
	}
	t.Logf("guest runs %s", strings.ReplaceAll(strings.TrimSpace(out), "\n", ", "))
}
