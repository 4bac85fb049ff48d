//go:build lab && linux

package e2e

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

// propsRecord reads the job's record of the properties kept for a restore, as vault pull saved
// it in the state directory dir: source dataset to its properties.
func propsRecord(t *testing.T, dir, job string) map[string]map[string]string {
	t.Helper()
	var k struct {
		Job      string                       `json:"job"`
		Datasets map[string]map[string]string `json:"datasets"`
	}
	out := labtest.Root(t, "cat "+labtest.Q(dir+"/props/"+job+".json"))
	if err := json.Unmarshal([]byte(out), &k); err != nil || k.Job != job {
		t.Fatalf("props/%s.json: %v (job %q):\n%s", job, err, k.Job, out)
	}
	return k.Datasets
}

// propsConfig is pullConfig with its own state directory (made, the backup user's) and, if
// identity is set, another SSH key.
func propsConfig(t *testing.T, name string, roots []string, dir, identity string) string {
	t.Helper()
	cfg := pullConfig(t, name, roots, "")
	script := "install -d -o backup -g backup -m 0750 " + labtest.Q(dir) +
		"\nsed -i 's#^state_dir = .*#state_dir = \"" + dir + "\"#' " + cfg
	if identity != "" {
		script += "\nsed -i 's#^identity = .*#identity = \"" + identity + "\"#' " + cfg
	}
	labtest.Root(t, script+"\n/mnt/lab/vault config check "+cfg+" >/dev/null")
	return cfg
}

