//go:build lab && linux

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// The sneakernet round trip and its refusals. The lab guest plays the offline host (which
// exports host05data/offline/fs to "media" under /tmp/media) and the vault (which imports into
// rust10/Backups/sn). The vault's zfs is a spy that logs every call, so a test can tell that
// a refusal decided before the stream started no zfs receive at all.
func TestLabSneakernet(t *testing.T) {
	const src = "host05data/offline/fs"
	const dst = "rust10/Backups/sn/fs"
	labtest.Root(t, `
printf '#!/bin/sh\necho "$*" >>/tmp/zfs-spy.log\nif [ "$1" = receive ] && [ -e /tmp/zfs-spy.stall ]; then { head -c 1048576; sleep 6; cat; } | /sbin/zfs "$@"; exit; fi\nexec /sbin/zfs "$@"\n' >/usr/local/sbin/zfs-spy && chmod 0755 /usr/local/sbin/zfs-spy
install -d -m 0700 /root/keys
/mnt/lab/vault keygen --signing /root/keys/host09.sign >/root/keys/host09.out
/mnt/lab/vault keygen --signing /root/keys/rogue.sign >/root/keys/rogue.out
/mnt/lab/vault keygen --signing /root/keys/unpinned.sign >/dev/null
/mnt/lab/vault keygen --signing /root/keys/vault.sign >/root/keys/vault.out
/mnt/lab/vault keygen --age /root/keys/vault.age >/root/keys/vault-age.out
/mnt/lab/vault keygen --age /root/keys/other.age >/root/keys/other-age.out
stat -c '%a' /root/keys/host09.sign /root/keys/vault.age | sort -u | grep -qx 600
zfs create -p `+src+`
head -c 20M /dev/urandom >/`+src+`/a.bin
zfs snapshot `+src+`@2026-11-24_00.00.00--1m
`)
	pub := func(f string) string {
		return regexp.MustCompile(`public_key = "([^"]+)"`).FindStringSubmatch(labtest.Root(t, "cat /root/keys/"+f+".out"))[1]
	}
	recipient := func(f string) string {
		return regexp.MustCompile(`(age1[0-9a-z]+)`).FindStringSubmatch(labtest.Root(t, "cat /root/keys/"+f+".out"))[1]
	}
	cfg := fmt.Sprintf(`user = "backup"
state_dir = "/var/lib/vault-sn"
zfs_binary = "/usr/local/sbin/zfs-spy"
hold_prefix = "vault:lab:"
age_identity = "/root/keys/vault.age"

[[signer]]
name = "host09"
public_key = %q
datasets = ["host05data/offline"]

[[signer]]
name = "rogue"
public_key = %q
datasets = ["host05data/other"]

[[signer]]
name = "vault"
public_key = %q
datasets = ["rust10/Backups/sn"]

[[job]]
name = "sn"
media_signers = ["host09", "rogue"]
source_datasets = ["host05data/offline/fs", "host05data/other"]
target = "rust10/Backups/sn"
rpo = "8d"

[[job]]
name = "restored"
media_signers = ["vault"]
source_datasets = ["rust10/Backups/sn/fs"]
target = "rust10/Restored"
rpo = "8d"
`, pub("host09"), pub("rogue"), pub("vault"))
	labtest.Root(t, "mkdir -p /etc/vault && cat >/etc/vault/sn.toml <<'EOF'\n"+cfg+"EOF\n/mnt/lab/vault config check /etc/vault/sn.toml >/dev/null")
	rcpt := recipient("vault-age")
	export := func(dir, key, to, extra, snap string) string {
		return labtest.Root(t, fmt.Sprintf("rm -rf %s && mkdir -p %s && /mnt/lab/vault export --to %s --signing-key /root/keys/%s.sign --recipient %s --volume-size 8MiB --host host09 %s %s@%s",
			dir, dir, dir, key, to, extra, src, snap))
	}
	manifest := func(dir string) string {
		return strings.TrimSpace(labtest.Root(t, "ls "+dir+"/*.manifest"))
	}
	imp := func(dir string) (int, string, bool) {
		labtest.Root(t, ": >/tmp/zfs-spy.log")
		res := labtest.Try(t, "", "timeout 120 /mnt/lab/vault import -c /etc/vault/sn.toml "+labtest.Q(manifest(dir))) // 124: it hung
		spied := labtest.Root(t, "cat /tmp/zfs-spy.log")
		return res.Exit, res.Stdout + res.Stderr, strings.Contains(spied, "receive")
	}

	// Full, then incremental: the data arrives intact.
	export("/tmp/media/full", "host09", rcpt, "", "2026-11-24_00.00.00--1m")
	if n := strings.Count(labtest.Root(t, "ls /tmp/media/full"), ".vol"); n < 3 {
		t.Errorf("a 20 MiB export with 8 MiB volumes made %d volumes", n)
	}
	if code, out, _ := imp("/tmp/media/full"); code != 0 {
		t.Fatalf("full import: exit %d\n%s", code, out)
	}
	labtest.Root(t, "head -c 6M /dev/urandom >/"+src+"/b.bin && zfs snapshot "+src+"@2026-11-25_00.00.00--1m")
	export("/tmp/media/incr", "host09", rcpt, "--from 2026-11-24_00.00.00--1m", "2026-11-25_00.00.00--1m")
	if code, out, _ := imp("/tmp/media/incr"); code != 0 {
		t.Fatalf("incremental import: exit %d\n%s", code, out)
	}
	sameContent(t, src, dst, []string{"2026-11-24_00.00.00--1m", "2026-11-25_00.00.00--1m"})
	if holds := labtest.Root(t, "zfs holds -H "+dst+"@2026-11-25_00.00.00--1m"); !strings.Contains(holds, "vault:lab:sn") {
		t.Errorf("the imported snapshot is not held: %q", holds)
	}
	// A replay is "already imported", exit 0, and starts no receive.
	if code, out, recv := imp("/tmp/media/incr"); code != 0 || !strings.Contains(out, "already imported") || recv {
		t.Errorf("replay: exit %d, receive started %v:\n%s", code, recv, out)
	}

	// A restore export from the vault, imported into a fresh dataset, round-trips.
	labtest.Root(t, "rm -rf /tmp/media/restore && mkdir -p /tmp/media/restore && /mnt/lab/vault restore export -c /etc/vault/sn.toml --to /tmp/media/restore --signing-key /root/keys/vault.sign --recipient "+rcpt+" sn "+src+"@2026-11-25_00.00.00--1m")
	// A first import that fails mid-stream (a flipped byte near the end of the last volume)
	// leaves the pool as it was: the target's parent, created for the receive, is taken away.
	if res := labtest.Try(t, "", "zfs list rust10/Restored"); res.Exit == 0 {
		t.Fatalf("rust10/Restored exists before the first restore import")
	}
	pool := func() string {
		return labtest.Root(t, "zfs list -H -p -t all -r -o name,guid,createtxg,receive_resume_token rust10")
	}
	poolBefore := pool()
	labtest.Root(t, `rm -rf /tmp/media/restore-flip && cp -a /tmp/media/restore /tmp/media/restore-flip && cd /tmp/media/restore-flip &&
f=$(ls *.vol* | tail -1) && sz=$(stat -c %s $f) && printf '\x42' | dd of=$f bs=1 seek=$((sz-4096)) conv=notrunc status=none`)
	if code, out, recv := imp("/tmp/media/restore-flip"); code == 0 || !recv || strings.Contains(out, "cannot take away") {
		t.Errorf("a restore import that fails mid-stream: exit %d, receive started %v:\n%s", code, recv, out)
	}
	if res := labtest.Try(t, "", "zfs list -H -o name -r rust10/Restored"); res.Exit == 0 {
		t.Errorf("a failed first import left datasets behind:\n%s", res.Stdout)
	}
	if after := pool(); after != poolBefore {
		t.Errorf("a failed first import changed the pool:\nbefore:\n%s\nafter:\n%s", poolBefore, after)
	}
	if code, out, _ := imp("/tmp/media/restore"); code != 0 {
		t.Fatalf("importing the restore export: exit %d\n%s", code, out)
	}
	sameContent(t, src, "rust10/Restored/fs", []string{"2026-11-25_00.00.00--1m"})

	// The refusals. Each leaves the target exactly as it was.
	labtest.Root(t, "head -c 12M /dev/urandom >/"+src+"/c.bin && zfs snapshot "+src+"@2026-11-26_00.00.00--1m")
	good := "/tmp/media/next"
	export(good, "host09", rcpt, "--from 2026-11-25_00.00.00--1m", "2026-11-26_00.00.00--1m")
	variant := func(name, script string) string {
		dir := "/tmp/media/" + name
		labtest.Root(t, "rm -rf "+dir+" && cp -a "+good+" "+dir+" && cd "+dir+" && "+script)
		return dir
	}
	vol := func(n int) string { return fmt.Sprintf("*.vol%04d", n) }
	cases := []struct {
		name, dir, want string
		preStream       bool
	}{
		{"flipped bit", variant("flip", "f=$(ls "+vol(2)+") && printf '\\x42' | dd of=$f bs=1 seek=1000 conv=notrunc status=none"), "volume 2", false},
		{"truncated volume", variant("trunc", "f=$(ls "+vol(2)+") && truncate -s -1000 $f"), "volume 2", true},
		{"missing volume", variant("missing", "rm $(ls "+vol(2)+")"), "volume 2", true},
		{"swapped volumes", variant("swap", "a=$(ls "+vol(1)+") b=$(ls "+vol(2)+") && mv $a x && mv $b $a && mv x $b"), "volume", true},
		{"a named pipe for a volume", variant("fifo", "f=$(ls "+vol(2)+") && rm $f && mkfifo $f"), "named pipe", true},
		{"a named pipe for the manifest", variant("fifoman", "m=$(ls *.manifest) && rm $m && mkfifo $m"), "named pipe", true},
		{"a named pipe for the signature", variant("fifosig", "g=$(ls *.manifest.sig) && rm $g && mkfifo $g"), "named pipe", true},
		{"a volume a link to a named pipe", variant("fifolink", "rm -f /tmp/media/a-pipe && mkfifo /tmp/media/a-pipe && f=$(ls "+vol(2)+") && rm $f && ln -s /tmp/media/a-pipe $f"), "symbolic link", true},
		{"the manifest a link to /dev/zero", variant("devzero", "m=$(ls *.manifest) && rm $m && ln -s /dev/zero $m"), "symbolic link", true},
		{"a volume a link to another", variant("link", "a=$(ls "+vol(1)+") b=$(ls "+vol(2)+") && rm $b && ln -s $a $b"), "symbolic link", true},
		{"edited manifest", variant("edited", "sed -i 's/\"host09\"/\"host10\"/' *.manifest"), "signature", true},
		{"unpinned signer", export("/tmp/media/unpinned", "unpinned", rcpt, "--from 2026-11-25_00.00.00--1m", "2026-11-26_00.00.00--1m") + "/tmp/media/unpinned", "not a pinned signer", true},
		{"signer not allowed the dataset", export("/tmp/media/rogue", "rogue", rcpt, "--from 2026-11-25_00.00.00--1m", "2026-11-26_00.00.00--1m") + "/tmp/media/rogue", "may not export", true},
		{"wrong age identity", export("/tmp/media/otherage", "host09", recipient("other-age"), "--from 2026-11-25_00.00.00--1m", "2026-11-26_00.00.00--1m") + "/tmp/media/otherage", "age identit", true},
	}
	// And an incremental whose base the vault does not have.
	labtest.Root(t, "zfs snapshot "+src+"@2026-11-27_00.00.00--1m")
	export("/tmp/media/nobase", "host09", rcpt, "--from 2026-11-26_00.00.00--1m", "2026-11-27_00.00.00--1m")
	cases = append(cases, struct {
		name, dir, want string
		preStream       bool
	}{"base not on the target", "/tmp/media/nobase", "is not on", true})

	for _, c := range cases {
		dir := c.dir
		if i := strings.LastIndex(dir, "/tmp/media/"); i > 0 {
			dir = dir[i:]
		}
		before := labtest.Root(t, "zfs list -H -p -t all -r -o name,guid,createtxg,receive_resume_token rust10/Backups/sn")
		code, out, recv := imp(dir)
		after := labtest.Root(t, "zfs list -H -p -t all -r -o name,guid,createtxg,receive_resume_token rust10/Backups/sn")
		if code == 0 {
			t.Errorf("%s: import succeeded:\n%s", c.name, out)
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("%s: want %q in the refusal, got:\n%s", c.name, c.want, out)
		}
		if before != after {
			t.Errorf("%s: the target changed:\nbefore:\n%s\nafter:\n%s", c.name, before, after)
		}
		if c.preStream && recv {
			t.Errorf("%s: decided before the stream, yet a zfs receive was started", c.name)
		}
	}
	// SIGTERM mid-stream: zfs receive has had the first MiB of the stream and waits for the
	// rest (the spy stalls it for 6 s), the import is blocked writing to it. The import stops
	// within 3 s, non-zero, no zfs receive is left running and the pool is as it was.
	before := pool()
	res := labtest.Try(t, "", `set +e; : >/tmp/zfs-spy.log; touch /tmp/zfs-spy.stall
/mnt/lab/vault import -c /etc/vault/sn.toml `+manifest(good)+` >/tmp/term.out 2>&1 & p=$!
for i in $(seq 100); do grep -q receive /tmp/zfs-spy.log && break; sleep 0.1; done
sleep 1; kill -TERM $p; t0=$(date +%s%N); wait $p; e=$?
echo "exit=$e ms=$(( ($(date +%s%N) - t0) / 1000000 ))"; rm -f /tmp/zfs-spy.stall; sleep 7
pgrep -a -f '^/sbin/zfs receive' || echo "no receive left"; cat /tmp/term.out`)
	var termExit, termMS int
	fmt.Sscanf(res.Stdout, "exit=%d ms=%d", &termExit, &termMS)
	if termExit == 0 || termMS > 3000 || !strings.Contains(res.Stdout, "no receive left") {
		t.Errorf("SIGTERM mid-stream: exit %d after %d ms, want non-zero within 3 s (the stalled receive waits 6) and no zfs receive left:\n%s%s", termExit, termMS, res.Stdout, res.Stderr)
	}
	if after := pool(); after != before {
		t.Errorf("SIGTERM mid-stream changed the pool:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	// The good copy still imports.
	if code, out, _ := imp(good); code != 0 {
		t.Errorf("the intact export after the refusals: exit %d\n%s", code, out)
	}
}
