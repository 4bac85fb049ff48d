package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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
			wantErr:  "vault serve: refused: zfs subcommand \"destroy\" is not allowed (only list, send, hold, release, holds, snapshot)\n",
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
