//go:build lab && linux

package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// TestLabSneakernetIntermediates: an -I export is not all or nothing, and says so. The guest
// exports host05data/offline/ifs from @i0 with -I to @i4 (i1, i2 and i3 in between); the
// manifest lists them with their guids. A copy whose last volume has a flipped byte near its
// end fails to import, after vault import said, before zfs receive started, which snapshots
// may land; zfs receive commits i1, i2 and i3 (their streams end long before the bad
// segment) and the error names them. Then the intact copy imports over them: zfs receive
// skips the three the target has and receives i4.
func TestLabSneakernetIntermediates(t *testing.T) {
	const src = "host05data/offline/ifs"
	const dst = "rust10/Backups/sni/ifs"
	const media = "/tmp/media-i"
	sn := func(i int) string { return fmt.Sprintf("2026-12-0%d_00.00.00--1m", i+1) }
	// The spy notes in the import's stderr file when zfs receive starts, so the order of
	// vault's lines and the receive can be read from one file.
	labtest.Root(t, `
printf '#!/bin/sh\n[ "$1" = receive ] && echo "SPY: zfs receive starts" >>/tmp/sni-stderr.log\nexec /sbin/zfs "$@"\n' >/usr/local/sbin/zfs-spy-sni && chmod 0755 /usr/local/sbin/zfs-spy-sni
rm -rf /root/keys-i && install -d -m 0700 /root/keys-i
/mnt/lab/vault keygen --signing /root/keys-i/host09.sign >/root/keys-i/host09.out
/mnt/lab/vault keygen --age /root/keys-i/vault.age >/root/keys-i/vault-age.out
zfs create -p `+src+`
head -c 4M /dev/urandom >/`+src+`/0.bin && zfs snapshot `+src+`@`+sn(0)+`
head -c 4M /dev/urandom >/`+src+`/1.bin && zfs snapshot `+src+`@`+sn(1)+`
head -c 4M /dev/urandom >/`+src+`/2.bin && zfs snapshot `+src+`@`+sn(2)+`
head -c 4M /dev/urandom >/`+src+`/3.bin && zfs snapshot `+src+`@`+sn(3)+`
head -c 20M /dev/urandom >/`+src+`/4.bin && zfs snapshot `+src+`@`+sn(4)+`
`)
	pub := regexp.MustCompile(`public_key = "([^"]+)"`).FindStringSubmatch(labtest.Root(t, "cat /root/keys-i/host09.out"))[1]
	rcpt := regexp.MustCompile(`(age1[0-9a-z]+)`).FindStringSubmatch(labtest.Root(t, "cat /root/keys-i/vault-age.out"))[1]
	cfg := fmt.Sprintf(`user = "backup"
state_dir = "/var/lib/vault-sni"
zfs_binary = "/usr/local/sbin/zfs-spy-sni"
hold_prefix = "vault:lab:"
age_identity = "/root/keys-i/vault.age"

[[signer]]
name = "host09"
public_key = %q
datasets = [%q]

[[job]]
name = "sni"
media_signers = ["host09"]
source_datasets = [%q]
target = "rust10/Backups/sni"
rpo = "8d"
`, pub, src, src)
	labtest.Root(t, "mkdir -p /etc/vault && cat >/etc/vault/sni.toml <<'EOF'\n"+cfg+"EOF\n/mnt/lab/vault config check /etc/vault/sni.toml >/dev/null")
	export := func(dir, extra, snap string) (stdout, stderr string) {
		res := labtest.Try(t, "", fmt.Sprintf("rm -rf %s && mkdir -p %s && /mnt/lab/vault export --to %s --signing-key /root/keys-i/host09.sign --recipient %s --volume-size 8MiB --host host09 %s %s@%s",
			dir, dir, dir, rcpt, extra, src, snap))
		if res.Exit != 0 {
			t.Fatalf("export to %s: %s", dir, res)
		}
		return res.Stdout, res.Stderr
	}
	// imp imports the export in dir; stderr is the import's stderr with the spy's line where
	// zfs receive started.
	imp := func(dir string, extra ...string) (code int, stdout, stderr string) {
		m := strings.TrimSpace(labtest.Root(t, "ls "+dir+"/*.manifest"))
		res := labtest.Try(t, "", ": >/tmp/sni-stderr.log && timeout 120 /mnt/lab/vault import -c /etc/vault/sni.toml "+strings.Join(extra, " ")+" "+labtest.Q(m)+" 2>>/tmp/sni-stderr.log") // 124: it hung
		return res.Exit, res.Stdout, labtest.Root(t, "cat /tmp/sni-stderr.log")
	}
	guid := func(snap string) string {
		return strings.TrimSpace(labtest.Root(t, "zfs get -H -p -o value guid "+labtest.Q(snap)))
	}
	targetSnaps := func() string {
		return labtest.Root(t, "zfs list -H -o name -t snapshot -s createtxg "+dst)
	}

	// The base arrives as a plain full export.
	export(media+"/full", "", sn(0))
	if code, out, errOut := imp(media + "/full"); code != 0 {
		t.Fatalf("full import: exit %d\n%s%s", code, out, errOut)
	}

	// The -I export: its manifest lists what lies between, and the export says what that means.
	_, errOut := export(media+"/inc", "--from "+sn(0)+" -I", sn(4))
	caveat := fmt.Sprintf("is an -I export of 4 snapshots (%s, %s and %s before %s): if the import fails part-way, those received before the failure stay on", sn(1), sn(2), sn(3), sn(4))
	if strings.Count(errOut, caveat) != 1 {
		t.Errorf("vault export -I did not print the caveat once; stderr:\n%s", errOut)
	}
	var manifest struct {
		Intermediates []struct {
			Snapshot string `json:"snapshot"`
			GUID     string `json:"guid"`
		} `json:"intermediates"`
	}
	if err := json.Unmarshal([]byte(labtest.Root(t, "cat "+media+"/inc/*.manifest")), &manifest); err != nil {
		t.Fatalf("the manifest: %v", err)
	}
	var listed []string
	for _, x := range manifest.Intermediates {
		listed = append(listed, x.Snapshot+" "+x.GUID)
	}
	want := []string{src + "@" + sn(1) + " " + guid(src+"@"+sn(1)), src + "@" + sn(2) + " " + guid(src+"@"+sn(2)), src + "@" + sn(3) + " " + guid(src+"@"+sn(3))}
	if strings.Join(listed, "\n") != strings.Join(want, "\n") {
		t.Errorf("the manifest lists the intermediates\n%s\nwant\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
	if code, out, errOut := imp(media+"/inc", "--verify-only"); code != 0 || !strings.Contains(out, fmt.Sprintf("with the 3 snapshots in between: %s, %s and %s", sn(1), sn(2), sn(3))) {
		t.Errorf("verify-only of the -I export: exit %d\n%s%s", code, out, errOut)
	}

	// A flipped byte near the end of the last volume: the snapshots before the last land.
	labtest.Root(t, `rm -rf `+media+`/inc-flip && cp -a `+media+`/inc `+media+`/inc-flip && cd `+media+`/inc-flip &&
f=$(ls *.vol* | tail -1) && sz=$(stat -c %s $f) && printf '\x42' | dd of=$f bs=1 seek=$((sz-4096)) conv=notrunc status=none`)
	code, out, errOut := imp(media + "/inc-flip")
	if code == 0 {
		t.Fatalf("the import of a flipped byte succeeded:\n%s%s", out, errOut)
	}
	line, recv := strings.Index(errOut, caveat+" "+dst+" (nothing is destroyed"), strings.Index(errOut, "SPY: zfs receive starts")
	switch {
	case line < 0:
		t.Errorf("no line saying what may land; stderr:\n%s", errOut)
	case recv < 0:
		t.Errorf("no zfs receive started; stderr:\n%s", errOut)
	case recv < line:
		t.Errorf("the line saying what may land came after zfs receive started; stderr:\n%s", errOut)
	}
	landed := fmt.Sprintf("but %s, %s and %s of its 3 snapshots before %s are on %s and stay", sn(1), sn(2), sn(3), sn(4), dst)
	if !strings.Contains(errOut, landed) || !strings.Contains(errOut, "volume") {
		t.Errorf("the error does not name what landed (want %q) and the bad volume; stderr:\n%s", landed, errOut)
	}
	wantSnaps := func(n int) string {
		var s string
		for i := range n {
			s += dst + "@" + sn(i) + "\n"
		}
		return s
	}
	if got := targetSnaps(); got != wantSnaps(4) {
		t.Errorf("after the failed import the target holds\n%swant\n%s", got, wantSnaps(4))
	}
	sameContent(t, src, dst, []string{sn(1), sn(2), sn(3)})

	// The intact copy carries on: zfs receive skips what landed and receives the last.
	code, out, errOut = imp(media + "/inc")
	if code != 0 {
		t.Fatalf("the intact -I export after a failed one: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, fmt.Sprintf("%s, %s and %s of its snapshots are already on %s", sn(1), sn(2), sn(3), dst)) {
		t.Errorf("the import did not say what it found already there; stderr:\n%s", errOut)
	}
	if got := targetSnaps(); got != wantSnaps(5) {
		t.Errorf("after the import the target holds\n%swant\n%s", got, wantSnaps(5))
	}
	sameContent(t, src, dst, []string{sn(1), sn(2), sn(3), sn(4)})
	if holds := labtest.Root(t, "zfs holds -H "+dst+"@"+sn(4)); !strings.Contains(holds, "vault:lab:sni") {
		t.Errorf("the imported snapshot is not held: %q", holds)
	}
	// And a replay is "already imported".
	if code, out, errOut := imp(media + "/inc"); code != 0 || !strings.Contains(out, "already imported") || strings.Contains(errOut, "SPY: zfs receive starts") {
		t.Errorf("replay: exit %d\n%s%s", code, out, errOut)
	}
}
