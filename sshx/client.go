package sshx

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/crypto/ssh"
)

// ErrConnectionLost is wrapped by the error of every command that was
// running, or is started, on a connection that dropped: the peer closed it,
// the network failed, keepalives went unanswered or IOTimeout expired. The
// error says which. The command's fate on the source host is unknown.
var ErrConnectionLost = errors.New("ssh connection lost")

// ErrAuth is wrapped by Dial's error when the server refused the key.
var ErrAuth = errors.New("ssh authentication failed")

// clientVersion names vault in the source's sshd logs.
const clientVersion = "SSH-2.0-vault"

// Client is one SSH connection to a source host. Its methods may be called
// from several goroutines; each command gets its own session.
type Client struct {
	addr string
	log  hclog.Logger
	conn *ssh.Client

	sessions chan struct{} // a token per open session, at most MaxSessions
	active   atomic.Int64  // open sessions
	freedMu  sync.Mutex
	freed    chan struct{} // closed at the next releaseSession; nil if nobody waits
	moved    atomic.Int64  // payload bytes moved, for the IOTimeout watchdog

	done   chan struct{} // closed by watchConn when the connection is gone
	mu     sync.Mutex
	reason string // why the connection is gone, once it is
}

// Dial connects to the host in c, checks its host key against the pinned
// ones and logs in with the identity file. ctx bounds the dial only; the
// connection lives until Close or until it drops.
func Dial(ctx context.Context, c Config) (*Client, error) {
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("cannot connect with ssh: %w", err)
	}
	addr := c.addr()
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	log := c.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	fail := func(err error) error { return fmt.Errorf("cannot connect to %q: %w", addr, err) }

	signer, err := loadIdentity(c.IdentityFile)
	if err != nil {
		return nil, fail(err)
	}
	hk, err := loadHostKeys(c.KnownHostsFile, addr)
	if err != nil {
		return nil, fail(err)
	}
	triedKey := false
	choice := cipherOrder()
	cfg := &ssh.ClientConfig{
		Config: ssh.Config{Ciphers: choice.Ciphers},
		User:   c.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			triedKey = true
			return []ssh.Signer{signer}, nil
		})},
		HostKeyCallback:   hk.callback,
		HostKeyAlgorithms: hk.algorithms(),
		ClientVersion:     clientVersion,
		BannerCallback:    func(string) error { return nil },
	}

	start := time.Now()
	deadline := start.Add(c.ConnectTimeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(dctx, "tcp", addr)
	if err != nil {
		if ctx.Err() == nil && dctx.Err() != nil {
			return nil, fail(fmt.Errorf("no TCP connection within %s", c.ConnectTimeout))
		}
		return nil, fail(err)
	}
	// The deadline bounds the handshake; cancelling ctx cuts it short.
	_ = nc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	sc, chans, reqs, err := ssh.NewClientConn(newBufConn(nc), addr, cfg)
	if !stop() {
		if err == nil {
			sc.Close()
		}
		return nil, fail(context.Cause(ctx))
	}
	if err != nil {
		log.Debug("ssh handshake failed", "addr", addr, "duration", time.Since(start), "error", err)
		return nil, fail(handshakeError(err, &c, hk, triedKey, time.Now().After(deadline)))
	}
	_ = nc.SetDeadline(time.Time{})

	cl := &Client{
		addr:     addr,
		log:      log,
		conn:     ssh.NewClient(sc, chans, reqs),
		sessions: make(chan struct{}, MaxSessions),
		done:     make(chan struct{}),
	}
	log.Debug("ssh connected", "addr", addr, "user", c.User, "duration", time.Since(start),
		"server", string(sc.ServerVersion()), "ciphers", choice.Ciphers,
		"aes-gcm_MBps", int(choice.AESGCM), "chacha20_MBps", int(choice.ChaCha20))
	go cl.watchConn()
	if c.Keepalive > 0 {
		go cl.keepalive(c.Keepalive)
	}
	if c.IOTimeout > 0 {
		go cl.watchdog(c.IOTimeout)
	}
	return cl, nil
}

