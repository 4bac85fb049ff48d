//go:build !windows && !plan9

// Package syslogger gives hclog loggers that write to syslog: each log line one message, at the
// severity of its hclog level, under the facility and tag its user chooses (vault serve: auth,
// "vault-serve"; vault daemon: daemon, "vault").
package syslogger

import (
	"fmt"
	"io"
	"log/syslog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// New returns a logger that writes to the local syslog under facility and tag, with the
// options of opts (its Output, time stamps and JSON format are the syslog's: the time is
// syslog's own stamp). It fails if there is no local syslog to write to.
func New(facility syslog.Priority, tag string, opts *hclog.LoggerOptions) (hclog.Logger, error) {
	return Dial("", "", facility, tag, opts)
}

// Dial is New with the syslog at network and raddr, as log/syslog.Dial takes them ("" and ""
// for the local one).
func Dial(network, raddr string, facility syslog.Priority, tag string, opts *hclog.LoggerOptions) (hclog.Logger, error) {
	w, err := syslog.Dial(network, raddr, facility|syslog.LOG_INFO, tag)
	if err != nil {
		return nil, err
	}
	return newLevelLogger(&syslogWriter{w: w}, opts), nil
}

func newLevelLogger(w *syslogWriter, opts *hclog.LoggerOptions) hclog.Logger {
	o := *opts
	o.Output = w
	o.DisableTime = true // syslog stamps each message
	o.JSONFormat = false
	o.Color = hclog.ColorOff
	return hclog.New(&o)
}

// sink is the part of *syslog.Writer that syslogWriter uses.
type sink interface {
	Debug(string) error
	Info(string) error
	Warning(string) error
	Err(string) error
}

// syslogWriter sends each log line hclog writes as one syslog message, at the severity of its
// level (hclog calls LevelWrite when the output has it): trace and debug at debug, info at
// info, warn at warning, error at err.
type syslogWriter struct{ w sink }

func (s *syslogWriter) Write(p []byte) (int, error) {
	return s.LevelWrite(hclog.Info, p)
}

func (s *syslogWriter) LevelWrite(level hclog.Level, p []byte) (int, error) {
	msg := strings.TrimSuffix(string(p), "\n")
	var err error
	switch Severity(level) {
	case syslog.LOG_DEBUG:
		err = s.w.Debug(msg)
	case syslog.LOG_INFO:
		err = s.w.Info(msg)
	case syslog.LOG_WARNING:
		err = s.w.Warning(msg)
	default:
		err = s.w.Err(msg)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// Severity is the syslog severity of an hclog level: trace and debug are debug, info is info,
// warn is warning, error (and anything above) is err.
func Severity(level hclog.Level) syslog.Priority {
	switch {
	case level <= hclog.Debug:
		return syslog.LOG_DEBUG
	case level == hclog.Info:
		return syslog.LOG_INFO
	case level == hclog.Warn:
		return syslog.LOG_WARNING
	}
	return syslog.LOG_ERR
}

// Journal returns an hclog output that writes each log line to w, which is the systemd
// journal's stream, prefixed with its level's severity as "<N>": journald takes that prefix
// for the line's priority (SyslogLevelPrefix=, on by default) and strips it, so `journalctl
// -p warning` finds the warnings.
func Journal(w io.Writer) io.Writer { return journalWriter{w} }

type journalWriter struct{ w io.Writer }

func (j journalWriter) Write(p []byte) (int, error) { return j.LevelWrite(hclog.Info, p) }

func (j journalWriter) LevelWrite(level hclog.Level, p []byte) (int, error) {
	if _, err := fmt.Fprintf(j.w, "<%d>%s", Severity(level), p); err != nil {
		return 0, err
	}
	return len(p), nil
}
