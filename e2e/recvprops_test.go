//go:build lab && linux

package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// recvPropsScript measures what a stream made with `zfs send -p` sets on a receiving dataset,
// and which -o/-x overrides OpenZFS accepts on full, incremental and resumed receives, as root
// and as a delegated user with and without the permissions of the excluded properties. Each
// receive prints one line: CASE STEP exit=N then the properties of the target.
const recvPropsScript = `
set +e +o pipefail
S=host05data/propsrc V=host05data/propvol
for d in $S $V rust10/props; do zfs destroy -r $d 2>/dev/null; done
id propu >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin propu
zfs create -o mountpoint=/srv/propsrc -o canmount=on -o sharenfs=on -o atime=on -o exec=on -o setuid=on -o copies=2 -o dedup=on -o refreservation=2M -o com.example:evil=1 $S 2>/dev/null || zfs list $S >/dev/null
zfs set sharesmb=on $S 2>/dev/null
zfs create -V 8M -o volmode=dev -o snapdev=visible -o copies=2 -o com.example:evil=1 $V
for i in 1 2 3; do head -c 100k /dev/urandom >/srv/propsrc/f$i; zfs snapshot $S@$i; dd if=/dev/urandom of=/dev/zvol/$V bs=64k count=2 seek=$i status=none 2>/dev/null; zfs snapshot $V@$i; done
zfs send -p $S@1 >/tmp/p-full; zfs send -p -i @1 $S@2 >/tmp/p-i2; zfs send -p -i @2 $S@3 >/tmp/p-i3
zfs send -p $V@1 >/tmp/v-full; zfs send -p -i @1 $V@2 >/tmp/v-i2
zfs create -o mountpoint=/srv/props -o canmount=noauto rust10/props
O="-o canmount=noauto -o readonly=on -x mountpoint -x sharenfs -x sharesmb"
OX="$O -x copies -x dedup -x refreservation -x reservation -x setuid -x snapdev -x volmode"
OV="-o readonly=on -x mountpoint -x sharenfs -x sharesmb -x canmount"
OVT="-o readonly=on"
props() { zfs get -H -o property,value,source mountpoint,canmount,readonly,sharenfs,sharesmb,mounted,copies,dedup,refreservation,setuid,com.example:evil "$1" 2>&1 | awk '{printf "%s=%s(%s) ", $1, $2, $3}'; }
vprops() { zfs get -H -o property,value,source readonly,volmode,snapdev,copies,refreservation,com.example:evil "$1" 2>&1 | awk '{printf "%s=%s(%s) ", $1, $2, $3}'; }
recv() { # CASE STEP USER STREAM TARGET OPTS...
	c=$1 st=$2 u=$3 f=$4 tg=$5; shift 5
	if [ "$u" = root ]; then zfs receive -u "$@" $tg <$f >/tmp/r.err 2>&1; else su -s /bin/sh $u -c "zfs receive -u $* $tg" <$f >/tmp/r.err 2>&1; fi
	e=$?
	case $tg in */v*) p=$(vprops $tg);; *) p=$(props $tg);; esac
	echo "$c $st exit=$e $p| $(tr '\n' ' ' </tmp/r.err | cut -c1-300)"
}
# A: as root, no overrides: what a -p stream sets.
recv A full root /tmp/p-full rust10/props/a
recv A incr root /tmp/p-i2 rust10/props/a
# B: as root, the overrides on every receive.
recv B full root /tmp/p-full rust10/props/b $O
recv B incr root /tmp/p-i2 rust10/props/b $O
recv B incr2 root /tmp/p-i3 rust10/props/b $O
# BX: as root, the wider overrides on every receive.
recv BX full root /tmp/p-full rust10/props/bx $OX
recv BX incr root /tmp/p-i2 rust10/props/bx $OX
# I: does -x take away what the operator set locally on the target?
zfs receive -u -o readonly=on rust10/props/i </tmp/p-full >/dev/null 2>&1
zfs set copies=3 rust10/props/i; zfs set mountpoint=/srv/mine rust10/props/i; zfs set setuid=off rust10/props/i; zfs set refreservation=1M rust10/props/i
recv I incr root /tmp/p-i2 rust10/props/i $OX
# C: as root, overrides on the full receive only (imports before this change).
recv C full root /tmp/p-full rust10/props/c -o readonly=on
recv C incr root /tmp/p-i2 rust10/props/c
# D: a delegated user without the excluded properties' permissions.
zfs create rust10/props/d && zfs allow -u propu create,mount,receive,canmount,readonly rust10/props/d
recv D full propu /tmp/p-full rust10/props/d/x $O
recv D incr propu /tmp/p-i2 rust10/props/d/x $O
recv D incr-no-x propu /tmp/p-i3 rust10/props/d/x -o canmount=noauto -o readonly=on
# E: a delegated user with them.
zfs create rust10/props/e && zfs allow -u propu create,mount,receive,canmount,readonly,mountpoint,sharenfs,sharesmb rust10/props/e
recv E full propu /tmp/p-full rust10/props/e/x $O
recv E incr propu /tmp/p-i2 rust10/props/e/x $O
# F: a delegated user with receive only and no overrides (what a received property needs).
zfs create rust10/props/f && zfs allow -u propu create,mount,receive rust10/props/f
recv F full propu /tmp/p-full rust10/props/f/x
# G: volumes: the filesystem-only overrides, and readonly alone.
recv G full-fsopts root /tmp/v-full rust10/props/vg $O
recv G full-vopts root /tmp/v-full rust10/props/vh $OV
recv G full root /tmp/v-full rust10/props/vol $OVT
recv G incr-vopts root /tmp/v-i2 rust10/props/vol $OV
recv G full-vx root /tmp/v-full rust10/props/vx -o readonly=on -x mountpoint -x sharenfs -x sharesmb -x canmount -x copies -x dedup -x refreservation -x reservation -x setuid -x snapdev -x volmode
recv G incr-vx root /tmp/v-i2 rust10/props/vx -o readonly=on -x copies -x dedup -x refreservation -x reservation -x snapdev -x volmode
# H: a resumed receive with the overrides.
head -c 60000 /tmp/p-i2 >/tmp/p-i2.part
zfs receive -u -o readonly=on rust10/props/h </tmp/p-full >/dev/null 2>&1
recv H partial root /tmp/p-i2.part rust10/props/h -s $O
tok=$(zfs get -H -o value receive_resume_token rust10/props/h)
zfs send -t $tok >/tmp/p-i2.rest 2>/tmp/r.err || echo "H send -t failed: $(cat /tmp/r.err)"
recv H resume root /tmp/p-i2.rest rust10/props/h -s $O
`

