package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belltech/vault/conf"
	"github.com/stretchr/testify/require"
)

const goodConfig = `[[job]]
name = "drive.client"
source = "backup@host05"
source_datasets = ["host05data/jail/drive.client"]
target = "rust10/Backups/host05"
schedule = "15 1 * * *"
rpo = "26h"
`

const badConfig = `user = "root"
[[job]]
name = "drive.client"
source = "backup@host05"
source_datasets = ["host05data/jail/drive.client"]
target = "rust10/Backups/host05"
shedule = "15 1 * * *"
rpo = "26h"
`

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	missing := filepath.Join(dir, "missing.toml")
	require.NoError(t, os.WriteFile(good, []byte(goodConfig), 0o600))
	require.NoError(t, os.WriteFile(bad, []byte(badConfig), 0o600))

	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string // a substring of stdout, or "" for none at all
		wantErr  string // stderr, exactly
	}{
		{
			name:     "valid file",
			args:     []string{"config", "check", good},
			wantCode: 0,
			wantOut:  `job "drive.client": pulls over SSH from backup@host05:22`,
		},
		{
			name:     "valid file with -c",
			args:     []string{"config", "check", "-c", good},
			wantCode: 0,
			wantOut:  "host05data/jail/drive.client -> rust10/Backups/host05/drive.client",
		},
		{
			name:     "the same file twice",
			args:     []string{"config", "check", "-c", good, good},
			wantCode: 0,
			wantOut:  `job "drive.client"`,
		},
		{
			name:     "problems",
			args:     []string{"config", "check", bad},
			wantCode: 2,
			wantErr: bad + `:1: user: the daemon must not run as "root"; create an unprivileged user ("backup") and name it here` + "\n" +
				bad + `:7: job[0].shedule: unknown key "shedule" in [[job]]; did you mean "schedule"?` + "\n" +
				"vault config: 2 problems in " + bad + "\n",
		},
		{
			name:     "missing file",
			args:     []string{"config", "check", missing},
			wantCode: 2,
			wantErr:  `vault config: cannot read configuration "` + missing + `": no such file or directory` + "\n",
		},
		{
			name:     "no subcommand",
			args:     []string{"config"},
			wantCode: 2,
			wantErr:  "vault config: missing subcommand; usage: vault config check [-c FILE] [FILE]\n",
		},
		{
			name:     "unknown subcommand",
			args:     []string{"config", "show"},
			wantCode: 2,
			wantErr:  `vault config: unknown subcommand "show"; usage: vault config check [-c FILE] [FILE]` + "\n",
		},
		{
			name:     "two files",
			args:     []string{"config", "check", good, bad},
			wantCode: 2,
			wantErr:  `vault config: takes one FILE, got "` + good + `", "` + bad + `"` + "\n",
		},
		{
			name:     "two different files with -c",
			args:     []string{"config", "check", "-c", good, bad},
			wantCode: 2,
			wantErr:  `vault config: two files given, "` + good + `" with -c and "` + bad + `"; give one` + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tc.args, &stdio{in: strings.NewReader(""), out: &out, err: &errOut, getenv: func(string) string { return "" }})
			if code != tc.wantCode {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, tc.wantCode, errOut.String())
			}
			if tc.wantOut == "" && out.Len() > 0 {
				t.Errorf("stdout: got %q, want nothing", out.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("stdout: got %q, want it to contain %q", out.String(), tc.wantOut)
			}
			if errOut.String() != tc.wantErr {
				t.Errorf("stderr: got %q, want %q", errOut.String(), tc.wantErr)
			}
		})
	}
}

// Without a FILE, config check reads the system's default path.
func TestConfigCheckDefaultPath(t *testing.T) {
	if _, err := os.Stat(conf.DefaultPath()); !errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s exists here; the test needs it absent", conf.DefaultPath())
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"config", "check"}, &stdio{out: &out, err: &errOut, getenv: os.Getenv})
	if code != 2 || !strings.Contains(errOut.String(), conf.DefaultPath()) {
		t.Errorf("got exit %d and stderr %q, want exit 2 and an error naming %s", code, errOut.String(), conf.DefaultPath())
	}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	bad := filepath.Join(dir, "bad.toml")
	require.NoError(t, os.WriteFile(good, []byte(goodConfig), 0o600))
	require.NoError(t, os.WriteFile(bad, []byte(badConfig), 0o600))

	c, err := loadConfig(good)
	require.NoError(t, err)
	if got := len(c.Jobs); got != 1 {
		t.Errorf("jobs: got %d, want 1", got)
	}

	for _, path := range []string{bad, filepath.Join(dir, "missing.toml")} {
		_, err = loadConfig(path)
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitUsage {
			t.Errorf("loadConfig(%q): got %v, want an exitError with code %d", path, err, exitUsage)
		}
	}
	_, err = loadConfig(bad)
	want := "cannot use configuration " + bad + ", nothing done:\n" + bad + `:1: user: the daemon`
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("got %q, want it to start with %q", err.Error(), want)
	}
	var ps *conf.Problems
	if !errors.As(err, &ps) || len(*ps) != 2 {
		t.Errorf("got %v, want it to wrap the 2 *conf.Problems", err)
	}
}
