package main

import (
	"bytes"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"strings"
	"sync"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/term"

	"github.com/belltech/vault/syslogger"
)

// Where vault daemon logs (--log).
const (
	logAuto   = "auto"   // stderr if a person or the journal reads it, syslog otherwise
	logSyslog = "syslog" // facility daemon, tag vault
	logStderr = "stderr" // JSON lines, or text on a terminal
)

// daemonSyslogTag is the tag of vault daemon's syslog messages (facility daemon).
const daemonSyslogTag = "vault"

// daemonLog is how vault daemon logs: --log, the level, and the syslog to write to ("" and ""
// for the local one; tests point it at their own).
type daemonLog struct {
	to                    string
	level                 hclog.Level
	syslogNet, syslogAddr string
}

// checkLogTo checks a --log value.
func checkLogTo(to string) error {
	switch to {
	case logAuto, logSyslog, logStderr:
		return nil
	}
	return usageErrorf("--log %q: want auto, syslog or stderr", to)
}

// resolve gives where auto logs: stderr when it is a terminal (someone watches the daemon run
// in the foreground) or the systemd journal (journald keeps stderr already, with the
// priorities Journal gives each line); syslog otherwise: rc.d's daemon(8), nohup, a plain
// init script, where stderr is a pipe, a file or /dev/null.
func (dl daemonLog) resolve(s *stdio) string {
	if dl.to != logAuto {
		return dl.to
	}
	if stderrIsTerminal(s) || stderrIsJournal(s) {
		return logStderr
	}
	return logSyslog
}

// logger returns the daemon's logger and where it writes (syslog or stderr). A syslog that
// cannot be reached falls back to stderr, with a warning there.
func (dl daemonLog) logger(s *stdio) (hclog.Logger, string) {
	opts := &hclog.LoggerOptions{Name: "vault", Level: dl.level}
	if dl.resolve(s) == logSyslog {
		log, err := syslogger.Dial(dl.syslogNet, dl.syslogAddr, syslog.LOG_DAEMON, daemonSyslogTag, opts)
		if err == nil {
			return log, logSyslog
		}
		log = dl.stderrLogger(s, opts)
		log.Warn("cannot log to syslog; logging to stderr", "error", err)
		return log, logStderr
	}
	return dl.stderrLogger(s, opts), logStderr
}

func (dl daemonLog) stderrLogger(s *stdio, opts *hclog.LoggerOptions) hclog.Logger {
	o := *opts
	o.Output = s.err
	o.JSONFormat = !isTerminal(s, s.err)
	if stderrIsJournal(s) {
		o.Output = syslogger.Journal(s.err)
	}
	return hclog.New(&o)
}

// workerStderr is where the prune worker's stderr goes: the daemon's stderr when the daemon
// logs there, or else into the daemon's log, one message per line at the level the line
// names ("[WARN]", ...), so that its warnings reach syslog too.
func workerStderr(log hclog.Logger, dest string, s *stdio) io.Writer {
	if dest == logStderr {
		return s.err
	}
	return &lineWriter{w: log.Named("prune-worker").StandardWriter(&hclog.StandardLoggerOptions{InferLevels: true, InferLevelsWithTimestamp: true})}
}

// lineWriter passes what is written to it on to w one whole line per Write (hclog's standard
// writer makes a message of each Write, and a pipe's reader gets lines in chunks). A line
// longer than maxLine goes on in pieces.
type lineWriter struct {
	mu  sync.Mutex
	buf []byte
	w   io.Writer
}

const maxLine = 64 << 10

func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 && len(l.buf) < maxLine {
			return len(p), nil
		}
		if i < 0 {
			i = len(l.buf) - 1
		}
		if _, err := l.w.Write(l.buf[:i+1]); err != nil {
			return 0, err
		}
		l.buf = l.buf[i+1:]
	}
}

func stderrIsTerminal(s *stdio) bool {
	f, ok := s.err.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stderrIsJournal reports whether stderr is the systemd journal's stream: systemd sets
// JOURNAL_STREAM to its "DEVICE:INODE" (decimal), and only a stderr with that device and inode
// is it (a service that redirected stderr elsewhere inherits the variable all the same).
func stderrIsJournal(s *stdio) bool {
	dev, ino, ok := strings.Cut(s.getenv("JOURNAL_STREAM"), ":")
	f, isFile := s.err.(*os.File)
	if !ok || !isFile {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && dev == fmt.Sprint(st.Dev) && ino == fmt.Sprint(st.Ino)
}
