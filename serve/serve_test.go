package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/belltech/vault/zfs"
	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
)

// fakeExec stands in for zfs. The token dry run gets dryRun (or dryErr);
// zfs get encryption DATASET gets encryption[DATASET], "off" if not there
// (or getErr); any other command gets stdout written to its Stdout, then
// err.
type fakeExec struct {
	dryRun     string
	dryErr     error
	encryption map[string]string
	getErr     error
	stdout     string
	err        error

	mu   sync.Mutex
	cmds [][]string
}

func (f *fakeExec) Run(_ context.Context, c zfs.Cmd) error {
	f.mu.Lock()
	f.cmds = append(f.cmds, slices.Clone(c.Argv))
	f.mu.Unlock()
	if len(c.Argv) == 6 && slices.Equal(c.Argv[1:5], []string{"send", "-n", "-P", "-t"}) {
		if f.dryErr != nil {
			return f.dryErr
		}
		if c.Stdout != nil {
			io.WriteString(c.Stdout, f.dryRun)
		}
		return nil
	}
	if len(c.Argv) == 8 && slices.Equal(c.Argv[1:7], getEncryption) {
		if f.getErr != nil {
			return f.getErr
		}
		enc := f.encryption[c.Argv[7]]
		if enc == "" {
			enc = "off"
		}
		fmt.Fprintf(c.Stdout, "%s\tencryption\t%s\t-\n", c.Argv[7], enc)
		return nil
	}
	if c.Stdout != nil {
		io.WriteString(c.Stdout, f.stdout)
	}
	return f.err
}

// getEncryption is the argv, after the zfs binary and before the dataset,
// of the gate's check of a dataset's encryption.
var getEncryption = []string{"get", "-H", "-p", "-o", "name,property,value,source", "encryption"}

// getArgv is the gate's zfs get encryption of ds.
func getArgv(ds string) []string {
	return append(append([]string{"/usr/sbin/zfs"}, getEncryption...), ds)
}

// dryRunOutput is what zfs send -n -P -t prints for a token, with toname and
// the final line given.
func dryRunOutput(toname, last string) string {
	return "resume token contents:\n" +
		"nvlist version: 0\n" +
		"\tobject = 0x9\n" +
		"\toffset = 0x4e0000\n" +
		"\tbytes = 0x4f2f80\n" +
		"\ttoguid = 0x8a6b4d0bcbf9b6c3\n" +
		"\ttoname = " + toname + "\n" +
		"\tcompressok = 1\n" +
		"\tlargeblockok = 1\n" +
		last + "\n"
}

type served struct {
	code           int
	stdout, stderr string
	log            string
	cmds           [][]string
}

func serveLine(t *testing.T, f *fakeExec, line string) served {
	t.Helper()
	g := testGate(t)
	g.Exec = f
	var logBuf bytes.Buffer
	g.Log = hclog.New(&hclog.LoggerOptions{Output: &logBuf, Level: hclog.Debug, DisableTime: true})
	var stdout, stderr bytes.Buffer
	code := g.Serve(context.Background(), line, strings.NewReader(""), &stdout, &stderr)
	return served{code: code, stdout: stdout.String(), stderr: stderr.String(), log: logBuf.String(), cmds: f.cmds}
}

func TestServeAccepted(t *testing.T) {
	f := &fakeExec{stdout: "host05data/jail\t123\n"}
	r := serveLine(t, f, "zfs list -H -p -o name,guid -t filesystem -r host05data/jail")
	require.Equal(t, 0, r.code)
	require.Equal(t, "host05data/jail\t123\n", r.stdout)
	require.Empty(t, r.stderr)
	require.Equal(t, [][]string{{"/usr/sbin/zfs", "list", "-H", "-p", "-o", "name,guid", "-t", "filesystem", "-r", "host05data/jail"}}, r.cmds)
	require.Contains(t, r.log, "accepted")
	require.Equal(t, 1, strings.Count(r.log, "accepted"), "one line for the decision")
}

