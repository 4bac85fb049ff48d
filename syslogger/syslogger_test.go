//go:build !windows && !plan9

package syslogger

import (
	"fmt"
	"log/syslog"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/syslogger/syslogtest"
)

type fakeSyslog struct{ msgs []string }

func (f *fakeSyslog) add(sev, m string) error { f.msgs = append(f.msgs, sev+" "+m); return nil }
func (f *fakeSyslog) Debug(m string) error    { return f.add("debug", m) }
func (f *fakeSyslog) Info(m string) error     { return f.add("info", m) }
func (f *fakeSyslog) Warning(m string) error  { return f.add("warning", m) }
func (f *fakeSyslog) Err(m string) error      { return f.add("err", m) }

func TestLevels(t *testing.T) {
	sink := &fakeSyslog{}
	// The caller's JSON format and time stamps do not reach syslog: one plain line each.
	log := newLevelLogger(&syslogWriter{w: sink}, &hclog.LoggerOptions{Name: "vault", Level: hclog.Trace, JSONFormat: true})
	log.Trace("t")
	log.Debug("d")
	log.Info("accepted", "argv", []string{"/sbin/zfs", "list"})
	log.Named("daemon").Warn("refused", "reason", "no")
	log.Error("e")
	require.Equal(t, []string{
		"debug [TRACE] vault: t",
		"debug [DEBUG] vault: d",
		"info [INFO]  vault: accepted: argv=[\"/sbin/zfs\", \"list\"]",
		"warning [WARN]  vault.daemon: refused: reason=no",
		"err [ERROR] vault: e",
	}, sink.msgs)
}

func TestWriterError(t *testing.T) {
	w := &syslogWriter{w: failingSyslog{}}
	n, err := w.Write([]byte("x\n"))
	require.Error(t, err)
	require.Zero(t, n)
}

type failingSyslog struct{}

func (failingSyslog) Debug(string) error   { return fmt.Errorf("no syslog") }
func (failingSyslog) Info(string) error    { return fmt.Errorf("no syslog") }
func (failingSyslog) Warning(string) error { return fmt.Errorf("no syslog") }
func (failingSyslog) Err(string) error     { return fmt.Errorf("no syslog") }

// TestDelivery sends to a syslog socket of the test's own and checks the facility, severity
// and tag of what arrives, and that a level below the logger's is not sent.
func TestDelivery(t *testing.T) {
	addr, next := syslogtest.Listen(t)
	log, err := Dial("unixgram", addr, syslog.LOG_LOCAL3, "vault-test", &hclog.LoggerOptions{Level: hclog.Info})
	require.NoError(t, err)

	log.Warn("refused", "reason", "no")
	log.Debug("not sent")
	log.Error("failed")
	// PRI = facility*8 + severity; local3 is 19: warning 19*8+4, err 19*8+3.
	require.Regexp(t, regexp.MustCompile(`^<156>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d vault-test\[\d+\]: \[WARN\]  refused: reason=no\n?$`), next())
	require.Regexp(t, regexp.MustCompile(`^<155>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d vault-test\[\d+\]: \[ERROR\] failed\n?$`), next())
}

func TestDialFails(t *testing.T) {
	_, err := Dial("unixgram", "/nonexistent/log", syslog.LOG_DAEMON, "vault", &hclog.LoggerOptions{})
	require.Error(t, err)
}

func TestJournal(t *testing.T) {
	var b strings.Builder
	log := hclog.New(&hclog.LoggerOptions{Name: "vault", Level: hclog.Debug, Output: Journal(&b), JSONFormat: true, DisableTime: true})
	log.Debug("d")
	log.Info("i", "job", "host05")
	log.Warn("w")
	log.Error("e")
	require.Equal(t, `<7>{"@level":"debug","@message":"d","@module":"vault"}
<6>{"@level":"info","@message":"i","@module":"vault","job":"host05"}
<4>{"@level":"warn","@message":"w","@module":"vault"}
<3>{"@level":"error","@message":"e","@module":"vault"}
`, b.String())
}
