//go:build !windows && !plan9

package serve

import (
	"log/syslog"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// SyslogTag is the tag of vault serve's syslog messages.
const SyslogTag = "vault-serve"

// NewSyslogLogger returns a logger that writes to the local syslog, facility
// auth, tag [SyslogTag], each hclog level at the matching severity. It fails
// if there is no syslog to write to.
func NewSyslogLogger(level hclog.Level) (hclog.Logger, error) {
	return dialSyslogLogger("", "", level)
}

// dialSyslogLogger is NewSyslogLogger with the syslog at network and raddr
// ("" and "" for the local one).
func dialSyslogLogger(network, raddr string, level hclog.Level) (hclog.Logger, error) {
	w, err := syslog.Dial(network, raddr, syslog.LOG_AUTH|syslog.LOG_INFO, SyslogTag)
	if err != nil {
		return nil, err
	}
	return newLevelLogger(&syslogWriter{w: w}, level), nil
}

func newLevelLogger(w *syslogWriter, level hclog.Level) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Level:       level,
		Output:      w,
		DisableTime: true, // syslog stamps each message
	})
}

// syslogSink is the part of *syslog.Writer that syslogWriter uses.
type syslogSink interface {
	Debug(string) error
	Info(string) error
	Warning(string) error
	Err(string) error
}

// syslogWriter sends each log line hclog writes as one syslog message, at
// the severity of its level (hclog calls LevelWrite when the output has it).
type syslogWriter struct{ w syslogSink }

func (s *syslogWriter) Write(p []byte) (int, error) {
	return s.LevelWrite(hclog.Info, p)
}

func (s *syslogWriter) LevelWrite(level hclog.Level, p []byte) (int, error) {
	msg := strings.TrimSuffix(string(p), "\n")
	var err error
	switch {
	case level <= hclog.Debug:
		err = s.w.Debug(msg)
	case level == hclog.Info:
		err = s.w.Info(msg)
	case level == hclog.Warn:
		err = s.w.Warning(msg)
	default:
		err = s.w.Err(msg)
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}
