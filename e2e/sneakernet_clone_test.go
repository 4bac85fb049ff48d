//go:build lab && linux

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/belltech/vault/lab"
	"github.com/belltech/vault/lab/labtest"
)

// vault restore clone: a read-only clone of a held snapshot under POOL/Recovery, with the
// vault's copy untouched, and every bad input refused before anything is created.
func TestLabSneakernetRestoreClone(t *testing.T) {
	const src = "host05data/snclone/fs"
	const dst = "rust10/Backups/snclone/fs"
	const s1, s2 = "2026-11-24_00.00.00--1m", "2026-11-25_00.00.00--1m"
	labtest.Root(t, "zfs create -p "+src)
	write(t, src, "a.bin", 8)
	snap(t, s1, src)
	write(t, src, "b.bin", 4)
	snap(t, s2, src)
	cfg := pullConfig(t, "snclone", []string{src}, "")
	mustPull(t, cfg)
	labtest.Root(t, "zfs destroy -r rust10/Recovery 2>/dev/null || true")

	// What must not change, whatever restore clone does.
	vaultState := func() string {
		return labtest.Root(t, "zfs list -H -p -t all -r -o name,guid,createtxg,written,origin "+dst+" && zfs list -H -o name -t snapshot "+dst+" | xargs zfs holds -H | sort")
	}
	recoveryState := func() string {
		return labtest.Root(t, "zfs list -H -p -t all -r -o name,guid,origin,readonly rust10/Recovery 2>/dev/null || true")
	}
	restoreClone := func(args string) (int, string) {
		res := labtest.Try(t, "", "timeout -k 5 120 /mnt/lab/vault restore clone -c "+cfg+" "+args)
		return res.Exit, res.Stdout + res.Stderr
	}
	before := vaultState()

	// Bad inputs first, while rust10/Recovery does not exist: nothing may create it.
	bad := []struct{ name, args, want string }{
		{"unknown job", "nosuchjob " + src + "@" + s1, `"nosuchjob"`},
		{"snapshot the vault does not hold", "snclone " + src + "@2030-01-01_00.00.00--1m", "holds no snapshot"},
		{"dataset the vault does not hold", "snclone " + dst + "x@" + s1, "holds no snapshot"},
		{"dataset outside the job", "snclone host05data/elsewhere@" + s1, "neither a source dataset"},
		{"malformed name", "snclone " + src + "@bad@name", "invalid snapshot name"},
		{"no snapshot part", "snclone " + src, "not a snapshot name"},
		// Flags may follow the operands, so this is read as an unknown flag: refused all the same.
		{"name starting with a dash", "snclone -" + src + "@" + s1, "-" + src + "@" + s1},
	}
	for _, c := range bad {
		code, out := restoreClone(c.args)
		if code == 0 {
			t.Errorf("%s: restore clone %s succeeded:\n%s", c.name, c.args, out)
		}
		if !strings.Contains(out, c.want) {
			t.Errorf("%s: want %q in the refusal, got:\n%s", c.name, c.want, out)
		}
		if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 1 && !strings.Contains(out, "usage:") {
			t.Errorf("%s: want a one-line error, got:\n%s", c.name, out)
		}
		if got := recoveryState(); got != "" {
			t.Fatalf("%s: rust10/Recovery appeared:\n%s", c.name, got)
		}
	}

	// The clone of the older snapshot, by its source name.
	code, out := restoreClone("snclone " + src + "@" + s1)
	if code != 0 {
		t.Fatalf("restore clone: exit %d\n%s", code, out)
	}
	clone := "rust10/Recovery/Backups_snclone_fs-" + s1
	if !strings.Contains(out, clone) {
		t.Errorf("the output does not name the clone %s:\n%s", clone, out)
	}
	for _, want := range []string{"zfs destroy " + clone, "zfs promote " + clone, "zfs mount " + clone} {
		if !strings.Contains(out, want) {
			t.Errorf("the output does not say %q:\n%s", want, out)
		}
	}
	props := labtest.Root(t, "zfs get -H -o property,value origin,readonly,canmount,mounted "+clone)
	for _, want := range []string{"origin\t" + dst + "@" + s1, "readonly\ton", "canmount\tnoauto", "mounted\tno"} {
		if !strings.Contains(props, want) {
			t.Errorf("clone properties: want %q in\n%s", want, props)
		}
	}
	// Its content is the source snapshot's (snapsum hashes a snapshot: take one of the clone).
	labtest.Root(t, "zfs snapshot "+clone+"@check")
	a := strings.TrimSpace(labtest.Root(t, "/mnt/lab/snapsum "+src+"@"+s1))
	b := strings.TrimSpace(labtest.Root(t, "/mnt/lab/snapsum "+clone+"@check"))
	if a == "" || a != b {
		t.Errorf("clone content %s, source snapshot %s", b, a)
	}
	labtest.Root(t, "zfs destroy "+clone+"@check")
	// The clone mounts read-only where it says, and holds what the snapshot held.
	labtest.Root(t, "zfs mount "+clone+" && mp=$(zfs get -H -o value mountpoint "+clone+") && test -f $mp/a.bin && ! test -e $mp/b.bin && ! touch $mp/new 2>/dev/null && zfs unmount "+clone)

	// A second clone of the same snapshot is refused, naming the first; nothing changes.
	recBefore := recoveryState()
	code, out = restoreClone("snclone " + dst + "@" + s1)
	if code == 0 || !strings.Contains(out, clone+" already exists") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("a second clone: exit %d, want a one-line refusal naming %s:\n%s", code, clone, out)
	}
	if got := recoveryState(); got != recBefore {
		t.Errorf("a refused second clone changed rust10/Recovery:\nbefore:\n%s\nafter:\n%s", recBefore, got)
	}

	// The vault's copy is as it was: same snapshots, guids, holds, nothing written.
	if after := vaultState(); after != before {
		t.Errorf("restore clone changed the vault's copy:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got := snapNames(t, dst); strings.Join(got, " ") != s1+" "+s2 {
		t.Errorf("the vault's snapshots are %q, want %s and %s", got, s1, s2)
	}
	// The vault still pulls into its copy with the clone in place.
	write(t, src, "c.bin", 1)
	snap(t, "2026-11-26_00.00.00--1m", src)
	mustPull(t, cfg)
	sameContent(t, src, dst, []string{s1, s2, "2026-11-26_00.00.00--1m"})

	// Discarding it as printed leaves no trace on the vault's copy.
	labtest.Root(t, "zfs destroy "+clone)
	if got := labtest.Root(t, "zfs list -H -o name -t snapshot -r "+dst+" | wc -l"); strings.TrimSpace(got) != "3" {
		t.Errorf("after discarding the clone the vault holds %s snapshots of %s, want 3", strings.TrimSpace(got), dst)
	}
}