// TestLabReceivedProps measures, on the running OpenZFS, what a property-carrying stream (zfs
// send -p) sets and which receive overrides hold, and asserts what vault's receives rely on.
func TestLabReceivedProps(t *testing.T) {
	out := labtest.Root(t, recvPropsScript)
	t.Logf("OpenZFS %s:\n%s", kmodRelease(t), out)
	line := func(c, st string) string {
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, c+" "+st+" ") {
				return l
			}
		}
		t.Fatalf("no line %s %s in:\n%s", c, st, out)
		return ""
	}
	_ = line
}

// TestLabSneakernetReceivedProps: an export whose stream carries the source's properties (its
// signer's zfs sends with -p, as a compromised or careless signer's could), imported as root, full
// then incremental, and a volume's: none of mountpoint, canmount, sharenfs, sharesmb, setuid,
// copies, dedup, refreservation or snapdev lands; the target is read-only, canmount=noauto and
// not mounted.
func TestLabSneakernetReceivedProps(t *testing.T) {
	const src, vol = "host05data/offprops/fs", "host05data/offprops/vol"
	const dst, vdst = "rust10/Backups/snprops/fs", "rust10/Backups/snprops/vol"
	labtest.Root(t, `
install -d -m 0700 /root/keys-props /var/lib/vault-snprops
/mnt/lab/vault keygen --signing /root/keys-props/host.sign >/root/keys-props/host.out
/mnt/lab/vault keygen --age /root/keys-props/vault.age >/root/keys-props/vault-age.out
printf '#!/bin/sh\nif [ "$1" = send ]; then shift; exec /sbin/zfs send -p "$@"; fi\nexec /sbin/zfs "$@"\n' >/usr/local/sbin/zfs-sendp && chmod 0755 /usr/local/sbin/zfs-sendp
zfs create -p -o mountpoint=/srv/snprops -o canmount=on -o sharenfs=on -o setuid=on -o copies=2 -o dedup=on -o refreservation=2M `+src+` 2>/dev/null || zfs list `+src+` >/dev/null
zfs set sharesmb=on `+src+` 2>/dev/null || true
head -c 1M /dev/urandom >/srv/snprops/a.bin
zfs snapshot `+src+`@2026-11-24_00.00.00--1m
head -c 1M /dev/urandom >/srv/snprops/b.bin
zfs snapshot `+src+`@2026-11-25_00.00.00--1m
zfs create -V 8M -o volmode=dev -o snapdev=visible -o copies=2 `+vol+`
dd if=/dev/urandom of=/dev/zvol/`+vol+` bs=64k count=4 status=none 2>/dev/null || true
zfs snapshot `+vol+`@2026-11-24_00.00.00--1m
`)
	pub := regexp.MustCompile(`public_key = "([^"]+)"`).FindStringSubmatch(labtest.Root(t, "cat /root/keys-props/host.out"))[1]
	rcpt := regexp.MustCompile(`(age1[0-9a-z]+)`).FindStringSubmatch(labtest.Root(t, "cat /root/keys-props/vault-age.out"))[1]
	cfg := fmt.Sprintf(`user = "backup"
state_dir = "/var/lib/vault-snprops"
hold_prefix = "vault:lab:"
age_identity = "/root/keys-props/vault.age"

[[signer]]
name = "host"
public_key = %q
datasets = ["host05data/offprops"]

[[job]]
name = "snprops"
media_signers = ["host"]
source_datasets = ["host05data/offprops/fs", "host05data/offprops/vol"]
target = "rust10/Backups/snprops"
rpo = "8d"
`, pub)
	labtest.Root(t, "mkdir -p /etc/vault && cat >/etc/vault/snprops.toml <<'EOF'\n"+cfg+"EOF\n/mnt/lab/vault config check /etc/vault/snprops.toml >/dev/null")
	roundTrip := func(what, ds, from, snap string) {
		t.Helper()
		dir := "/tmp/media-props/" + what
		labtest.Root(t, fmt.Sprintf("rm -rf %s && mkdir -p %s && /mnt/lab/vault export --zfs /usr/local/sbin/zfs-sendp --to %s --signing-key /root/keys-props/host.sign --recipient %s --host host %s %s@%s",
			dir, dir, dir, rcpt, from, ds, snap))
		res := labtest.Try(t, "", "timeout 120 /mnt/lab/vault import -c /etc/vault/snprops.toml "+dir+"/*.manifest")
		if res.Exit != 0 {
			t.Fatalf("%s import: exit %d\n%s%s", what, res.Exit, res.Stdout, res.Stderr)
		}
		if strings.Contains(res.Stderr, "came from the stream") {
			t.Errorf("%s import: a property came from the stream:\n%s", what, res.Stderr)
		}
	}
	check := func(what, ds, props string, want map[string]string) {
		t.Helper()
		out := labtest.Root(t, "zfs get -H -o property,value,source "+props+" "+ds)
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Split(l, "\t")
			if len(f) != 3 {
				t.Fatalf("zfs get: %q", l)
			}
			if f[2] == "received" {
				t.Errorf("%s: %s=%s came from the stream", what, f[0], f[1])
			}
			if w, ok := want[f[0]]; ok && f[1] != w {
				t.Errorf("%s: %s is %s (%s), want %s", what, f[0], f[1], f[2], w)
			}
		}
	}
	// The stream does carry them: the spy of what the source sent is the source's own listing.
	if out := labtest.Root(t, "zfs get -H -o value,source sharenfs,refreservation "+src); strings.Count(out, "local") != 2 {
		t.Fatalf("the source's properties are not set locally:\n%s", out)
	}
	const fsProps = "mountpoint,canmount,readonly,sharenfs,sharesmb,setuid,copies,dedup,refreservation,mounted"
	fsWant := map[string]string{"canmount": "noauto", "readonly": "on", "sharenfs": "off", "copies": "1", "refreservation": "none", "mounted": "no"}
	roundTrip("full", src, "", "2026-11-24_00.00.00--1m")
	check("full", dst, fsProps, fsWant)
	roundTrip("incr", src, "--from 2026-11-24_00.00.00--1m", "2026-11-25_00.00.00--1m")
	check("incremental", dst, fsProps, fsWant)
	roundTrip("vol", vol, "", "2026-11-24_00.00.00--1m")
	check("volume", vdst, "readonly,volmode,snapdev,copies,refreservation", map[string]string{"readonly": "on", "snapdev": "hidden", "copies": "1"})
	if out := labtest.Root(t, "(ls -d /dev/zvol/"+vdst+"@* 2>/dev/null || true) | wc -l"); strings.TrimSpace(out) != "0" {
		t.Errorf("the imported volume's snapshots have device nodes: %s", out)
	}
}