func TestServeRefused(t *testing.T) {
	for _, line := range []string{
		"",
		"zfs destroy -r host05data/jail",
		"zfs list -H -p -o name -t filesystem host05data/jailbreak",
		"zfs list; id",
		"zfs hold sanoid_x host05data/jail@a",
	} {
		f := &fakeExec{}
		r := serveLine(t, f, line)
		if r.code != ExitRefused {
			t.Errorf("Serve(%q) = %d, want %d", line, r.code, ExitRefused)
		}
		if !strings.HasPrefix(r.stderr, "vault serve: refused: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
			t.Errorf("Serve(%q) wrote %q on stderr, want one line \"vault serve: refused: ...\"", line, r.stderr)
		}
		if r.stdout != "" {
			t.Errorf("Serve(%q) wrote %q on stdout", line, r.stdout)
		}
		if len(r.cmds) != 0 {
			t.Errorf("Serve(%q) ran %q", line, r.cmds)
		}
		if strings.Count(r.log, "refused") != 1 || strings.Count(r.log, "\n") != 1 {
			t.Errorf("Serve(%q) logged %q, want one line", line, r.log)
		}
	}
}

func TestServeZFSFails(t *testing.T) {
	f := &fakeExec{err: &zfs.ExitError{Argv: []string{"/usr/sbin/zfs", "hold"}, Code: 1, Stderr: "cannot hold snapshot 'host05data/jail@a': tag already exists on this dataset\n"}}
	r := serveLine(t, f, "zfs hold vault:x host05data/jail@a")
	require.Equal(t, 1, r.code)
	require.Equal(t, "cannot hold snapshot 'host05data/jail@a': tag already exists on this dataset\n", r.stderr)
	require.Contains(t, r.log, "zfs failed")

	f = &fakeExec{err: &zfs.ExitError{Argv: []string{"/usr/sbin/zfs", "send"}, Code: -1, Signal: "SIGKILL"}}
	r = serveLine(t, f, "zfs send host05data/jail@a")
	require.Equal(t, ExitFailure, r.code)

	f = &fakeExec{err: errors.New("cannot run zfs: fork/exec /usr/sbin/zfs: no such file or directory")}
	r = serveLine(t, f, "zfs send host05data/jail@a")
	require.Equal(t, ExitFailure, r.code)
	require.Equal(t, "vault serve: cannot run zfs: fork/exec /usr/sbin/zfs: no such file or directory\n", r.stderr)
}

