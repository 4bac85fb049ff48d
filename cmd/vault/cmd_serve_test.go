package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeZFS writes a stand-in zfs that prints its arguments, one a line,
// fails for anything about host05data/vm, and says that datasets are not
// encrypted.
func fakeZFS(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "zfs")
	script := `#!/bin/sh
case "$*" in
*host05data/vm*) echo "cannot open 'host05data/vm': dataset does not exist" >&2; exit 1;;
"get -H -p -o name,property,value,source encryption "*) printf '%s\tencryption\toff\t-\n' "$7"; exit;;
esac
printf '%s\n' "$@"
`
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	return bin
}

func TestServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs /bin/sh")
	}
	bin := fakeZFS(t)
	for _, tc := range []struct {
		name     string
		args     []string
		cmdline  string // SSH_ORIGINAL_COMMAND
		wantCode int
		wantOut  string
		wantErr  string // stderr: exactly, or a prefix if it ends in "..."
	}{
		{
			name:     "list",
			args:     []string{"--allow", "host05data/jail,host05data/vm", "--zfs", bin, "--log", "none"},
			cmdline:  "/sbin/zfs list -H -p -o name,guid -t filesystem,snapshot -r host05data/jail",
			wantCode: 0,
			wantOut:  "list\n-H\n-p\n-o\nname,guid\n-t\nfilesystem,snapshot\n-r\nhost05data/jail\n",
		},
		{
			name:     "repeated --allow, quoted name",
			args:     []string{"--allow", "host05data/jail", "--allow", "tank/my data", "--zfs", bin, "--log", "none"},
			cmdline:  "/sbin/zfs send -L -c 'tank/my data/x@2022-04-08_16.49.48--1w'",
			wantCode: 0,
			wantOut:  "send\n-L\n-c\ntank/my data/x@2022-04-08_16.49.48--1w\n",
		},
		{
			name:     "zfs fails",
			args:     []string{"--allow", "host05data/jail,host05data/vm", "--zfs", bin, "--log", "none"},
			cmdline:  "zfs holds -H host05data/vm@a",
			wantCode: 1,
			wantErr:  "cannot open 'host05data/vm': dataset does not exist\n",
		},
		{
			name:     "refused subcommand",
			args:     []string{"--allow", "host05data/jail", "--zfs", bin, "--log", "none"},
			cmdline:  "zfs destroy -r host05data/jail",
			wantCode: 2,
			wantErr:  "vault serve: refused: zfs subcommand \"destroy\" is not allowed (only list, get, send, hold, release, holds, snapshot)\n",
		},
		{
			name:     "refused outside the roots",
			args:     []string{"--allow", "host05data/jail", "--zfs", bin, "--log", "none"},
			cmdline:  "zfs send host05data/jailbreak@a",
			wantCode: 2,
			wantErr:  "vault serve: refused: zfs send: argument 1: \"host05data/jailbreak@a\" is not under an allowed root (host05data/jail)\n",
		},
		{
			name:     "interactive login",
			args:     []string{"--allow", "host05data/jail", "--zfs", bin, "--log", "none"},
			cmdline:  "",
			wantCode: 2,
			wantErr:  "vault serve: refused: no command: an interactive login is not allowed\n",
		},
		{
			name:     "--hold-prefix",
			args:     []string{"--allow", "host05data/jail", "--hold-prefix", "vault:rust10:", "--zfs", bin, "--log", "none"},
			cmdline:  "zfs release vault:rust11:host05 host05data/jail@a",
			wantCode: 2,
			wantErr:  "vault serve: refused: zfs release: argument 1: hold tag \"vault:rust11:host05\" does not start with \"vault:rust10:\" (--hold-prefix): this key only touches its own vault's holds\n",
		},
		{
			name:     "--hold-prefix, its own tag",
			args:     []string{"--allow", "host05data/jail", "--hold-prefix", "vault:rust10:", "--zfs", bin, "--log", "none"},
			cmdline:  "zfs hold vault:rust10:host05 host05data/jail@a",
			wantCode: 0,
			wantOut:  "hold\nvault:rust10:host05\nhost05data/jail@a\n",
		},
		{
			name:     "bad --hold-prefix",
			args:     []string{"--allow", "host05data/jail", "--hold-prefix", "vault:rust10"},
			wantCode: 2,
			wantErr:  "vault serve: --hold-prefix: hold prefix \"vault:rust10\" is not \"vault:\" and names ending in ':' (such as \"vault:rust10:\")\n",
		},
		{
			name:     "--hold-prefix not vault's",
			args:     []string{"--allow", "host05data/jail", "--hold-prefix", "keep:"},
			wantCode: 2,
			wantErr:  "vault serve: --hold-prefix: hold prefix \"keep:\" does not start with \"vault:\"\n",
		},
		{
			name:     "snapshot too old for --max-skew",
			args:     []string{"--allow", "host05data/jail", "--max-skew", "1h", "--zfs", bin, "--log", "none"},
			cmdline:  "zfs snapshot host05data/jail@2022-04-08_16.49.48--1w",
			wantCode: 2,
			wantErr:  "vault serve: refused: zfs snapshot: argument 1: snapshot \"host05data/jail@2022-04-08_16.49.48--1w\" is dated 2022-04-08 16:49:48, ...",
		},
		{
			name:     "--max-skew 0",
			args:     []string{"--allow", "host05data/jail", "--max-skew", "0s"},
			wantCode: 2,
			wantErr:  "vault serve: --max-skew 0s: want more than 0 and at most 1h0m0s\n",
		},
		{
			name:     "--max-skew too long",
			args:     []string{"--allow", "host05data/jail", "--max-skew", "2h"},
			wantCode: 2,
			wantErr:  "vault serve: --max-skew 2h0m0s: want more than 0 and at most 1h0m0s\n",
		},
		{
			name:     "logged to stderr",
			args:     []string{"--allow", "host05data/jail", "--zfs", bin, "--log", "stderr"},
			cmdline:  "zfs rollback host05data/jail@a",
			wantCode: 2,
			wantErr:  "...",
		},
		{
			name:     "no --allow",
			args:     []string{"--zfs", bin},
			cmdline:  "zfs list -H -p -o name -t filesystem host05data/jail",
			wantCode: 2,
			wantErr:  "vault serve: no --allow: name the datasets the vault may back up; " + serveUsage + "\n",
		},
		{
			name:     "bad --allow",
			args:     []string{"--allow", "host05data/jail/../vm"},
			wantCode: 2,
			wantErr:  "invalid value \"host05data/jail/../vm\" for flag -allow: invalid dataset name...",
		},
		{
			name:     "relative --zfs",
			args:     []string{"--allow", "host05data/jail", "--zfs", "zfs"},
			wantCode: 2,
			wantErr:  "vault serve: --zfs \"zfs\" is not a clean absolute path\n",
		},
		{
			name:     "bad --log",
			args:     []string{"--allow", "host05data/jail", "--log", "file"},
			wantCode: 2,
			wantErr:  "vault serve: --log \"file\": want syslog, stderr or none\n",
		},
		{
			name:     "arguments",
			args:     []string{"--allow", "host05data/jail", "zfs", "list"},
			wantCode: 2,
			wantErr:  "vault serve: takes no arguments, got \"zfs\", \"list\" (the command comes in SSH_ORIGINAL_COMMAND)\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"SSH_ORIGINAL_COMMAND": tc.cmdline, "SSH_CLIENT": "192.0.2.7 50522 22"}
			var stdout, stderr bytes.Buffer
			s := &stdio{in: strings.NewReader(""), out: &stdout, err: &stderr, getenv: func(k string) string { return env[k] }}
			code := run(context.Background(), append([]string{"serve"}, tc.args...), s)
			require.Equal(t, tc.wantCode, code, "stderr: %s", stderr.String())
			require.Equal(t, tc.wantOut, stdout.String())
			if prefix, ok := strings.CutSuffix(tc.wantErr, "..."); ok {
				require.True(t, strings.HasPrefix(stderr.String(), prefix), "stderr %q, want it to start with %q", stderr.String(), prefix)
			} else {
				require.Equal(t, tc.wantErr, stderr.String())
			}
			if tc.name == "logged to stderr" {
				require.Contains(t, stderr.String(), "vault serve: refused: zfs subcommand \"rollback\" is not allowed")
				require.Contains(t, stderr.String(), "[WARN]  vault-serve: refused: client=192.0.2.7")
			}
		})
	}
}

