//go:build lab && linux

package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab"
	"github.com/belltech/vault/lab/labtest"
)

// TestLabPackage builds the .deb on the host as an operator would (make package), installs it in
// the guest with dpkg -i and removes it with dpkg -r (issue #19). The guest already has the lab's
// vault in /usr/local/bin, and the agent's PATH puts that first, so the package's own is looked
// for on a PATH without /usr/local: a Debian root's, where the package alone puts vault.
func TestLabPackage(t *testing.T) {
	repo, err := lab.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(t.TempDir(), "vault.deb")
	host := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			var stderr string
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr)
		}
		return strings.TrimSpace(string(out))
	}
	host("make", "package", "GOARCH=amd64", "DEB="+deb)
	version := host("dpkg-deb", "--field", deb, "Version")
	describe := host("git", "describe", "--always", "--dirty")
	b, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}

	// The share is read-only and built before the tests; the package goes over the agent's stdin.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := labtest.Guest().Run(ctx, lab.Request{Argv: []string{"/bin/bash", "-euo", "pipefail", "-c", "cat >/tmp/vault.deb"}, Stdin: b})
	if err != nil || res.Exit != 0 {
		t.Fatalf("cannot copy the package into the guest: %v %v", err, res)
	}
	t.Cleanup(func() { labtest.Try(t, "", "dpkg --purge vault >/dev/null 2>&1; rm -f /tmp/vault.deb") })

	labtest.Root(t, "dpkg -i /tmp/vault.deb")
	if got := labtest.Root(t, "dpkg-query -W -f='${Version} ${Status}' vault"); got != version+" install ok installed" {
		t.Errorf("got dpkg-query %q, want %q", got, version+" install ok installed")
	}
	if got := strings.TrimSpace(labtest.Root(t, "PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v vault")); got != "/usr/sbin/vault" {
		t.Errorf("got command -v vault %q, want /usr/sbin/vault", got)
	}
	if got := labtest.Root(t, "PATH=/usr/sbin:/usr/bin:/sbin:/bin vault version"); !strings.HasPrefix(got, "vault "+describe+" ") {
		t.Errorf("got vault version %q, want it to start with %q", got, "vault "+describe+" ")
	}

	// The unit: in place, starting the packaged binary with the default configuration, and neither
	// enabled nor started by the package (it has no maintainer scripts).
	unit := labtest.Root(t, `if [ "$(ps -p 1 -o comm=)" = systemd ]; then systemctl cat vault.service; else cat /lib/systemd/system/vault.service; fi`)
	if !strings.Contains(unit, "\nExecStart=/usr/sbin/vault daemon -c /etc/vault/vault.toml\n") {
		t.Errorf("the installed unit lacks ExecStart=/usr/sbin/vault daemon -c /etc/vault/vault.toml:\n%s", unit)
	}
	labtest.Root(t, `test ! -e /etc/systemd/system/multi-user.target.wants/vault.service`)
	if got := labtest.Root(t, "dpkg -L vault | grep '^/etc' || true"); got != "" {
		t.Errorf("the package installs under /etc, where only the operator writes:\n%s", got)
	}

	// The man pages, found by man-db where the image has it, else where it would look; and the
	// example configuration, which the installed vault accepts as it is.
	labtest.Root(t, `
if command -v man >/dev/null; then
	test "$(man -w 8 vault)" = /usr/share/man/man8/vault.8.gz
	test "$(man -w 5 vault.toml)" = /usr/share/man/man5/vault.toml.5.gz
else
	gzip -t /usr/share/man/man8/vault.8.gz /usr/share/man/man5/vault.toml.5.gz
fi
gzip -t /usr/share/doc/vault/changelog.Debian.gz
test -s /usr/share/doc/vault/copyright
/usr/sbin/vault config check /usr/share/doc/vault/vault.toml.example >/dev/null
`)

	labtest.Root(t, "dpkg -r vault")
	if got := labtest.Root(t, `for f in /usr/sbin/vault /lib/systemd/system/vault.service /usr/share/man/man8/vault.8.gz /usr/share/man/man5/vault.toml.5.gz /usr/share/doc/vault/vault.toml.example; do if [ -e "$f" ]; then echo "$f"; fi; done`); got != "" {
		t.Errorf("dpkg -r vault left behind:\n%s", got)
	}
	// The lab's own vault is untouched.
	labtest.Root(t, "test -x /usr/local/bin/vault")
}