func TestServeResumeToken(t *testing.T) {
	line := "zfs send -t " + tok
	dry := []string{"/usr/sbin/zfs", "send", "-n", "-P", "-t", tok}
	real := []string{"/usr/sbin/zfs", "send", "-t", tok}
	get := getArgv("host05data/jail/www")
	refused := "vault serve: refused: " + TokenRefused + "\n"

	f := &fakeExec{dryRun: dryRunOutput("host05data/jail/www@a", "full\thost05data/jail/www@a\t5186432"), stdout: "STREAM"}
	r := serveLine(t, f, line)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, "STREAM", r.stdout, "only the real send writes stdout")
	require.Equal(t, [][]string{dry, get, real}, r.cmds, "a token that is not raw: the dataset it sends is not encrypted")

	// The client's own dry run is verified too.
	f = &fakeExec{dryRun: dryRunOutput("host05data/jail/www@a", "full\thost05data/jail/www@a\t5186432")}
	r = serveLine(t, f, "zfs send -n -P -t "+tok)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, [][]string{dry, get, dry}, r.cmds)
	require.Equal(t, dryRunOutput("host05data/jail/www@a", "full\thost05data/jail/www@a\t5186432"), r.stdout)

	// A raw token needs no look at the encryption.
	f = &fakeExec{dryRun: dryRunOutput("host05data/jail/www@a", "full\thost05data/jail/www@a\t5186432"), stdout: "STREAM",
		encryption: map[string]string{"host05data/jail/www": "aes-256-gcm"}}
	r = serveLine(t, f, "zfs send -t "+rawTok)
	require.Equal(t, 0, r.code, r.stderr)
	require.Equal(t, [][]string{{"/usr/sbin/zfs", "send", "-n", "-P", "-t", rawTok}, {"/usr/sbin/zfs", "send", "-t", rawTok}}, r.cmds)

	// Every refusal of a token reads the same and names nothing: the log
	// has the cause.
	for _, tc := range []struct {
		name  string
		line  string
		f     *fakeExec
		cmds  [][]string
		cause string // in the log
	}{
		{"toname outside the roots, refused before zfs runs", "zfs send -t " + makeToken("host05data/secret@a", false), &fakeExec{}, nil,
			`toname \"host05data/secret@a\" is not under an allowed root`},
		{"token zfs cannot read", "zfs send -t 1-abc-10-789c", &fakeExec{}, nil, "checksum"},
		{"dry run names outside the roots", line,
			&fakeExec{dryRun: dryRunOutput("host05data/secret@a", "full\thost05data/secret@a\t5186432"), stdout: "STREAM"},
			[][]string{dry}, `toname \"host05data/secret@a\" is not under an allowed root`},
		{"forged guid: allowed toname, snapshot found elsewhere", line,
			&fakeExec{dryRun: dryRunOutput("host05data/jail@a", "full\thost05data/secret@x\t5186432"), stdout: "STREAM"},
			[][]string{dry}, `snapshot sent \"host05data/secret@x\" is not under an allowed root`},
		{"zfs can no longer serve it", line,
			&fakeExec{dryErr: &zfs.ExitError{Argv: dry, Code: 255, Stderr: "cannot resume send: 'host05data/secret@a' used in the initial send no longer exists\n"}},
			[][]string{dry}, "the dry run failed (exit 255): cannot resume send: 'host05data/secret@a'"},
		{"not raw, of an encrypted dataset", line,
			&fakeExec{dryRun: dryRunOutput("host05data/jail/www@a", "full\thost05data/jail/www@a\t5186432"), stdout: "STREAM",
				encryption: map[string]string{"host05data/jail/www": "aes-256-gcm"}},
			[][]string{dry, get}, "which is encrypted (encryption=aes-256-gcm)"},
		{"encryption unknown", line,
			&fakeExec{dryRun: dryRunOutput("host05data/jail/www@a", "full\thost05data/jail/www@a\t5186432"), stdout: "STREAM",
				getErr: &zfs.ExitError{Code: 1, Stderr: "cannot open 'host05data/jail/www': dataset does not exist\n"}},
			[][]string{dry, get}, "dataset does not exist"},
	} {
		r := serveLine(t, tc.f, tc.line)
		if r.code != ExitRefused || r.stderr != refused || r.stdout != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want %d and %q only", tc.name, r.code, r.stdout, r.stderr, ExitRefused, refused)
		}
		if !slices.EqualFunc(r.cmds, tc.cmds, slices.Equal) {
			t.Errorf("%s: ran %q, want %q", tc.name, r.cmds, tc.cmds)
		}
		if !strings.Contains(r.log, tc.cause) || strings.Count(r.log, "\n") != 1 {
			t.Errorf("%s: logged %q, want one line with %q", tc.name, r.log, tc.cause)
		}
	}
	// The vault reads "cannot resume send" as zfs's answer for a token it
	// can no longer use, and aborts its partial receive.
	require.Contains(t, TokenRefused, "cannot resume send")

	// zfs cannot even be run.
	f = &fakeExec{dryErr: errors.New("cannot run zfs: no such file")}
	r = serveLine(t, f, line)
	require.Equal(t, ExitFailure, r.code)
	require.Equal(t, "vault serve: cannot verify resume token: cannot run zfs: no such file\n", r.stderr)
}