// TestServeEnvironmentHelper is vault's main for vault serve when the test
// binary runs as `TEST -test.run=^TestServeEnvironmentHelper$ -- serve
// ARGS` (TestServeEnvironment), and again when it executes itself. In a
// normal run it does nothing.
func TestServeEnvironmentHelper(t *testing.T) {
	if args := flag.Args(); len(args) > 0 && args[0] == "serve" {
		os.Exit(mainServe(args))
	}
}

// TestServeEnvironment runs vault serve as sshd would, with variables a
// client may set through AcceptEnv or environment=, and checks that none
// takes effect: the runtime's make it execute itself again with only
// sshd's SSH_* variables (the kernel's copy of its environment shows
// which), VAULT_CPUPROFILE writes no file, and zfs gets its own
// environment.
func TestServeEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs /bin/sh")
	}
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc/PID/environ (Linux)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "zfs")
	script := `#!/bin/sh
tr '\0' '\n' < /proc/$PPID/environ | sed 's/^/serve: /'
env | sed 's/^/zfs: /'
`
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	profile := filepath.Join(dir, "cpu.prof")
	sshd := []string{
		"SSH_ORIGINAL_COMMAND=zfs list -H -p -o name -t filesystem host05data/jail",
		"SSH_CLIENT=192.0.2.7 50522 22",
		"SSH_CONNECTION=192.0.2.7 50522 192.0.2.1 22",
	}
	client := []string{"HOME=" + dir, "VAULT_CPUPROFILE=" + profile, "VAULT_LOG_LEVEL=trace", "LANG=C.UTF-8", "NO_COLOR=1"}
	runtime := []string{"GOGC=1", "GODEBUG=madvdontneed=0", "GOMAXPROCS=1", "GOMEMLIMIT=1MiB", "GOTRACEBACK=crash", "TZ=Pacific/Kiritimati"}
	serve := func(env ...[]string) (code int, stdout, stderr string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestServeEnvironmentHelper$", "--",
			"serve", "--allow", "host05data/jail", "--zfs", bin, "--log", "stderr")
		cmd.Env = slices.Concat(env...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return cmd.ProcessState.ExitCode(), out.String(), errb.String()
	}
	lines := func(out, prefix string) []string {
		var l []string
		for s := range strings.Lines(out) {
			if v, ok := strings.CutPrefix(strings.TrimSuffix(s, "\n"), prefix); ok {
				l = append(l, v)
			}
		}
		slices.Sort(l)
		return l
	}
	zfsEnv := []string{"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TZ=UTC"}

	// Only variables no runtime reads: serve drops them in place.
	code, out, errs := serve(sshd, client)
	require.Equal(t, 0, code, errs)
	require.Equal(t, slices.Sorted(slices.Values(slices.Concat(sshd, client))), lines(out, "serve: "), "no need to execute again")
	require.Equal(t, zfsEnv, withoutShellVars(lines(out, "zfs: ")))
	require.NoFileExists(t, profile)
	require.NotContains(t, errs, "[DEBUG]", "VAULT_LOG_LEVEL has no effect")
	require.Contains(t, errs, "[INFO]  vault-serve: accepted: client=192.0.2.7")

	// The runtime's: serve executes itself again, with sshd's only.
	code, out, errs = serve(sshd, client, runtime)
	require.Equal(t, 0, code, errs)
	require.Equal(t, slices.Sorted(slices.Values(append(slices.Clone(sshd), "VAULT_SERVE_REEXEC=1"))), lines(out, "serve: "))
	require.Equal(t, zfsEnv, withoutShellVars(lines(out, "zfs: ")))
	require.NoFileExists(t, profile)
	require.Contains(t, errs, "[INFO]  vault-serve: accepted: client=192.0.2.7")

	// A client that sets the mark itself gets nothing.
	code, out, errs = serve(sshd, runtime, []string{"VAULT_SERVE_REEXEC=1"})
	require.Equal(t, 2, code)
	require.Empty(t, out)
	require.Equal(t, "vault serve: refused: GOGC, GODEBUG, GOMAXPROCS, GOMEMLIMIT, GOTRACEBACK, TZ set although VAULT_SERVE_REEXEC says the environment was cleaned\n", errs)
}

// withoutShellVars drops what /bin/sh adds to the environment it passes on.
func withoutShellVars(env []string) []string {
	return slices.DeleteFunc(env, func(kv string) bool {
		return strings.HasPrefix(kv, "PWD=") || strings.HasPrefix(kv, "SHLVL=") || strings.HasPrefix(kv, "_=") || strings.HasPrefix(kv, "OLDPWD=")
	})
}