// handshakeError explains a failed handshake. timedOut says the connect
// timeout passed.
func handshakeError(err error, c *Config, hk *hostKeys, triedKey, timedOut bool) error {
	var he *HostKeyError
	if errors.As(err, &he) {
		return he
	}
	var ne *ssh.AlgorithmNegotiationError
	if errors.As(err, &ne) && ne.What == "host key" && len(hk.pinned) > 0 {
		return hk.noCommonKeyType()
	}
	if timedOut {
		return fmt.Errorf("no SSH handshake within %s (is it an SSH server?): %w", c.ConnectTimeout, err)
	}
	// x/crypto has no type for this; its message has been stable for years.
	if triedKey && strings.Contains(err.Error(), "unable to authenticate") {
		return fmt.Errorf("%w: the server refused user %q with the key in identity file %q; "+
			"check that key's line in the source's authorized_keys (%v)", ErrAuth, c.User, c.IdentityFile, err)
	}
	return err
}

// Close closes the connection; commands still running on it fail with
// ErrConnectionLost.
func (c *Client) Close() error {
	err := c.shut("the client closed it")
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	return err
}

// shut closes the connection, recording why if it is the first reason.
func (c *Client) shut(reason string) error {
	c.mu.Lock()
	if c.reason == "" {
		c.reason = reason
	}
	c.mu.Unlock()
	return c.conn.Close()
}

// watchConn waits for the connection to end and records why.
func (c *Client) watchConn() {
	err := c.conn.Wait()
	c.mu.Lock()
	if c.reason == "" {
		c.reason = "the connection ended"
		if err != nil && !errors.Is(err, net.ErrClosed) {
			c.reason += ": " + err.Error()
		}
	}
	reason := c.reason
	c.mu.Unlock()
	close(c.done)
	c.log.Debug("ssh connection closed", "addr", c.addr, "reason", reason)
}

// lost returns the error for a command that lost its connection.
func (c *Client) lost() error {
	<-c.done // conn.Wait has returned, so the reason is known
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Errorf("%w to %q: %s", ErrConnectionLost, c.addr, c.reason)
}

// isDown reports whether the connection is gone, waiting briefly for the
// reader to notice when a session failed in a way that suggests it is.
func (c *Client) isDown(wait time.Duration) bool {
	select {
	case <-c.done:
		return true
	case <-time.After(wait):
		return false
	}
}

// keepalive sends a keepalive@openssh.com request every interval and closes
// the connection when KeepaliveMaxMissed intervals pass without a reply.
func (c *Client) keepalive(interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-t.C:
		}
		replied := make(chan struct{})
		go func() {
			// Any reply, success or failure, proves the peer alive. An
			// error means the connection is gone, which watchConn sees.
			_, _, _ = c.conn.SendRequest("keepalive@openssh.com", true, nil)
			close(replied)
		}()
	wait:
		for missed := 0; ; {
			select {
			case <-c.done:
				return
			case <-replied:
				break wait
			case <-t.C:
				if missed++; missed >= KeepaliveMaxMissed {
					d := time.Duration(KeepaliveMaxMissed) * interval
					c.log.Debug("ssh keepalives unanswered, closing", "addr", c.addr, "for", d)
					_ = c.shut(fmt.Sprintf("no reply to keepalives for %s: the host or the network is down", d))
					return
				}
			}
		}
	}
}

// watchdog closes the connection when sessions are open and no payload byte
// has moved for timeout.
func (c *Client) watchdog(timeout time.Duration) {
	tick := max(timeout/10, 10*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	last, progress := c.moved.Load(), time.Now()
	for {
		select {
		case <-c.done:
			return
		case now := <-t.C:
			moved := c.moved.Load()
			if moved != last || c.active.Load() == 0 {
				last, progress = moved, now
				continue
			}
			if idle := now.Sub(progress); idle >= timeout {
				c.log.Debug("ssh connection stalled, closing", "addr", c.addr, "idle", idle)
				_ = c.shut(fmt.Sprintf("no data moved for %s while a command ran (I/O timeout %s)",
					idle.Truncate(time.Millisecond), timeout))
				return
			}
		}
	}
}

// readBufSize is the read buffer between the socket and x/crypto's own
// 4 KiB one: a bulk stream then costs one read(2) per many packets instead
// of two or three per packet.
const readBufSize = 256 << 10

// bufConn is a net.Conn with a large read buffer. Only x/crypto's reader
// goroutine reads it.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func newBufConn(c net.Conn) *bufConn {
	return &bufConn{Conn: c, r: bufio.NewReaderSize(c, readBufSize)}
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }
