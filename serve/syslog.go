//go:build !windows && !plan9

package serve

import (
	"log/syslog"

	"github.com/hashicorp/go-hclog"

	"github.com/belltech/vault/syslogger"
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
	return syslogger.Dial(network, raddr, syslog.LOG_AUTH, SyslogTag, &hclog.LoggerOptions{Level: level})
}
