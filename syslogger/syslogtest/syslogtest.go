//go:build !windows && !plan9

// Package syslogtest is a syslog of a test's own: a unix datagram socket that tests point
// syslogger.Dial at, and read what arrived from, facility, severity and tag included.
package syslogtest

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

// Listen opens a syslog socket in a temporary directory of t and returns its address (for
// syslogger.Dial("unixgram", addr, ...)) and a function that returns the next message, failing
// t if none arrives within five seconds. A message reads "<PRI>TIMESTAMP TAG[PID]: MSG", where
// PRI is the facility times 8 plus the severity.
func Listen(t testing.TB) (addr string, next func() string) {
	t.Helper()
	addr = filepath.Join(t.TempDir(), "log")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		t.Fatalf("cannot listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	buf := make([]byte, 64<<10)
	return addr, func() string {
		t.Helper()
		if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no syslog message: %v", err)
		}
		return string(buf[:n])
	}
}
