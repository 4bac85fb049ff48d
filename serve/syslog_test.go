//go:build !windows && !plan9

package serve

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
)

type fakeSyslog struct{ msgs []string }

func (f *fakeSyslog) add(sev, m string) error { f.msgs = append(f.msgs, sev+" "+m); return nil }
func (f *fakeSyslog) Debug(m string) error    { return f.add("debug", m) }
func (f *fakeSyslog) Info(m string) error     { return f.add("info", m) }
func (f *fakeSyslog) Warning(m string) error  { return f.add("warning", m) }
func (f *fakeSyslog) Err(m string) error      { return f.add("err", m) }

func TestSyslogLevels(t *testing.T) {
	sink := &fakeSyslog{}
	log := newLevelLogger(&syslogWriter{w: sink}, hclog.Debug)
	log.Debug("d")
	log.Info("accepted", "argv", []string{"/sbin/zfs", "list"})
	log.Warn("refused", "reason", "no")
	log.Error("e")
	require.Equal(t, []string{
		"debug [DEBUG] d",
		"info [INFO]  accepted: argv=[\"/sbin/zfs\", \"list\"]",
		"warning [WARN]  refused: reason=no",
		"err [ERROR] e",
	}, sink.msgs)
}

func TestSyslogWriterError(t *testing.T) {
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

// TestSyslogDelivery sends to a syslog socket of the test's own and checks
// the facility (auth), severity and tag of what arrives.
func TestSyslogDelivery(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	require.NoError(t, err)
	defer conn.Close()
	log, err := dialSyslogLogger("unixgram", sock, hclog.Info)
	require.NoError(t, err)

	log.Warn("refused", "reason", "no")
	log.Debug("not sent")
	log.Info("accepted")
	var got []string
	buf := make([]byte, 4096)
	for range 2 {
		require.NoError(t, conn.SetReadDeadline(time.Now().Add(5*time.Second)))
		n, err := conn.Read(buf)
		require.NoError(t, err)
		got = append(got, string(buf[:n]))
	}
	// <PRI>TIMESTAMP TAG[PID]: MSG, PRI = facility*8 + severity; auth is 4,
	// warning 4, info 6.
	require.Regexp(t, regexp.MustCompile(`^<36>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d vault-serve\[\d+\]: \[WARN\]  refused: reason=no\n?$`), got[0])
	require.Regexp(t, regexp.MustCompile(`^<38>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d vault-serve\[\d+\]: \[INFO\]  accepted\n?$`), got[1])
}
