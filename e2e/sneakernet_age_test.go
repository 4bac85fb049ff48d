//go:build lab && linux

package e2e

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/report"
	"github.com/belltech/vault/sneakernet"
)

// TestLabSneakernetAge: the age vault reports for an imported dataset is its data's. An export
// whose manifest says it was made on 2025-12-01 (re-signed with the exporting host's key, as an
// attacker holding it could) imports, exit 0, with a warning that its data is older than the
// job's rpo, and vault status shows it that old and critical. An incremental whose manifest
// claims a created in 2030 cannot make the data look newer than the snapshot zfs received: the
// status counts from the snapshot's creation, read on the vault, and the import warns.
//
// vault export always writes the time it runs, and a snapshot's creation is the kernel's clock
// when it was taken: the lab cannot make old data, so the test back-dates the manifest and
// signs it again with the host's signing key.
func TestLabSneakernetAge(t *testing.T) {
	const src = "host05data/offline/age"
	const dst = "rust10/Backups/snage/age"
	labtest.Root(t, `
install -d -m 0700 /root/keys-age /var/lib/vault-snage
/mnt/lab/vault keygen --signing /root/keys-age/host09.sign >/root/keys-age/host09.out
/mnt/lab/vault keygen --age /root/keys-age/vault.age >/root/keys-age/vault-age.out
zfs create -p `+src+`
head -c 4M /dev/urandom >/`+src+`/a.bin
zfs snapshot `+src+`@2026-11-24_00.00.00--1m
head -c 1M /dev/urandom >/`+src+`/b.bin
zfs snapshot `+src+`@2026-11-25_00.00.00--1m
`)
	pub := regexp.MustCompile(`public_key = "([^"]+)"`).FindStringSubmatch(labtest.Root(t, "cat /root/keys-age/host09.out"))[1]
	rcpt := regexp.MustCompile(`(age1[0-9a-z]+)`).FindStringSubmatch(labtest.Root(t, "cat /root/keys-age/vault-age.out"))[1]
	cfg := fmt.Sprintf(`user = "backup"
state_dir = "/var/lib/vault-snage"
hold_prefix = "vault:lab:"
age_identity = "/root/keys-age/vault.age"

[[signer]]
name = "host09"
public_key = %q
datasets = ["host05data/offline/age"]

[[job]]
name = "snage"
media_signers = ["host09"]
source_datasets = ["host05data/offline/age"]
target = "rust10/Backups/snage"
rpo = "8d"
rpo_critical = "30d"
`, pub)
	labtest.Root(t, "mkdir -p /etc/vault && cat >/etc/vault/snage.toml <<'EOF'\n"+cfg+"EOF\n/mnt/lab/vault config check /etc/vault/snage.toml >/dev/null")
	key, err := sneakernet.ParseSigningKey([]byte(labtest.Root(t, "cat /root/keys-age/host09.sign")))
	if err != nil {
		t.Fatalf("the lab's signing key: %v", err)
	}

	// export writes an export of the snapshot to dir, its manifest's created replaced by
	// created (if not zero) and signed again, and returns the manifest's path.
	export := func(dir, extra, snap string, created time.Time) string {
		labtest.Root(t, fmt.Sprintf("rm -rf %s && mkdir -p %s && /mnt/lab/vault export --to %s --signing-key /root/keys-age/host09.sign --recipient %s --host host09 %s %s@%s",
			dir, dir, dir, rcpt, extra, src, snap))
		manifest := strings.TrimSpace(labtest.Root(t, "ls "+dir+"/*.manifest"))
		if created.IsZero() {
			return manifest
		}
		labtest.Root(t, fmt.Sprintf(`sed -i -E 's/^  "created": "[0-9TZ:-]+",$/  "created": "%s",/' %s && grep -qF '"created": "%s",' %s`,
			created.UTC().Format(time.RFC3339), labtest.Q(manifest), created.UTC().Format(time.RFC3339), labtest.Q(manifest)))
		data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(labtest.Root(t, "base64 -w0 "+labtest.Q(manifest))))
		if err != nil {
			t.Fatalf("reading back the manifest: %v", err)
		}
		// What sneakernet signs: its context line, then the manifest's bytes (sign.go).
		sig := ed25519.Sign(key, append([]byte("vault-sneakernet manifest\n"), data...))
		line := conf.FormatSignerKey(key.Public().(ed25519.PublicKey)) + " " + base64.StdEncoding.EncodeToString(sig)
		labtest.Root(t, fmt.Sprintf("printf '%%s\\n' %s >%s", labtest.Q(line), labtest.Q(manifest+sneakernet.SigSuffix)))
		return manifest
	}
	imp := func(manifest string) (int, string, string) {
		res := labtest.Try(t, "", "timeout 120 /mnt/lab/vault import -c /etc/vault/snage.toml "+labtest.Q(manifest))
		return res.Exit, res.Stdout, res.Stderr
	}
	status := func() report.DatasetStatus {
		t.Helper()
		out := labtest.Root(t, "/mnt/lab/vault status --json -c /etc/vault/snage.toml")
		var st report.Status
		if err := json.Unmarshal([]byte(out), &st); err != nil {
			t.Fatalf("vault status --json: %v\n%s", err, out)
		}
		if len(st.Jobs) != 1 || len(st.Jobs[0].Datasets) != 1 || st.Jobs[0].Datasets[0].Dataset != src {
			t.Fatalf("vault status --json: want job snage with the one dataset %s:\n%s", src, out)
		}
		return st.Jobs[0].Datasets[0]
	}

	// A full export whose manifest says 2025-12-01: it imports, with the warning, and the status
	// counts its age from then.
	old := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	m := export("/tmp/media-age/old", "", "2026-11-24_00.00.00--1m", old)
	code, out, errOut := imp(m)
	if code != 0 {
		t.Fatalf("importing the back-dated export: exit %d\n%s%s", code, out, errOut)
	}
	want := fmt.Sprintf(`vault import: warning: %s holds data from 2025-12-01 00:00:00 UTC (`, m)
	if !strings.Contains(errOut, want) || !strings.Contains(errOut, `old), older than job "snage"'s rpo 8d; status will show it lagging`) {
		t.Errorf("the back-dated import's stderr: want the rpo warning %q..., got:\n%s", want, errOut)
	}
	if strings.Contains(errOut, "cannot") {
		t.Errorf("the back-dated import warned of a failure:\n%s", errOut)
	}
	if !strings.Contains(out, "its data is from 2025-12-01 00:00:00 UTC") {
		t.Errorf("the imported line does not give the data's time:\n%s", out)
	}
	d := status()
	minLag := int64(time.Since(old)/time.Second) - 3600 // the guest's clock may differ a little from the host's
	if !d.DataTime.Equal(old) || d.LagSeconds == nil || *d.LagSeconds < minLag || d.Level != report.LevelCrit {
		t.Errorf("status of the back-dated import: data time %s, lag %v, level %s; want %s, at least %d s, crit", d.DataTime, d.LagSeconds, d.Level, old, minLag)
	}
	if len(d.Findings) == 0 || d.Findings[0].Kind != report.KindLag || !strings.Contains(d.Findings[0].Text, "last good import holds data from 2025-12-01 00:00 UTC") {
		t.Errorf("status findings of the back-dated import: %+v, want the lag first", d.Findings)
	}
	if plain := labtest.Root(t, "NO_COLOR=1 /mnt/lab/vault status -c /etc/vault/snage.toml"); !strings.Contains(plain, "2025-12-01 00:00") ||
		!strings.Contains(plain, "last good import holds data from 2025-12-01 00:00 UTC") {
		t.Errorf("vault status does not show the data's time:\n%s", plain)
	}

	// An incremental whose manifest claims 2030: the data is the snapshot's, as zfs received it.
	m = export("/tmp/media-age/future", "--from 2026-11-24_00.00.00--1m", "2026-11-25_00.00.00--1m", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	code, out, errOut = imp(m)
	if code != 0 {
		t.Fatalf("importing the export from the future: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "vault import: warning: the manifest's created, 2030-01-01 00:00:00 UTC, is ") || strings.Contains(errOut, "cannot read the creation") ||
		strings.Contains(errOut, "older than job") {
		t.Errorf("the import from the future: want only the future-created warning, got:\n%s", errOut)
	}
	secs, err := strconv.ParseInt(strings.TrimSpace(labtest.Root(t, "zfs get -H -p -o value creation "+dst+"@2026-11-25_00.00.00--1m")), 10, 64)
	if err != nil {
		t.Fatalf("the received snapshot's creation: %v", err)
	}
	creation := time.Unix(secs, 0).UTC()
	d = status()
	if !d.DataTime.Equal(creation) || d.Level != report.LevelOK || d.LagSeconds == nil || *d.LagSeconds > 3600 {
		t.Errorf("status after the import from the future: data time %s, lag %v, level %s (%+v); want the snapshot's creation %s, under an hour, ok",
			d.DataTime, d.LagSeconds, d.Level, d.Findings, creation)
	}
}
