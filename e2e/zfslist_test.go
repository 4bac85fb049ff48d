//go:build lab && linux

package e2e

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/lab/labtest"
	"github.com/belltech/vault/zfs"
)

// zfsListFixture builds a small tree with every kind of thing vault's listing must get right:
// filesystems, a zvol, snapshots, a bookmark, holds, a clone and names with spaces.
const zfsListFixture = `
R=host05data/listing
zfs create -p "$R/jail/drive.client"
zfs create "$R/jail/name with spaces"
zfs create -p "$R/vm/fs.client"
zfs create -V 64M -o volmode=dev "$R/vm/fs.client/c-drive"
printf 'lab-passphrase' >/tmp/lab.key
zfs create -o encryption=on -o keyformat=passphrase -o keylocation=file:///tmp/lab.key "$R/jail/secret.client"
head -c 1M /dev/urandom >"/$R/jail/drive.client/a.bin"
zfs snapshot -r "$R@2026-11-25_00.00.00--1w"
head -c 1M /dev/urandom >"/$R/jail/drive.client/b.bin"
zfs snapshot -r "$R@2026-11-26_00.00.00--1w"
zfs snapshot "$R/jail/name with spaces@not zfsnap spaced"
zfs bookmark "$R/jail/drive.client@2026-11-25_00.00.00--1w" "$R/jail/drive.client#mark-1"
zfs hold keep "$R/jail/drive.client@2026-11-25_00.00.00--1w"
zfs hold "vault:host05" "$R/jail/drive.client@2026-11-25_00.00.00--1w" "$R/vm/fs.client/c-drive@2026-11-26_00.00.00--1w"
zfs clone "$R/jail/drive.client@2026-11-26_00.00.00--1w" "$R/jail/clone of drive"
zpool sync host05data
`

// listFixture creates the fixture once per boot; tests that need it call this.
func listFixture(t *testing.T) {
	t.Helper()
	if res := labtest.Try(t, "", "zfs list host05data/listing"); res.Exit != 0 {
		labtest.Root(t, zfsListFixture)
	}
}

// groundTruth reads every property the listing reports with `zfs get`, zfs's own answer.
func groundTruth(t *testing.T, root string) map[string]map[string]string {
	t.Helper()
	props := "type,guid,createtxg,creation,used,referenced,written,userrefs,receive_resume_token,encryption,origin"
	out := labtest.Root(t, fmt.Sprintf("zfs get -H -p -r -t all -o name,property,value %s %s", props, labtest.Q(root)))
	got := map[string]map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			t.Fatalf("zfs get line %q: want 3 tab-separated fields", line)
		}
		if got[f[0]] == nil {
			got[f[0]] = map[string]string{}
		}
		got[f[0]][f[1]] = f[2]
	}
	return got
}

func TestLabZFSListMatchesZFSGet(t *testing.T) {
	listFixture(t)
	const root = "host05data/listing"
	truth := groundTruth(t, root)

	for _, user := range []string{"root", "backup"} {
		t.Run(user, func(t *testing.T) {
			out := labtest.As(t, user, "/mnt/lab/labprobe list "+root)
			var entries []zfs.Entry
			if err := json.Unmarshal([]byte(out), &entries); err != nil {
				t.Fatalf("labprobe output: %v\n%s", err, out)
			}
			seen := map[string]bool{}
			for _, e := range entries {
				seen[e.Name] = true
				want, ok := truth[e.Name]
				if !ok {
					t.Errorf("listing has %q, zfs get does not", e.Name)
					continue
				}
				check := func(prop, got string) {
					w := want[prop]
					if w == "-" {
						w = ""
					}
					if got != w {
						t.Errorf("%s %s: listing says %q, zfs get says %q", e.Name, prop, got, want[prop])
					}
				}
				check("type", string(e.Type))
				check("guid", strconv.FormatUint(e.GUID, 10))
				check("createtxg", strconv.FormatUint(e.CreateTXG, 10))
				check("creation", strconv.FormatInt(e.Creation.Unix(), 10))
				check("encryption", e.Encryption)
				check("receive_resume_token", e.ResumeToken)
				check("origin", e.Origin.String())
				if e.Type == zfs.TypeSnapshot {
					check("userrefs", strconv.FormatUint(e.UserRefs, 10))
				}
				if e.Type != zfs.TypeBookmark {
					check("used", strconv.FormatUint(e.Used, 10))
					check("referenced", strconv.FormatUint(e.Referenced, 10))
				}
				if time.Since(e.Creation) > time.Hour || time.Until(e.Creation) > time.Minute {
					t.Errorf("%s created %s: want within the last hour", e.Name, e.Creation)
				}
			}
			var missing []string
			for name := range truth {
				if !seen[name] {
					missing = append(missing, name)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("zfs get knows %q, the listing does not", missing)
			}
			for _, name := range []string{
				root + "/jail/name with spaces@not zfsnap spaced",
				root + "/jail/drive.client#mark-1",
				root + "/vm/fs.client/c-drive",
				root + "/jail/clone of drive",
			} {
				if !seen[name] {
					t.Errorf("listing lacks %q", name)
				}
			}
		})
	}
}

func TestLabZFSHoldsMatchZFSHolds(t *testing.T) {
	const snap = "host05data/holds@2026-11-26_00.00.00--1w"
	labtest.Root(t, `zfs create host05data/holds && zfs snapshot `+labtest.Q(snap)+` && zfs hold keep `+labtest.Q(snap)+` && zfs hold vault:host05 `+labtest.Q(snap))
	out := labtest.As(t, "backup", "/mnt/lab/labprobe holds "+labtest.Q(snap))
	var holds []zfs.Hold
	if err := json.Unmarshal([]byte(out), &holds); err != nil {
		t.Fatalf("labprobe output: %v\n%s", err, out)
	}
	var tags []string
	for _, h := range holds {
		if h.Snapshot.String() != snap {
			t.Errorf("hold on %q, want %q", h.Snapshot, snap)
		}
		if time.Since(h.Time) > time.Hour {
			t.Errorf("hold %q made at %s: want within the last hour", h.Tag, h.Time)
		}
		tags = append(tags, h.Tag)
	}
	sort.Strings(tags)
	if got, want := strings.Join(tags, ","), "keep,vault:host05"; got != want {
		t.Errorf("hold tags %q, want %q", got, want)
	}
	// And a held snapshot really cannot be destroyed.
	if res := labtest.Try(t, "", "zfs destroy "+labtest.Q(snap)); res.Exit == 0 {
		t.Errorf("destroying a held snapshot succeeded; want it refused")
	}
}
