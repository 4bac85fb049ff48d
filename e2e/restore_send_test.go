//go:build lab && linux

package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// restoreUser sets up the host side of a restore as README's "Restoring over the network" says:
// a user restore with a key of its own (not the daemon's), allowed in by a restrict line, and
// the zfs allow on the parent of the restores. It returns the key file on the vault.
func restoreUser(t testing.TB, parent string) string {
	t.Helper()
	labtest.Root(t, `
id restore >/dev/null 2>&1 || useradd -m -s /bin/bash restore
install -d -o restore -g restore -m 0700 /home/restore/.ssh
rm -f /root/restore_ed25519 /root/restore_ed25519.pub
ssh-keygen -q -t ed25519 -N '' -C vault-restore -f /root/restore_ed25519
echo "restrict $(cat /root/restore_ed25519.pub)" >/home/restore/.ssh/authorized_keys
chown restore:restore /home/restore/.ssh/authorized_keys && chmod 0600 /home/restore/.ssh/authorized_keys
zfs create -p `+labtest.Q(parent)+`
zfs allow -u restore create,mount,receive,compression,recordsize,userprop `+labtest.Q(parent))
	return "/root/restore_ed25519"
}

// restoreSend runs vault restore send as root (the console) and returns the result.
func restoreSend(t testing.TB, cfg string, args ...string) (string, int) {
	t.Helper()
	line := "/mnt/lab/vault restore send -c " + labtest.Q(cfg)
	for _, a := range args {
		line += " " + labtest.Q(a)
	}
	res := labtest.Try(t, "", line)
	return res.Stdout + res.Stderr, res.Exit
}

// A VM (a filesystem with files and a zvol child with data) is pulled, then restored by vault
// restore send into the source pool under a new name, as a restore user with only the
// documented delegation: the same content, the source's properties set again; a second run
// refuses the existing target; a restore cut mid-stream finishes with --resume.
func TestLabRestoreSend(t *testing.T) {
	const src = "host05data/rs/vm"
	labtest.Root(t, `
zfs destroy -r host05data/rs 2>/dev/null || true; zfs destroy -r host05data/restored 2>/dev/null || true
zfs create -p -o compression=zstd -o recordsize=64K -o com.example:role=web host05data/rs/vm
zfs create -V 32M -o volmode=dev -o com.example:role=disk host05data/rs/vm/disk0
head -c 24M /dev/urandom >/host05data/rs/vm/a.bin
dd if=/dev/urandom of=$(/mnt/lab/zvoldev host05data/rs/vm/disk0) bs=1M count=8 conv=notrunc status=none
zfs snapshot -r host05data/rs/vm@2026-11-20_00.00.00--1w
head -c 1M /dev/urandom >/host05data/rs/vm/b.bin
dd if=/dev/urandom of=$(/mnt/lab/zvoldev host05data/rs/vm/disk0) bs=1M seek=8 count=2 conv=notrunc status=none
zfs snapshot -r host05data/rs/vm@2026-11-21_00.00.00--1w
`)
	snaps := []string{"2026-11-20_00.00.00--1w", "2026-11-21_00.00.00--1w"}
	cfg := pruneConfig(t, "rs", []string{src}, "") // a state directory of its own: the pull records the properties
	mustPull(t, cfg)
	key := restoreUser(t, "host05data/restored")

	// The daemon's key and a malformed target are refused before anything is sent.
	if out, code := restoreSend(t, cfg, "rs", src, "--to", "restore@127.0.0.1:host05data/restored/vm", "--identity", "/home/backup/.ssh/id_ed25519"); code != 2 || !strings.Contains(out, "the daemon's key") {
		t.Errorf("the daemon's key: exit %d, %s", code, out)
	}
	if out, code := restoreSend(t, cfg, "rs", src, "--to", "restore@127.0.0.1:70000:host05data/restored/vm", "--identity", key); code != 2 || !strings.Contains(out, "port") {
		t.Errorf("a bad port: exit %d, %s", code, out)
	}

	to := "restore@127.0.0.1:host05data/restored/vm"
	out, code := restoreSend(t, cfg, "rs", src, "--to", to, "--identity", key)
	if code != 0 {
		t.Fatalf("vault restore send: exit %d\n%s", code, out)
	}
	t.Logf("restore send:\n%s", out)
	checkRestored(t, src, "host05data/restored/vm", snaps)

	// A second run refuses the existing target.
	out, code = restoreSend(t, cfg, "rs", src, "--to", to, "--identity", key)
	if code != 2 || !strings.Contains(out, "host05data/restored/vm exists on 127.0.0.1; restore beside it under a new name, or --resume") {
		t.Errorf("a second restore onto the same target: exit %d, want 2 and the refusal:\n%s", code, out)
	}

	// A restore cut mid-stream (the vault killed with -9 during the first stream, slowed to
	// 4 MiB/s) leaves a resume token on the host; --resume finishes it.
	to2 := "restore@127.0.0.1:host05data/restored/vm2"
	labtest.Root(t, fmt.Sprintf(`/mnt/lab/vault restore send -c %s --limit 4MiB rs %s --to %s --identity %s >/tmp/cut.out 2>&1 &
pid=$!
sleep 4
kill -9 $pid
sleep 3`, labtest.Q(cfg), src, to2, key))
	if tok := strings.TrimSpace(labtest.Root(t, "zfs get -H -o value receive_resume_token host05data/restored/vm2")); tok == "-" || tok == "" {
		t.Fatalf("after kill -9 mid-stream, host05data/restored/vm2 has no resume token:\n%s", labtest.Root(t, "cat /tmp/cut.out; zfs list -r -t all host05data/restored"))
	}
	out, code = restoreSend(t, cfg, "rs", src, "--to", to2, "--identity", key)
	if code != 2 || !strings.Contains(out, "--resume to finish a cut restore") {
		t.Errorf("a cut restore without --resume: exit %d, want the refusal:\n%s", code, out)
	}
	out, code = restoreSend(t, cfg, "rs", src, "--to", to2, "--identity", key, "--resume")
	if code != 0 || !strings.Contains(out, "resume") {
		t.Fatalf("vault restore send --resume: exit %d, want a resumed stream:\n%s", code, out)
	}
	t.Logf("restore send --resume:\n%s", out)
	checkRestored(t, src, "host05data/restored/vm2", snaps)
	// A third run with --resume finds nothing to do.
	if out, code = restoreSend(t, cfg, "rs", src, "--to", to2, "--identity", key, "--resume"); code != 0 || !strings.Contains(out, "0 streams") {
		t.Errorf("--resume on a complete restore: exit %d, want 0 streams:\n%s", code, out)
	}
}

