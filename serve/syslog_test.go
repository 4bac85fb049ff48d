//go:build !windows && !plan9

package serve

import (
	"regexp"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/syslogger/syslogtest"
)

// TestSyslogDelivery checks what vault serve's syslog messages carry: facility auth, tag
// vault-serve, the level's severity.
func TestSyslogDelivery(t *testing.T) {
	addr, next := syslogtest.Listen(t)
	log, err := dialSyslogLogger("unixgram", addr, hclog.Info)
	require.NoError(t, err)

	log.Warn("refused", "reason", "no")
	log.Debug("not sent")
	log.Info("accepted")
	// <PRI>TIMESTAMP TAG[PID]: MSG, PRI = facility*8 + severity; auth is 4,
	// warning 4, info 6.
	require.Regexp(t, regexp.MustCompile(`^<36>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d vault-serve\[\d+\]: \[WARN\]  refused: reason=no\n?$`), next())
	require.Regexp(t, regexp.MustCompile(`^<38>[A-Z][a-z]{2} [ 0-9]\d \d\d:\d\d:\d\d vault-serve\[\d+\]: \[INFO\]  accepted\n?$`), next())
}