// The break-glass passphrase: an export made with --passphrase-file opens with the age
// command line alone (the passphrase typed at age's terminal prompt, in tmux), and with vault
// import --passphrase-file on a vault that has no age identity at all. --verify-only reads
// it all and receives nothing.
func TestLabSneakernetBreakGlass(t *testing.T) {
	const src = "host05data/bg/fs"
	const snap1 = "2026-11-24_00.00.00--1m"
	const pass = "correct horse battery staple, lab edition"
	labtest.Root(t, `
printf '#!/bin/sh\necho "$*" >>/tmp/zfs-spy-bg.log\nexec /sbin/zfs "$@"\n' >/usr/local/sbin/zfs-spy-bg && chmod 0755 /usr/local/sbin/zfs-spy-bg
install -d -m 0700 /root/bg
/mnt/lab/vault keygen --signing /root/bg/host.sign >/root/bg/host.out
/mnt/lab/vault keygen --age /root/bg/vault.age >/root/bg/vault-age.out
/mnt/lab/vault keygen --age /root/bg/other.age >/dev/null
printf '%s\n' `+labtest.Q(pass)+` >/root/bg/pass && chmod 0600 /root/bg/pass
printf 'not the passphrase at all\n' >/root/bg/wrong && chmod 0600 /root/bg/wrong
cp /root/bg/pass /root/bg/pass-open && chmod 0644 /root/bg/pass-open
zfs create -p `+src+`
head -c 12M /dev/urandom >/`+src+`/a.bin
zfs snapshot `+src+`@`+snap1+`
`)
	pub := regexp.MustCompile(`public_key = "([^"]+)"`).FindStringSubmatch(labtest.Root(t, "cat /root/bg/host.out"))[1]
	rcpt := regexp.MustCompile(`(age1[0-9a-z]+)`).FindStringSubmatch(labtest.Root(t, "cat /root/bg/vault-age.out"))[1]
	// This vault's age_identity is not a recipient of the export: only the passphrase opens it.
	cfg := fmt.Sprintf(`user = "backup"
state_dir = "/var/lib/vault-bg"
zfs_binary = "/usr/local/sbin/zfs-spy-bg"
hold_prefix = "vault:lab:"
age_identity = "/root/bg/other.age"

[[signer]]
name = "host11"
public_key = %q
datasets = ["host05data/bg"]

[[job]]
name = "bg"
media_signers = ["host11"]
source_datasets = [%q]
target = "rust10/Backups/bg"
rpo = "8d"
`, pub, src)
	labtest.Root(t, "mkdir -p /etc/vault && cat >/etc/vault/bg.toml <<'EOF'\n"+cfg+"EOF\n/mnt/lab/vault config check /etc/vault/bg.toml >/dev/null")
	exportCmd := func(dir, passFlag string) *lab.Result {
		return labtest.Try(t, "", fmt.Sprintf("rm -rf %s && mkdir -p %s && /mnt/lab/vault export --to %s --signing-key /root/bg/host.sign --recipient %s %s --volume-size 4MiB --host host11 --name bg %s@%s",
			dir, dir, dir, rcpt, passFlag, src, snap1))
	}

	// A passphrase file others may read is refused, and nothing is written.
	res := exportCmd("/tmp/media/bg-open", "--passphrase-file /root/bg/pass-open")
	if res.Exit == 0 || !strings.Contains(res.Stderr, "/root/bg/pass-open") {
		t.Errorf("export with a world-readable passphrase file: exit %d, want a refusal naming it:\n%s", res.Exit, res.Combined())
	}
	if got := labtest.Root(t, "ls -A /tmp/media/bg-open"); got != "" {
		t.Errorf("a refused export left files: %s", got)
	}

	res = exportCmd("/tmp/media/bg", "--passphrase-file /root/bg/pass")
	if res.Exit != 0 {
		t.Fatalf("export with a passphrase: %s", res)
	}
	if !strings.Contains(res.Stdout, "age -d bg.breakglass.age") {
		t.Errorf("the export does not say how to use the break-glass file:\n%s", res.Stdout)
	}
	if out := labtest.Root(t, "grep -c breakglass /tmp/media/bg/bg.manifest; ls /tmp/media/bg"); !strings.Contains(out, "bg.breakglass.age") {
		t.Errorf("no break-glass file in the export or its manifest:\n%s", out)
	}

	// Without vault: age asks for the passphrase on its terminal; tmux gives it one.
	labtest.Root(t, `cd /tmp/media/bg && rm -f /root/bg/id /root/bg/age.rc
tmux new-session -d -s bg -x 200 -y 20 "age -d -o /root/bg/id bg.breakglass.age; echo \$? >/root/bg/age.rc; sleep 2"
for i in $(seq 120); do tmux capture-pane -p -t bg | grep -qi passphrase && break; sleep 0.5; done
tmux capture-pane -p -t bg | grep -qi passphrase
tmux send-keys -t bg `+labtest.Q(pass)+` Enter
for i in $(seq 600); do test -s /root/bg/age.rc && break; sleep 0.5; done
test "$(cat /root/bg/age.rc)" = 0
grep -q '^AGE-SECRET-KEY-1' /root/bg/id
cat bg.vol* | age -d -i /root/bg/id | zfs receive -u rust10/BreakGlass-fs
`)
	sameContent(t, src, "rust10/BreakGlass-fs", []string{snap1})

	imp := func(flags string) (int, string, string) {
		labtest.Root(t, ": >/tmp/zfs-spy-bg.log")
		res := labtest.Try(t, "", "/mnt/lab/vault import -c /etc/vault/bg.toml "+flags+" /tmp/media/bg/bg.manifest")
		return res.Exit, res.Stdout + res.Stderr, labtest.Root(t, "cat /tmp/zfs-spy-bg.log")
	}
	// Without the passphrase, the vault's identity cannot open it: refused before any receive.
	if code, out, spied := imp(""); code == 0 || !strings.Contains(out, "age identit") || strings.Contains(spied, "receive") {
		t.Errorf("import with an identity that is not a recipient: exit %d, zfs calls %q:\n%s", code, spied, out)
	}
	// The wrong passphrase: refused before any receive.
	if code, out, spied := imp("--passphrase-file /root/bg/wrong"); code == 0 || !strings.Contains(out, "passphrase does not open") || strings.Contains(spied, "receive") {
		t.Errorf("import with the wrong passphrase: exit %d, zfs calls %q:\n%s", code, spied, out)
	}
	// --verify-only: the whole export read and decrypted, no zfs command at all.
	if code, out, spied := imp("--verify-only --passphrase-file /root/bg/pass"); code != 0 || !strings.Contains(out, "verified") || spied != "" {
		t.Errorf("verify-only: exit %d, zfs calls %q:\n%s", code, spied, out)
	}
	// A flipped bit in the last volume: verify-only finds it.
	labtest.Root(t, "rm -rf /tmp/media/bg-flip && cp -a /tmp/media/bg /tmp/media/bg-flip && f=$(ls /tmp/media/bg-flip/bg.vol* | tail -1) && printf '\\x42' | dd of=$f bs=1 seek=100 conv=notrunc status=none")
	res = labtest.Try(t, "", "/mnt/lab/vault import -c /etc/vault/bg.toml --verify-only --passphrase-file /root/bg/pass /tmp/media/bg-flip/bg.manifest")
	if res.Exit == 0 || !strings.Contains(res.Combined(), "corrupt") {
		t.Errorf("verify-only of a flipped bit: %s", res)
	}
	// A damaged break-glass file: refused whatever decrypts.
	labtest.Root(t, "rm -rf /tmp/media/bg-bad && cp -a /tmp/media/bg /tmp/media/bg-bad && printf 'x' >>/tmp/media/bg-bad/bg.breakglass.age")
	res = labtest.Try(t, "", "/mnt/lab/vault import -c /etc/vault/bg.toml --passphrase-file /root/bg/pass /tmp/media/bg-bad/bg.manifest")
	if res.Exit == 0 || !strings.Contains(res.Combined(), "break-glass file bg.breakglass.age") {
		t.Errorf("import with a damaged break-glass file: %s", res)
	}
	// The real import, with the passphrase in place of the vault's identity.
	if code, out, _ := imp("--passphrase-file /root/bg/pass"); code != 0 || !strings.Contains(out, "imported") {
		t.Fatalf("import with the passphrase: exit %d\n%s", code, out)
	}
	sameContent(t, src, "rust10/Backups/bg/fs", []string{snap1})
}