// TestLabPropsRecorded: a pull through the real vault serve gate, as the delegated backup user
// (no zfs allow for reading properties), records in props/JOB.json exactly the properties the
// source set locally that a restore sets again (not mountpoint, setuid or exec; nothing
// inherited; a snapshot's own user property does not upset the read), sets none of them on the
// vault's copies, and an incremental pull updates the record when the source changes them. A
// source whose gate refuses the zfs get (a vault serve older than this vault, played by a
// forced command that refuses it) still pulls, with one warning naming the host and the fix.
func TestLabPropsRecorded(t *testing.T) {
	const (
		src   = "host05data/prec"
		db    = src + "/db"
		vol   = src + "/vol"
		dir   = "/var/lib/vault-prec"
		tgt   = "rust10/Backups/prec"
		oldgt = "rust10/Backups/precold"
	)
	t.Cleanup(func() {
		labtest.Try(t, "", destroyHeldScript(src, tgt, oldgt)+
			"sed -i '/oldgate/d' /home/backup/.ssh/authorized_keys\nrm -rf "+dir+" /var/lib/vault-precold /etc/vault/prec.toml /etc/vault/precold.toml /usr/local/sbin/oldgate /home/backup/.ssh/oldgate_ed25519*")
	})
	labtest.Root(t, `
zfs create -o compression=zstd -o recordsize=16K -o atime=off -o com.example:role=db -o mountpoint=/mnt/x -o setuid=off -o exec=off `+src+`
zfs create -o com.example:disk=1 `+db+`
zfs create -V 8M -o compression=lz4 `+vol+`
head -c 256k /dev/urandom >/mnt/x/f; head -c 256k /dev/urandom >/mnt/x/db/f
zfs snapshot -r -o com.example:note=first `+src+`@2026-12-01_00.00.00--1w
`)
	// Measured: without -t, zfs get -r lists the snapshots too, with their own user properties;
	// props.GetArgs has -t filesystem,volume for that.
	t.Logf("zfs get -r without -t lists, of snapshots:\n%s", labtest.Root(t,
		"zfs get -H -p -s local -o name,property,value -r all "+src+" | grep @ || true"))

	cfg := propsConfig(t, "prec", []string{src}, dir, "")
	res := labtest.Try(t, "backup", "VAULT_LOG_LEVEL=debug /mnt/lab/vault pull -c "+labtest.Q(cfg))
	if res.Exit != 0 {
		t.Fatalf("the first pull:\n%s", res)
	}
	if strings.Contains(res.Stderr, "[WARN]") || strings.Contains(res.Stdout, "WARN") {
		t.Errorf("the first pull warned:\n%s", res)
	}
	if !strings.Contains(res.Stderr, `skipped="host05data/prec: property \"mountpoint\" is not one a restore sets again"`) {
		t.Errorf("the mountpoint left out is not logged at debug:\n%s", res.Stderr)
	}
	want := map[string]map[string]string{
		src: {"compression": "zstd", "recordsize": "16384", "atime": "off", "com.example:role": "db"},
		db:  {"com.example:disk": "1"},
		vol: {"compression": "lz4"},
	}
	checkRecord := func(when string) {
		t.Helper()
		got := propsRecord(t, dir, "prec")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: props/prec.json holds %v, want %v", when, got, want)
		}
	}
	checkRecord("after the first pull")
	// The vault's copies have none of them as their own.
	local := labtest.Root(t, "zfs get -H -s local -o name,property -r -t filesystem,volume all "+tgt)
	for _, l := range strings.Split(strings.TrimSpace(local), "\n") {
		f := strings.Split(l, "\t")
		if len(f) == 2 && (strings.HasPrefix(f[1], "com.example:") || f[1] == "compression" || f[1] == "recordsize" || f[1] == "atime") {
			t.Errorf("the vault's copy %s has %s set locally", f[0], f[1])
		}
	}
	t.Logf("set locally on the vault's copies:\n%s", local)

	// The source changes atime, drops the child's property, takes a snapshot: an incremental pull.
	labtest.Root(t, "zfs set atime=on "+src+" && zfs inherit com.example:disk "+db+
		" && head -c 128k /dev/urandom >/mnt/x/db/g && zfs snapshot -r "+src+"@2026-12-02_00.00.00--1w")
	out := mustPull(t, cfg)
	if !strings.Contains(out, db+" -> "+tgt+"/prec/db: ok (incremental") {
		t.Errorf("the second pull did not pull the child incrementally:\n%s", out)
	}
	want[src]["atime"] = "on"
	want[db] = map[string]string{}
	checkRecord("after the incremental pull")

	// An old gate: the same source through a forced command that refuses zfs get, as a vault
	// serve before this change does.
	labtest.Root(t, `cat >/usr/local/sbin/oldgate <<'EOF'
#!/bin/sh
case "$SSH_ORIGINAL_COMMAND" in
"zfs get "*|/*"/zfs get "*) echo 'vault serve: refused: zfs subcommand "get" is not allowed (only list, send, hold, release, holds, snapshot)' >&2; exit 2;;
esac
exec /mnt/lab/vault serve --allow host05data --hold-prefix vault:lab:
EOF
chmod 0755 /usr/local/sbin/oldgate
su backup -c "ssh-keygen -q -t ed25519 -N '' -f /home/backup/.ssh/oldgate_ed25519"
echo "command=\"/usr/local/sbin/oldgate\",restrict $(cat /home/backup/.ssh/oldgate_ed25519.pub)" >>/home/backup/.ssh/authorized_keys
`)
	oldCfg := propsConfig(t, "precold", []string{src}, "/var/lib/vault-precold", "/home/backup/.ssh/oldgate_ed25519")
	res = pull(t, oldCfg)
	if res.Exit != 0 || !strings.Contains(res.Stdout, db+" -> "+oldgt+"/prec/db: ok (full") {
		t.Fatalf("the pull through the old gate:\n%s", res)
	}
	if n := strings.Count(res.Stderr, "[WARN]"); n != 1 || !strings.Contains(res.Stderr, "update vault on 127.0.0.1") {
		t.Errorf("the pull through the old gate: %d warnings, want one naming the host and the fix:\n%s", n, res.Stderr)
	}
	if r := labtest.Try(t, "", "test -e /var/lib/vault-precold/props/precold.json"); r.Exit == 0 {
		t.Errorf("the pull through the old gate recorded properties")
	}
	t.Logf("the pull through the old gate:\n%s", res.Combined())
}