// TestServeEncryption: a send that is not raw runs only for a dataset that
// is not encrypted, dry runs included; a raw one needs no look.
func TestServeEncryption(t *testing.T) {
	enc := map[string]string{"host05data/vm": "aes-256-gcm", "host05data/jail/www": "on"}
	for _, tc := range []struct {
		line   string
		cmds   [][]string // with the send last, or without it if refused
		reason string     // "" if the send runs
	}{
		{"zfs send -L -c host05data/jail@a", [][]string{getArgv("host05data/jail"), {"/usr/sbin/zfs", "send", "-L", "-c", "host05data/jail@a"}}, ""},
		{"zfs send -L -c -w host05data/vm@a", [][]string{{"/usr/sbin/zfs", "send", "-L", "-c", "-w", "host05data/vm@a"}}, ""},
		{"zfs send -n -P -w -I host05data/vm@a host05data/vm@b", [][]string{{"/usr/sbin/zfs", "send", "-n", "-P", "-w", "-I", "host05data/vm@a", "host05data/vm@b"}}, ""},
		{"zfs send -L -c host05data/vm@a", [][]string{getArgv("host05data/vm")}, `"host05data/vm" is encrypted (encryption=aes-256-gcm): it is sent raw only (zfs send -w)`},
		{"zfs send -n -P -L -c host05data/vm@a", [][]string{getArgv("host05data/vm")}, `"host05data/vm" is encrypted`},
		{"zfs send -L -c -i host05data/jail/www@a host05data/jail/www@b", [][]string{getArgv("host05data/jail/www")}, `(encryption=on)`},
	} {
		r := serveLine(t, &fakeExec{encryption: enc, stdout: "STREAM"}, tc.line)
		if !slices.EqualFunc(r.cmds, tc.cmds, slices.Equal) {
			t.Errorf("%s: ran %q, want %q", tc.line, r.cmds, tc.cmds)
		}
		if tc.reason == "" {
			if r.code != 0 || r.stdout != "STREAM" {
				t.Errorf("%s: exit %d, stdout %q, stderr %q", tc.line, r.code, r.stdout, r.stderr)
			}
			continue
		}
		if r.code != ExitRefused || r.stdout != "" || !strings.HasPrefix(r.stderr, "vault serve: refused: ") || !strings.Contains(r.stderr, tc.reason) {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want refused with %q", tc.line, r.code, r.stdout, r.stderr, tc.reason)
		}
	}

	// When zfs cannot say, nothing is sent, and zfs's words go to the log.
	r := serveLine(t, &fakeExec{getErr: &zfs.ExitError{Code: 1, Stderr: "cannot open 'host05data/jail': dataset does not exist\n"}, stdout: "STREAM"},
		"zfs send -L -c host05data/jail@a")
	require.Equal(t, ExitRefused, r.code)
	require.Equal(t, "vault serve: refused: cannot tell whether \"host05data/jail\" is encrypted, so it is not sent (the source host's log says why)\n", r.stderr)
	require.Contains(t, r.log, "dataset does not exist")
	require.Equal(t, [][]string{getArgv("host05data/jail")}, r.cmds)
}

