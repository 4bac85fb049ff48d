//go:build lab && linux

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// A restore from media of a tree (a VM: a filesystem and its zvol) on a host that has the vault
// binary and no vault configuration. The guest plays the vault, whose job "tr" holds the tree at
// rust10/Backups/tr/vmt, and then the host being restored, which imports it with vault import
// --to into new datasets of rust10: with the age identity, with the break-glass passphrase, and
// refusing tampered media without leaving anything on the pool.
func TestLabRestoreMediaTree(t *testing.T) {
	const src = "host05data/vmt"
	const vaultDS = "rust10/Backups/tr/vmt"
	const snap = "2026-12-01_00.00.00--1w"
	labtest.Root(t, `
install -d -m 0700 /root/keys /root/tree
/mnt/lab/vault keygen --signing /root/keys/tr-vault.sign >/root/keys/tr-vault.out
/mnt/lab/vault keygen --signing /root/keys/tr-rogue.sign >/root/keys/tr-rogue.out
/mnt/lab/vault keygen --age /root/keys/tr.age >/root/keys/tr-age.out
printf 'correct horse battery staple\n' >/root/keys/tr.pass && chmod 0600 /root/keys/tr.pass
zfs create -p `+src+`
head -c 6M /dev/urandom >/`+src+`/a.bin && echo hello >/`+src+`/b.txt && mkdir /`+src+`/d && head -c 100k /dev/urandom >/`+src+`/d/c.bin
zfs create -V 32M -o volmode=dev `+src+`/disk0
dd if=/dev/urandom of=$(/mnt/lab/zvoldev `+src+`/disk0) bs=1M count=8 conv=notrunc status=none
zfs snapshot -r `+src+`@`+snap+`
zfs create -p rust10/Backups/tr
zfs send `+src+`@`+snap+` | zfs receive -u `+vaultDS+`
zfs send `+src+`/disk0@`+snap+` | zfs receive -u `+vaultDS+`/disk0
`)
	t.Cleanup(func() {
		labtest.Root(t, `
rm -f /etc/vault/vault.toml; [ -e /etc/vault/vault.toml.tree-away ] && mv /etc/vault/vault.toml.tree-away /etc/vault/vault.toml || true
for d in rust10/RestoredVM rust10/RestoredVM2 rust10/Backups/tr `+src+`; do zfs destroy -r $d 2>/dev/null || true; done`)
	})
	signer := regexp.MustCompile(`public_key = "([^"]+)"`).FindStringSubmatch(labtest.Root(t, "cat /root/keys/tr-vault.out"))[1]
	rcpt := regexp.MustCompile(`(age1[0-9a-z]+)`).FindStringSubmatch(labtest.Root(t, "cat /root/keys/tr-age.out"))[1]
	// The vault's configuration, at a path of its own; the state records the properties the
	// source had set.
	labtest.Root(t, fmt.Sprintf(`mkdir -p /root/tree /var/lib/vault-tree/props && cat >/root/tree/vault.toml <<'EOF'
user = "backup"
state_dir = "/var/lib/vault-tree"
zfs_binary = "/sbin/zfs"
hold_prefix = "vault:lab:"
age_identity = "/root/keys/tr.age"

[[signer]]
name = "host09"
public_key = %q
datasets = ["host05data/vmt"]

[[job]]
name = "tr"
media_signers = ["host09"]
source_datasets = ["host05data/vmt"]
recursive = true
target = "rust10/Backups/tr"
rpo = "8d"
EOF
/mnt/lab/vault config check /root/tree/vault.toml >/dev/null`, signer))
	// The record a pull makes (TestLabPropsRecorded proves it); the vault's copy here arrived by
	// hand, as a media job's does, so the test writes it.
	labtest.Root(t, `cat >/var/lib/vault-tree/props/tr.json <<'EOF'
{"job": "tr", "datasets": {"host05data/vmt": {"compression": "zstd", "atime": "off", "com.example:role": "vm host"}, "host05data/vmt/disk0": {"logbias": "throughput"}}}
EOF`)

	restoreExport := func(dir, key string) string {
		labtest.Root(t, fmt.Sprintf("rm -rf %s && mkdir -p %s && /mnt/lab/vault restore export -c /root/tree/vault.toml --to %s --signing-key /root/keys/%s.sign --recipient %s --passphrase-file /root/keys/tr.pass --volume-size 4MiB tr %s@%s",
			dir, dir, dir, key, rcpt, src, snap))
		return strings.TrimSpace(labtest.Root(t, "ls "+dir+"/*.manifest"))
	}
	manifest := restoreExport("/tmp/media/tree", "tr-vault")
	if n := strings.Count(labtest.Root(t, "ls /tmp/media/tree"), ".vol"); n < 3 {
		t.Fatalf("a 14 MiB tree with 4 MiB volumes made %d volumes", n)
	}
	if got := labtest.Root(t, "ls /tmp/media/tree | grep -c manifest.sig"); strings.TrimSpace(got) != "1" {
		t.Fatalf("a tree export is one export, with one manifest: %s", got)
	}

	// The host being restored has no vault configuration: a file at the default path that is
	// not TOML would fail any command that read it.
	labtest.Root(t, `mkdir -p /etc/vault && { [ -e /etc/vault/vault.toml ] && mv /etc/vault/vault.toml /etc/vault/vault.toml.tree-away || true; } && echo 'not a configuration [[[' >/etc/vault/vault.toml`)
	importTo := func(to, how, m string) *resultT {
		res := labtest.Try(t, "", fmt.Sprintf("cd / && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin timeout 300 /mnt/lab/vault import --to %s --signer-key %s %s %s", to, labtest.Q(signer), how, labtest.Q(m)))
		return &resultT{res.Exit, res.Stdout + res.Stderr}
	}
	pool := func() string { return labtest.Root(t, "zfs list -H -p -t all -r -o name,guid rust10") }
	sum := func(s string) string { return strings.TrimSpace(labtest.Root(t, "/mnt/lab/snapsum "+labtest.Q(s))) }
	prop := func(ds, p string) string {
		return strings.TrimSpace(labtest.Root(t, "zfs get -H -o value,source "+p+" "+ds))
	}
	checkRestored := func(to string) {
		t.Helper()
		for _, rel := range []string{"", "/disk0"} {
			if a, b := sum(vaultDS+rel+"@"+snap), sum(to+rel+"@"+snap); a != b {
				t.Errorf("%s%s@%s differs from the vault's copy: %s, want %s", to, rel, snap, b, a)
			}
		}
		for _, c := range [][3]string{
			{to, "compression", "zstd\tlocal"}, {to, "atime", "off\tlocal"}, {to, "com.example:role", "vm host\tlocal"},
			{to + "/disk0", "logbias", "throughput\tlocal"},
			{to, "readonly", "off\tdefault"}, {to, "mounted", "no\t-"},
		} {
			if got := prop(c[0], c[1]); got != c[2] {
				t.Errorf("%s %s = %q, want %q", c[0], c[1], got, c[2])
			}
		}
	}

	// With the identity.
	if r := importTo("rust10/RestoredVM", "--identity /root/keys/tr.age", manifest); r.exit != 0 {
		t.Fatalf("import --to with the identity: exit %d\n%s", r.exit, r.out)
	} else {
		t.Logf("import --to:\n%s", r.out)
	}
	checkRestored("rust10/RestoredVM")
	// Again onto an existing dataset: refused.
	before := pool()
	if r := importTo("rust10/RestoredVM", "--identity /root/keys/tr.age", manifest); r.exit == 0 || !strings.Contains(r.out, "exists") {
		t.Errorf("import --to onto an existing dataset: exit %d\n%s", r.exit, r.out)
	}
	if after := pool(); after != before {
		t.Errorf("a refused import --to onto an existing dataset changed the pool:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// With the break-glass passphrase.
	if r := importTo("rust10/RestoredVM2", "--passphrase-file /root/keys/tr.pass", manifest); r.exit != 0 {
		t.Fatalf("import --to with the passphrase: exit %d\n%s", r.exit, r.out)
	}
	checkRestored("rust10/RestoredVM2")
	labtest.Root(t, "zfs destroy -r rust10/RestoredVM2")

	// Tampered media: refused, and the pool as it was.
	tamper := func(name, script string) string {
		dir := "/tmp/media/tree-" + name
		labtest.Root(t, "rm -rf "+dir+" && cp -a /tmp/media/tree "+dir+" && cd "+dir+" && "+script)
		return dir + "/" + manifest[strings.LastIndex(manifest, "/")+1:]
	}
	rogue := restoreExport("/tmp/media/tree-rogue", "tr-rogue")
	before = pool()
	for _, c := range []struct{ name, manifest, want string }{
		// A flipped byte near the end of the last volume: the filesystem's stream has been
		// received when it is found, and is taken away again.
		{"flipped byte", tamper("flip", `f=$(ls *.vol* | tail -1) && sz=$(stat -c %s $f) && printf '\x42' | dd of=$f bs=1 seek=$((sz-4096)) conv=notrunc status=none`), "corrupt"},
		{"signed by another key", rogue, "not by the --signer-key"},
		{"missing volume", tamper("missing", "rm *.vol0002"), "missing"},
	} {
		r := importTo("rust10/RestoredVM2", "--identity /root/keys/tr.age", c.manifest)
		if r.exit == 0 || !strings.Contains(r.out, c.want) || strings.Contains(r.out, "cannot take away") {
			t.Errorf("%s: exit %d, want a refusal mentioning %q:\n%s", c.name, r.exit, c.want, r.out)
		}
		if after := pool(); after != before {
			t.Errorf("%s: the pool changed:\nbefore:\n%s\nafter:\n%s", c.name, before, after)
		}
	}

	// SIGTERM while the zvol's receive stalls, the filesystem already received: the import stops
	// and destroys what it created. (The wrapper holds the zvol's stream after its first MiB.)
	labtest.Root(t, `printf '#!/bin/sh\ncase "$*" in *receive*/disk0) { head -c 1048576; sleep 60; cat; } | /sbin/zfs "$@"; exit;; esac\nexec /sbin/zfs "$@"\n' >/usr/local/sbin/zfs-stall-tree && chmod 0755 /usr/local/sbin/zfs-stall-tree`)
	before = pool()
	res := labtest.Try(t, "", fmt.Sprintf(`set +e
cd /
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /mnt/lab/vault import --zfs /usr/local/sbin/zfs-stall-tree --to rust10/RestoredVM2 --signer-key %s --identity /root/keys/tr.age %s >/tmp/tree-term.out 2>&1 &
pid=$!   # env execs vault: this is vault's pid
for i in $(seq 300); do zfs list rust10/RestoredVM2 >/dev/null 2>&1 && break; sleep 0.1; done
zfs list -H -o name rust10/RestoredVM2
sleep 2
kill -TERM $pid
wait $pid
echo "exit=$?"
cat /tmp/tree-term.out`, labtest.Q(signer), labtest.Q(manifest)))
	if !strings.Contains(res.Stdout, "rust10/RestoredVM2\n") || !strings.Contains(res.Stdout, "exit=1\n") ||
		!strings.Contains(res.Stdout, "nothing left of it on the pool") || strings.Contains(res.Stdout, "cannot take away") {
		t.Errorf("SIGTERM during the zvol's receive: want the root received first, then a failed import that takes it away:\n%s%s", res.Stdout, res.Stderr)
	}
	if after := pool(); after != before {
		t.Errorf("SIGTERM: the pool changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

type resultT struct {
	exit int
	out  string
}
