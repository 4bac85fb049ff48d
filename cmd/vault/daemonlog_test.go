package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/syslogger/syslogtest"
)

// stderrFile is a regular file standing in for the daemon's stderr, and the JOURNAL_STREAM
// value that names it.
func stderrFile(t *testing.T) (*os.File, string) {
	f, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	require.NoError(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	return f, fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

func readBack(t *testing.T, f *os.File) string {
	b, err := os.ReadFile(f.Name())
	require.NoError(t, err)
	return string(b)
}

// TestDaemonLogDestinations: where each --log sends the daemon's lines, and at which syslog
// priority (facility daemon is 3: PRI 24 plus the severity) or journal prefix.
func TestDaemonLogDestinations(t *testing.T) {
	for _, tc := range []struct {
		name    string
		to      string
		journal string // JOURNAL_STREAM: "self" names the stderr file, "other" another file
		want    string // where the lines go: syslog or stderr
		// wantStderr matches what the stderr file holds after a warning and an info line.
		wantStderr string
	}{
		{name: "auto, stderr a file: syslog", to: logAuto, want: logSyslog},
		{name: "auto, stderr the journal: stderr with priorities", to: logAuto, journal: "self", want: logStderr,
			wantStderr: `^<4>\{"@level":"warn","@message":"slow","@module":"vault\.daemon",.*\}\n<6>\{"@level":"info","@message":"pull finished",.*"job":"host05"\}\n$`},
		{name: "auto, JOURNAL_STREAM of another file: syslog", to: logAuto, journal: "other", want: logSyslog},
		{name: "syslog", to: logSyslog, journal: "self", want: logSyslog},
		{name: "stderr, not the journal: JSON lines", to: logStderr, want: logStderr,
			wantStderr: `^\{"@level":"warn","@message":"slow","@module":"vault\.daemon",.*\}\n\{"@level":"info","@message":"pull finished",.*"job":"host05"\}\n$`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, self := stderrFile(t)
			_, other := stderrFile(t)
			env := map[string]string{"self": self, "other": other, "": ""}
			addr, next := syslogtest.Listen(t)
			s := &stdio{err: f, getenv: func(k string) string {
				if k == "JOURNAL_STREAM" {
					return env[tc.journal]
				}
				return ""
			}}
			log, dest := daemonLog{to: tc.to, level: hclog.Info, syslogNet: "unixgram", syslogAddr: addr}.logger(s)
			if dest != tc.want {
				t.Fatalf("got destination %s, want %s", dest, tc.want)
			}
			log.Named("daemon").Warn("slow", "job", "host05")
			log.Debug("not logged at info")
			log.Info("pull finished", "job", "host05")
			if tc.want == logSyslog {
				require.Regexp(t, `^<28>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d vault\[\d+\]: \[WARN\]  vault\.daemon: slow: job=host05\n?$`, next())
				require.Regexp(t, `^<30>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d vault\[\d+\]: \[INFO\]  vault: pull finished: job=host05\n?$`, next())
				if got := readBack(t, f); got != "" {
					t.Errorf("stderr got %q, want nothing", got)
				}
				return
			}
			require.Regexp(t, regexp.MustCompile(tc.wantStderr), readBack(t, f))
		})
	}
}

// TestDaemonLogSyslogUnreachable: no syslog to write to, the daemon logs to stderr and says why.
func TestDaemonLogSyslogUnreachable(t *testing.T) {
	f, _ := stderrFile(t)
	s := &stdio{err: f, getenv: func(string) string { return "" }}
	log, dest := daemonLog{to: logSyslog, level: hclog.Info, syslogNet: "unixgram", syslogAddr: filepath.Join(t.TempDir(), "none")}.logger(s)
	require.Equal(t, logStderr, dest)
	log.Info("vault daemon running")
	got := readBack(t, f)
	require.Regexp(t, `^\{"@level":"warn","@message":"cannot log to syslog; logging to stderr","@module":"vault",.*"error":".*"\}\n\{"@level":"info","@message":"vault daemon running"`, got)
}

// TestWorkerStderrToSyslog: with the daemon on syslog, each line the prune worker writes on its
// stderr (its logger's text lines, or a plain message) becomes one message at the level it
// names.
func TestWorkerStderrToSyslog(t *testing.T) {
	addr, next := syslogtest.Listen(t)
	f, _ := stderrFile(t)
	s := &stdio{err: f, getenv: func(string) string { return "" }}
	log, dest := daemonLog{to: logSyslog, level: hclog.Info, syslogNet: "unixgram", syslogAddr: addr}.logger(s)
	require.Equal(t, logSyslog, dest)
	w := workerStderr(log, dest, s)
	// Two lines in one write, the second cut in two.
	for _, chunk := range []string{"2026-12-07T11:50:00.123Z [WARN]  vault.prune: frozen: dataset=rust10/b\nvault prune-", "worker: no network namespace on freebsd\n"} {
		_, err := fmt.Fprint(w, chunk)
		require.NoError(t, err)
	}
	require.Regexp(t, `^<28>.* vault\[\d+\]: \[WARN\]  vault\.prune-worker: vault\.prune: frozen: dataset=rust10/b\n?$`, next())
	require.Regexp(t, `^<30>.* vault\[\d+\]: \[INFO\]  vault\.prune-worker: vault prune-worker: no network namespace on freebsd\n?$`, next())
	require.Empty(t, readBack(t, f))

	// With the daemon on stderr, the worker writes there itself.
	if got := workerStderr(log, logStderr, s); got != f {
		t.Errorf("worker stderr with the daemon on stderr: got %v, want the daemon's stderr", got)
	}
}

func TestDaemonLogFlag(t *testing.T) {
	var out, errOut strings.Builder
	code := run(context.Background(), []string{"daemon", "--log", "file"}, &stdio{in: strings.NewReader(""), out: &out, err: &errOut, getenv: func(string) string { return "" }})
	require.Equal(t, exitUsage, code)
	require.Equal(t, "vault daemon: --log \"file\": want auto, syslog or stderr\n", errOut.String())
}