func TestCheckTokenContents(t *testing.T) {
	tests := []struct {
		name   string
		out    string
		reason string // "" for accepted
	}{
		{"full", dryRunOutput("host05data/jail@a", "full\thost05data/jail@a\t123"), ""},
		{"full without size", dryRunOutput("host05data/jail@a", "full\thost05data/jail@a"), ""},
		{"renamed within the roots", dryRunOutput("host05data/jail@a", "full\thost05data/vm@b\t123"), ""},
		{"incremental", dryRunOutput("host05data/jail@b", "incremental\thost05data/jail@a\thost05data/jail@b\t123"), ""},
		{"incremental from a bookmark", dryRunOutput("host05data/jail@b", "incremental\thost05data/jail#a\thost05data/jail@b\t123"), ""},
		{"spaces in names", dryRunOutput("tank/my data@a b", "full\ttank/my data@a b\t123"), ""},
		{"size line at the end", dryRunOutput("host05data/jail@a", "full\thost05data/jail@a\t123\nsize\t123"), ""},
		{"empty", "", "did not print \"resume token contents:\" first"},
		{"no header", "\ttoname = host05data/jail@a\nfull\thost05data/jail@a\t1\n", "did not print"},
		{"no toname", "resume token contents:\nfull\thost05data/jail@a\t1\n", "0 toname lines"},
		{"no send line", "resume token contents:\n\ttoname = host05data/jail@a\n", "0 lines naming what it sends"},
		{"toname outside", dryRunOutput("host05data/secret@a", "full\thost05data/jail@a\t1"), `toname "host05data/secret@a" is not under an allowed root`},
		{"toname jailbreak", dryRunOutput("host05data/jailbreak@a", "full\thost05data/jailbreak@a\t1"), "not under an allowed root"},
		{"toname not a snapshot", dryRunOutput("host05data/jail", "full\thost05data/jail@a\t1"), "toname: invalid snapshot name"},
		{"sent outside", dryRunOutput("host05data/jail@a", "full\thost05data/secret@a\t1"), `snapshot sent "host05data/secret@a" is not under an allowed root`},
		{"incremental source outside", dryRunOutput("host05data/jail@b", "incremental\tother/x@a\thost05data/jail@b\t1"), `incremental source "other/x@a" is not under an allowed root`},
		{"incremental source outside, bookmark", dryRunOutput("host05data/jail@b", "incremental\tother/x#a\thost05data/jail@b\t1"), `incremental source "other/x#a"`},
		{"incremental sent outside", dryRunOutput("host05data/jail@b", "incremental\thost05data/jail@a\tother/x@b\t1"), `snapshot sent "other/x@b"`},
		{"injected toname line", dryRunOutput("host05data/secret@a", "full\thost05data/secret@a\t1") + "\ttoname = host05data/jail@a\n", "2 toname lines"},
		{"injected nested toname", strings.Replace(dryRunOutput("host05data/secret@a", "full\thost05data/jail@a\t1"), "\tobject", "\t\ttoname = host05data/jail@a\n\tobject", 1), "2 toname lines"},
		{"injected send line", strings.Replace(dryRunOutput("host05data/jail@a", "full\thost05data/secret@a\t1"), "\tobject", "full\thost05data/jail@a\t1\n\tobject", 1), "2 lines naming what it sends"},
		{"send line not last", dryRunOutput("host05data/jail@a", "full\thost05data/jail@a\t1\nfoo"), "as the last line"},
		{"send line too many fields", dryRunOutput("host05data/jail@a", "full\thost05data/jail@a\t1\t2"), "cannot read"},
		{"incremental too few fields", dryRunOutput("host05data/jail@a", "incremental\thost05data/jail@a"), "cannot read"},
		{"control character", dryRunOutput("host05data/jail@a\r", "full\thost05data/jail@a\t1"), "toname: invalid snapshot name"},
	}
	g := testGate(t)
	for _, tt := range tests {
		_, err := g.checkTokenContents(tt.out)
		if tt.reason == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s: error %v, want one with %q", tt.name, err, tt.reason)
		}
	}
}

func TestVerifyTokenOutputBounded(t *testing.T) {
	g := testGate(t)
	g.Exec = &fakeExec{dryRun: dryRunOutput("host05data/jail@a", strings.Repeat("x", maxDryRunOutput)+"\nfull\thost05data/jail@a\t1")}
	_, err := g.verifyToken(context.Background(), tok)
	var re *RefusedError
	require.ErrorAs(t, err, &re)
	require.Equal(t, TokenRefused, re.Reason)
	require.Contains(t, re.Detail, "printed more than")
}

func FuzzCheckTokenContents(f *testing.F) {
	f.Add(dryRunOutput("host05data/jail@a", "full\thost05data/jail@a\t123"))
	f.Add(dryRunOutput("host05data/jail@b", "incremental\thost05data/jail#a\thost05data/jail@b\t123"))
	f.Add(dryRunOutput("host05data/jail@a", "full\thost05data/secret@a\t123"))
	g := testGate(f)
	f.Fuzz(func(t *testing.T, out string) {
		snap, err := g.checkTokenContents(out)
		if err == nil {
			// Accepted: every name on the last line is allowed.
			lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
			last := ""
			for _, l := range slices.Backward(lines) {
				if l != "" && !isSizeLine(l) {
					last = l
					break
				}
			}
			f := strings.Split(last, "\t")
			names := f[1:2]
			if f[0] == "incremental" {
				names = f[1:3]
			}
			for _, n := range names {
				if !nameUnder(g, n) {
					t.Fatalf("accepted %q, which sends %q", out, n)
				}
			}
			if want := names[len(names)-1]; snap.String() != want {
				t.Fatalf("accepted %q and returned %q, want %q", out, snap, want)
			}
		}
	})
}