// checkRestored compares a restored tree with the source: the same snapshots, the same content
// (files, volume bytes), and the recorded properties set locally.
func checkRestored(t *testing.T, src, dst string, snaps []string) {
	t.Helper()
	for _, rel := range []string{"", "/disk0"} {
		if got := snapNames(t, dst+rel); strings.Join(got, " ") != strings.Join(snaps, " ") {
			t.Errorf("%s%s has snapshots %q, want %q", dst, rel, got, snaps)
		}
		sameContent(t, src+rel, dst+rel, snaps)
	}
	got := labtest.Root(t, "zfs get -H -p -s local -o name,property,value compression,recordsize,com.example:role -r "+labtest.Q(dst)+" | LC_ALL=C sort")
	want := fmt.Sprintf("%s\tcom.example:role\tweb\n%s\tcompression\tzstd\n%s\trecordsize\t65536\n%s/disk0\tcom.example:role\tdisk\n", dst, dst, dst, dst)
	if got != want {
		t.Errorf("restored properties:\n%s\nwant:\n%s", got, want)
	}
}

// An encrypted VM (a filesystem and a zvol child, under a passphrase the vault never sees) goes
// back raw: the restored datasets are encrypted, their keys not loaded, and once the operator
// loads the source's key the content is the source's. The recorded properties are set as for a
// plain restore (measured here: zfs takes compression, recordsize and user properties on a raw
// receive).
func TestLabRestoreSendEncrypted(t *testing.T) {
	const src = "host05data/rse/vm"
	labtest.Root(t, `
zfs destroy -r host05data/rse 2>/dev/null || true; zfs destroy -r host05data/restored 2>/dev/null || true
echo 'correct horse battery' >/root/rse.key
zfs create -p host05data/rse
zfs create -o encryption=on -o keyformat=passphrase -o keylocation=file:///root/rse.key -o compression=zstd -o recordsize=64K -o com.example:role=web host05data/rse/vm
zfs create -V 16M -o volmode=dev -o com.example:role=disk host05data/rse/vm/disk0
head -c 4M /dev/urandom >/host05data/rse/vm/a.bin
dd if=/dev/urandom of=$(/mnt/lab/zvoldev host05data/rse/vm/disk0) bs=1M count=4 conv=notrunc status=none
zfs snapshot -r host05data/rse/vm@2026-11-20_00.00.00--1w
head -c 1M /dev/urandom >/host05data/rse/vm/b.bin
zfs snapshot -r host05data/rse/vm@2026-11-21_00.00.00--1w
`)
	snaps := []string{"2026-11-20_00.00.00--1w", "2026-11-21_00.00.00--1w"}
	cfg := pruneConfig(t, "rse", []string{src}, "") // a state directory of its own: the pull records the properties
	mustPull(t, cfg)
	key := restoreUser(t, "host05data/restored")
	dst := "host05data/restored/vmenc"
	out, code := restoreSend(t, cfg, "rse", src, "--to", "restore@127.0.0.1:"+dst, "--identity", key)
	if code != 0 {
		t.Fatalf("vault restore send of an encrypted tree: exit %d\n%s", code, out)
	}
	t.Logf("restore send:\n%s", out)
	got := labtest.Root(t, "zfs get -H -t filesystem,volume -o name,property,value encryption,keystatus -r "+labtest.Q(dst)+" | LC_ALL=C sort")
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 || (f[1] == "encryption" && f[2] != "aes-256-gcm") || (f[1] == "keystatus" && f[2] != "unavailable") {
			t.Errorf("restored %q: want encrypted with its key not loaded", line)
		}
	}
	// Each dataset came as its own raw stream, so each is an encryption root of its own.
	labtest.Root(t, "zfs list -H -o name,encryptionroot -r "+labtest.Q(dst)+" | awk '$1==$2{print $1}' | xargs -r -n1 zfs load-key -L file:///root/rse.key")
	checkRestored(t, src, dst, snaps)
}
