//go:build lab && linux

package e2e

import (
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// A host being restored may be the one an attacker holds. Its resume token is its own data: a
// forged one naming another snapshot of the vault's pool (here rust10/Secret/db, outside the
// tree being restored) is refused before anything is sent, and the host receives nothing.
func TestLabRestoreSendForgedToken(t *testing.T) {
	const src = "host05data/rsf/vm"
	t.Cleanup(func() {
		labtest.Try(t, "", destroyHeldScript("host05data/rsf", "host05data/rsforged", "host05data/tmpforge", "rust10/Secret", "rust10/Backups/rsf")+"rm -f /usr/local/sbin/zfs-forge /tmp/zfs-forge.log /tmp/forged.token; rm -rf /var/lib/vault-rsf")
	})
	labtest.Root(t, `zfs create -p `+src+` && head -c 2M /dev/urandom >/`+src+`/a.bin && zfs snapshot -r `+src+`@2026-11-20_00.00.00--1w
zfs create -p rust10/Secret/db && head -c 4M /dev/urandom >/rust10/Secret/db/records && zfs snapshot rust10/Secret/db@s
zfs send rust10/Secret/db@s | head -c 1M | zfs receive -s -u host05data/tmpforge || true
zfs get -H -o value receive_resume_token host05data/tmpforge >/tmp/forged.token && chmod 0644 /tmp/forged.token
test "$(cut -c1-2 /tmp/forged.token)" = 1-
cat >/usr/local/sbin/zfs-forge <<'EOF'
#!/bin/bash
echo "$*" >>/tmp/zfs-forge.log
case "$*" in
*receive_resume_token*) printf 'host05data/rsforged/vm\t123\t1\t%s\n' "$(cat /tmp/forged.token)"; exit 0 ;;
esac
exec /sbin/zfs "$@"
EOF
chmod 0755 /usr/local/sbin/zfs-forge`)
	cfg := pruneConfig(t, "rsf", []string{src}, "")
	mustPull(t, cfg)
	key := restoreUser(t, "host05data/rsforged")
	before := labtest.Root(t, "zfs list -H -t all -r -o name,guid host05data")

	out, code := restoreSend(t, cfg, "--resume", "--zfs", "/usr/local/sbin/zfs-forge", "rsf", src, "--to", "restore@127.0.0.1:host05data/rsforged/vm", "--identity", key)
	t.Logf("restore send --resume with a forged token: exit %d\n%s", code, out)
	if code == 0 || !strings.Contains(out, "does not resume a send of rust10/Backups/rsf/rsf/vm") && !strings.Contains(out, "does not resume a send of rust10/Backups/rsf/vm") {
		t.Errorf("a forged token: exit %d, want a refusal naming the dataset being restored:\n%s", code, out)
	}
	if log := labtest.Root(t, "cat /tmp/zfs-forge.log"); strings.Contains("\n"+log, "\nreceive") {
		t.Errorf("the host was asked to receive after a forged token:\n%s", log)
	}
	if after := labtest.Root(t, "zfs list -H -t all -r -o name,guid host05data"); after != before {
		t.Errorf("the host's pool changed:\nbefore\n%s\nafter\n%s", before, after)
	}
}