// TestServeLocal runs Serve with the real zfs.Local and a stand-in zfs
// script, so stdout and the exit status go through real files and
// processes.
func TestServeLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs /bin/sh")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "zfs")
	script := `#!/bin/sh
case "$*" in
*host05data/vm*) echo "cannot open 'host05data/vm@a': dataset does not exist" >&2; exit 1;;
"get -H -p -o name,property,value,source encryption "*) printf '%s\tencryption\toff\t-\n' "$7"; exit;;
esac
printf '%s\n' "$@"
`
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	g := testGate(t)
	g.ZFS = bin
	g.Exec = &zfs.Local{}

	out, err := os.CreateTemp(dir, "stdout")
	require.NoError(t, err)
	defer out.Close()
	var stderr bytes.Buffer
	code := g.Serve(context.Background(), "zfs send -L -c 'tank/my data@a b'", nil, out, &stderr)
	require.Equal(t, 0, code, stderr.String())
	got, err := os.ReadFile(out.Name())
	require.NoError(t, err)
	require.Equal(t, "send\n-L\n-c\ntank/my data@a b\n", string(got))

	stderr.Reset()
	code = g.Serve(context.Background(), "zfs holds -H host05data/vm@a", nil, io.Discard, &stderr)
	require.Equal(t, 1, code)
	require.Equal(t, "cannot open 'host05data/vm@a': dataset does not exist\n", stderr.String())
}

func TestServeLogsOneLine(t *testing.T) {
	f := &fakeExec{}
	r := serveLine(t, f, "zfs list\n2026 [INFO]  accepted: argv=x\r\\n")
	require.Equal(t, ExitRefused, r.code)
	require.Equal(t, 1, strings.Count(r.log, "\n"), "log %q", r.log)
	require.Contains(t, r.log, `zfs list\n2026 [INFO]  accepted: argv=x\r\\n`)

	f = &fakeExec{err: &zfs.ExitError{Code: 1, Stderr: "cannot hold:\nline two\n"}}
	r = serveLine(t, f, "zfs hold vault:x host05data/jail@a")
	require.Equal(t, 1, r.code)
	require.Equal(t, 2, strings.Count(r.log, "\n"), "log %q", r.log)
	require.Equal(t, "cannot hold:\nline two\n", r.stderr)
}

// VerifyResumeToken: a token another party hands over (the host being restored) is checked as
// a client's is, and sends only a snapshot under the roots.
func TestVerifyResumeToken(t *testing.T) {
	root, err := zfs.ParseDataset("rust10/Backups/h5/vm")
	require.NoError(t, err)
	tok := makeToken("rust10/Backups/h5/vm@a", false)
	good := &fakeExec{dryRun: dryRunOutput("rust10/Backups/h5/vm@a", "full\trust10/Backups/h5/vm@a\t5186432")}
	g := &Gate{Allow: []zfs.Dataset{root}, ZFS: "/sbin/zfs", Exec: good}
	snap, err := g.VerifyResumeToken(context.Background(), tok)
	require.NoError(t, err)
	require.Equal(t, "rust10/Backups/h5/vm@a", snap.String())
	require.Equal(t, [][]string{{"/sbin/zfs", "send", "-n", "-P", "-t", tok}}, good.cmds)

	for _, tc := range []struct {
		name, token string
		f           *fakeExec
		cause       string
	}{
		{"another client's toname", makeToken("rust10/Backups/h7/db@a", false), &fakeExec{}, "not under an allowed root"},
		{"a forged guid found elsewhere in the pool", tok,
			&fakeExec{dryRun: dryRunOutput("rust10/Backups/h5/vm@a", "full\trust10/Backups/h7/db@x\t5186432")}, "not under an allowed root"},
		{"not a token", "1-abc-10-789c", &fakeExec{}, "checksum"},
		{"shell syntax", "1-abc;rm", &fakeExec{}, "resume token"},
	} {
		g := &Gate{Allow: []zfs.Dataset{root}, ZFS: "/sbin/zfs", Exec: tc.f}
		_, err := g.VerifyResumeToken(context.Background(), tc.token)
		var re *RefusedError
		if !errors.As(err, &re) || !strings.Contains(re.Detail, tc.cause) {
			t.Errorf("%s: %v, want a refusal with %q", tc.name, err, tc.cause)
		}
		for _, c := range tc.f.cmds {
			if slices.Contains(c, "send") && !slices.Contains(c, "-n") {
				t.Errorf("%s: ran a real send %q", tc.name, c)
			}
		}
	}
}
