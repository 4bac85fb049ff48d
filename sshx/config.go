package sshx

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"
)

// Config says how to reach one source host.
type Config struct {
	// User, Host and Port come from the job's source, "backup@host05:22".
	User string
	Host string
	Port int // 0 means 22

	// IdentityFile is the private key: OpenSSH, PEM or PKCS#8 format,
	// ed25519, ecdsa or rsa, unencrypted, and accessible by its owner only.
	IdentityFile string
	// KnownHostsFile holds the pinned host keys, in OpenSSH's known_hosts
	// format. Required; it must not be writable by group or others.
	KnownHostsFile string

	// ConnectTimeout bounds TCP connect plus the SSH handshake and
	// authentication. 0 means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// IOTimeout closes the connection when, while a command runs, no byte
	// of any command's input or output has moved for this long (see the
	// package documentation). 0 disables it.
	IOTimeout time.Duration
	// Keepalive is the interval of keepalive@openssh.com requests; after
	// KeepaliveMaxMissed of them go unanswered the connection is closed.
	// 0 disables them.
	Keepalive time.Duration

	// Log gets one debug line per connection and per command. Callers pass
	// Log.Named("ssh"). Nil means no logging.
	Log hclog.Logger
}

const (
	// DefaultConnectTimeout is the connect and handshake timeout when
	// Config.ConnectTimeout is 0.
	DefaultConnectTimeout = 30 * time.Second
	// KeepaliveMaxMissed is how many keepalive intervals in a row may pass
	// without a reply before the connection is declared dead (OpenSSH's
	// ServerAliveCountMax default).
	KeepaliveMaxMissed = 3
	// MaxSessions is how many commands run at once on one connection; more
	// wait for a free session. It is OpenSSH's default MaxSessions.
	MaxSessions = 10

	maxKeyFileSize = 64 << 10
)

// addr returns host:port for dialing, known_hosts and messages.
func (c *Config) addr() string {
	port := c.Port
	if port == 0 {
		port = 22
	}
	return net.JoinHostPort(c.Host, strconv.Itoa(port))
}

// check validates c before any I/O.
func (c *Config) check() error {
	switch {
	case c.User == "":
		return errors.New("no user")
	case c.Host == "":
		return errors.New("no host")
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("port %d out of range", c.Port)
	case c.IdentityFile == "":
		return errors.New("no identity file")
	case c.KnownHostsFile == "":
		return errors.New("no known_hosts file: host keys must be pinned")
	case c.ConnectTimeout < 0:
		return fmt.Errorf("negative connect timeout %s", c.ConnectTimeout)
	case c.IOTimeout < 0:
		return fmt.Errorf("negative I/O timeout %s", c.IOTimeout)
	case c.Keepalive < 0:
		return fmt.Errorf("negative keepalive interval %s", c.Keepalive)
	}
	return nil
}

// loadIdentity reads and parses the private key in file, refusing one that
// group or others may access and one encrypted with a passphrase.
func loadIdentity(file string) (ssh.Signer, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read identity file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot read identity file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("identity file %q is not a regular file", file)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("identity file %q is accessible by group or others (mode %04o); "+
			"a private key must be private: run chmod 600 %q", file, perm, file)
	}
	pem, err := io.ReadAll(io.LimitReader(f, maxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read identity file: %w", err)
	}
	if len(pem) > maxKeyFileSize {
		return nil, fmt.Errorf("identity file %q is larger than %d bytes: not a private key", file, maxKeyFileSize)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		var pe *ssh.PassphraseMissingError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("identity file %q is encrypted with a passphrase; vault runs unattended "+
				"and needs an unencrypted key: remove the passphrase with ssh-keygen -p -N '' -f %q, "+
				"or generate a dedicated key", file, file)
		}
		return nil, fmt.Errorf("cannot parse identity file %q: %w", file, err)
	}
	return signer, nil
}
