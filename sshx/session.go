package sshx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/belltech/vault/shellword"
	"github.com/belltech/vault/zfs"
)

var (
	_ zfs.Executor = (*Client)(nil)
	_ zfs.Starter  = (*Client)(nil)
)

const (
	stderrLimit = 64 << 10
	// copyBufSize is the buffer between a session's stdout and the caller's
	// writer: one read drains everything queued in the channel (its window
	// is 2 MiB), so bulk streams cost few wakeups and large writes.
	copyBufSize = 1 << 20
	// stdinGrace is how long Wait waits, after the command exited, for the
	// goroutine that copies Cmd.Stdin, which may be blocked reading it.
	stdinGrace = 5 * time.Second
	// killGrace is how long Wait waits, after a kill, for the host to end
	// the session.
	killGrace = 2 * time.Second
)

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// Run runs cmd on the host in one session and waits for it. Cmd.Stdin nil
// means empty input, Cmd.Stdout nil means the output is discarded.
//
// A command that ran and failed is an *zfs.ExitError with its exit status
// and standard error (head and tail kept, 64 KiB). A dropped connection is
// an error wrapping ErrConnectionLost. If ctx is done the command is killed
// and the error wraps ctx's error (and an *zfs.ExitError if the host
// reported the kill).
func (c *Client) Run(ctx context.Context, cmd zfs.Cmd) error {
	if cmd.Stdout == nil {
		cmd.Stdout = io.Discard
	}
	p, err := c.start(ctx, cmd)
	if err != nil {
		return err
	}
	return p.Wait()
}

// Start starts cmd on the host in a session of its own and returns at once,
// like [zfs.Local.Start]: a nil Cmd.Stdout becomes a pipe, read from
// [zfs.Process.Stdout] (to EOF, then Wait; on an error of your own, Abort).
// Cmd.Stdin nil means empty input; a Cmd.Stdin that fails kills the command
// rather than end its input early. ctx bounds the command's whole life.
// A dropped connection ends Stdout with an error wrapping ErrConnectionLost,
// never with EOF.
func (c *Client) Start(ctx context.Context, cmd zfs.Cmd) (zfs.Process, error) {
	return c.start(ctx, cmd)
}

func (c *Client) start(ctx context.Context, cmd zfs.Cmd) (*process, error) {
	line, err := commandLine(cmd.Argv)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("cannot run %s on %q: %w", cmd, c.addr, context.Cause(ctx))
	}
	sess, err := c.openSession(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot run %s on %q: %w", cmd, c.addr, err)
	}
	p := &process{
		c:      c,
		ctx:    ctx,
		argv:   slices.Clone(cmd.Argv),
		sess:   sess,
		stderr: zfs.NewBoundedBuffer(stderrLimit),
		result: make(chan outcome, 1),
		exited: make(chan struct{}),
		killed: make(chan struct{}),
	}
	sess.Stderr = &countingWriter{w: p.stderr, n: &c.moved}
	out, err := sess.StdoutPipe()
	if err == nil {
		p.in, err = sess.StdinPipe()
	}
	if err == nil {
		p.start = time.Now()
		err = sess.Start(line)
	}
	if err != nil {
		p.release()
		if c.isDown(100 * time.Millisecond) {
			err = c.lost()
		}
		c.log.Debug("command did not start", "addr", c.addr, "argv", p.argv, "error", err)
		return nil, fmt.Errorf("cannot run %s on %q: %w", cmd, c.addr, err)
	}

	if cmd.Stdout != nil {
		p.outDone = make(chan error, 1)
		go func() { p.outDone <- p.copyOut(cmd.Stdout, out) }()
	} else {
		p.stdout = &stdoutReader{r: out, n: &c.moved, p: p}
	}
	if cmd.Stdin != nil {
		p.inDone = make(chan error, 1)
		go func() { p.inDone <- p.copyIn(cmd.Stdin) }()
	} else {
		_ = p.in.Close() // empty input
	}
	p.stopCtx = context.AfterFunc(ctx, p.kill)
	go p.reap()
	return p, nil
}

// commandLine checks argv as zfs.Local does and quotes it for the remote
// shell.
func commandLine(argv []string) (string, error) {
	cmd := zfs.Cmd{Argv: argv}
	if len(argv) == 0 {
		return "", errors.New("cannot run a command: empty argv")
	}
	if !path.IsAbs(argv[0]) {
		return "", fmt.Errorf("cannot run %q: the binary path is not absolute", argv[0])
	}
	line, err := shellword.Join(argv)
	if err != nil {
		return "", fmt.Errorf("cannot run %s: %w", cmd, err)
	}
	return line, nil
}

// openSession waits for a free session slot and opens a session, giving up
// when ctx is done or the connection is gone.
//
// sshd frees a session only when our close of its channel reaches it, a
// moment after we count it free, and its MaxSessions may be lower than
// ours: so a refusal while other sessions are open waits for one of them to
// end (or 100ms) and tries again.
func (c *Client) openSession(ctx context.Context) (*ssh.Session, error) {
	select {
	case c.sessions <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-c.done:
		return nil, c.lost()
	}
	c.active.Add(1)
	for {
		freed := c.freedChan()
		s, err := c.newSession(ctx)
		if err == nil {
			return s, nil
		}
		var oe *ssh.OpenChannelError
		refused := errors.As(err, &oe) && (oe.Reason == ssh.ConnectionFailed || oe.Reason == ssh.Prohibited)
		if !refused || c.active.Load() <= 1 {
			c.releaseSession()
			if refused {
				return nil, fmt.Errorf("the server refused a session (%w) with no other session open", err)
			}
			return nil, err
		}
		c.log.Debug("ssh session refused while others are open, waiting", "addr", c.addr, "error", err)
		select {
		case <-freed:
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			c.releaseSession()
			return nil, context.Cause(ctx)
		case <-c.done:
			c.releaseSession()
			return nil, c.lost()
		}
	}
}

// newSession opens a session channel, giving up when ctx is done.
func (c *Client) newSession(ctx context.Context) (*ssh.Session, error) {
	type result struct {
		s   *ssh.Session
		err error
	}
	opened := make(chan result, 1)
	go func() {
		s, err := c.conn.NewSession()
		opened <- result{s, err}
	}()
	select {
	case r := <-opened:
		if r.err != nil && c.isDown(100*time.Millisecond) {
			return nil, c.lost()
		}
		return r.s, r.err
	case <-ctx.Done():
		go func() {
			if r := <-opened; r.s != nil {
				r.s.Close()
			}
		}()
		return nil, context.Cause(ctx)
	}
}

// releaseSession frees a session slot and wakes those waiting for one.
func (c *Client) releaseSession() {
	c.active.Add(-1)
	<-c.sessions
	c.freedMu.Lock()
	if c.freed != nil {
		close(c.freed)
		c.freed = nil
	}
	c.freedMu.Unlock()
}

// freedChan returns a channel closed at the next releaseSession.
func (c *Client) freedChan() <-chan struct{} {
	c.freedMu.Lock()
	defer c.freedMu.Unlock()
	if c.freed == nil {
		c.freed = make(chan struct{})
	}
	return c.freed
}

// process is a command started on the host; it implements zfs.Process.
type process struct {
	c      *Client
	ctx    context.Context
	argv   []string
	sess   *ssh.Session
	in     io.WriteCloser // the session's stdin
	stderr *zfs.BoundedBuffer
	start  time.Time

	stdout *stdoutReader // for the caller, when Cmd.Stdout was nil

	outDone chan error    // the Cmd.Stdout copier's result
	inDone  chan error    // the Cmd.Stdin copier's result
	result  chan outcome  // the reaper's, once everything ended
	exited  chan struct{} // closed when the session ended, sessErr then set
	sessErr error
	stopCtx func() bool

	killed   chan struct{} // closed by kill
	killOnce sync.Once
	cause    error       // why we killed it, if not ctx or Abort
	detached atomic.Bool // Wait gave up on the host: copyOut must not write any more

	releaseOnce sync.Once
	waitOnce    sync.Once
	err         error
}

// outcome is how a command ended: the session's Wait, and the copiers'.
type outcome struct{ wait, out, in error }

func (p *process) Stdout() io.Reader {
	if p.stdout == nil {
		return nil
	}
	return p.stdout
}

// kill asks the host to kill the command and closes the session. OpenSSH's
// sshd honours the signal for a non-root login without a pty (it needs
// privilege separation, which it skips for root); otherwise the command
// gets EPIPE at its next write, or runs to its end, and only then does the
// host close the session.
func (p *process) kill() { p.killFor(nil) }

// killFor kills the command because of cause, an error of ours.
func (p *process) killFor(cause error) {
	p.killOnce.Do(func() {
		p.cause = cause
		close(p.killed)
		_ = p.sess.Signal(ssh.SIGKILL)
		_ = p.sess.Close()
	})
}

func (p *process) isKilled() bool {
	select {
	case <-p.killed:
		return true
	default:
		return false
	}
}

func (p *process) release() {
	p.releaseOnce.Do(func() {
		_ = p.sess.Close()
		p.c.releaseSession()
	})
}

// reap waits for the command and its copiers to end, frees the session and
// reports how it went. It runs from Start on, so a session is freed even
// when Wait gave up on the host.
func (p *process) reap() {
	var r outcome
	if p.outDone != nil {
		r.out = <-p.outDone
	}
	r.wait = p.sess.Wait()
	p.sessErr = r.wait
	close(p.exited)
	if p.inDone != nil {
		select {
		case r.in = <-p.inDone:
		case <-time.After(stdinGrace):
			r.in = errors.New("its input was still being read after it exited")
		}
	}
	p.release()
	p.result <- r
}

func (p *process) Abort() error {
	p.kill()
	return p.Wait()
}

func (p *process) Wait() error {
	p.waitOnce.Do(func() {
		var r outcome
		select {
		case r = <-p.result:
		case <-p.killed:
			select {
			case r = <-p.result:
			case <-time.After(killGrace):
				// The host has not closed the session: do not wait for
				// it, and stop the output at once. The session is freed
				// when the host closes it.
				p.detached.Store(true)
				p.stopCtx()
				p.err = p.abandoned()
				return
			}
		}
		p.stopCtx()
		p.err = p.finish(r)
	})
	return p.err
}

// abandoned is Wait's error when the host did not confirm a kill.
func (p *process) abandoned() error {
	err := fmt.Errorf("aborted; the host did not end the session within %s, "+
		"the command may still run there until its next write", killGrace)
	switch {
	case p.ctx.Err() != nil:
		err = context.Cause(p.ctx)
	case p.cause != nil:
		err = p.cause
	}
	p.c.log.Debug("command", "addr", p.c.addr, "argv", p.argv, "duration", time.Since(p.start),
		"error", err, "killed", "unconfirmed")
	return fmt.Errorf("cannot run %s on %q: %w", zfs.Cmd{Argv: p.argv}, p.c.addr, err)
}

// finish turns the outcomes of the session and of the copiers into Wait's
// error, and logs the command's one line.
func (p *process) finish(r outcome) error {
	waitErr, outErr, inErr := r.wait, r.out, r.in
	d := time.Since(p.start)
	log := p.c.log
	cmd := zfs.Cmd{Argv: p.argv}
	fail := func(err error) error {
		log.Debug("command", "addr", p.c.addr, "argv", p.argv, "duration", d, "error", err)
		return fmt.Errorf("cannot run %s on %q: %w", cmd, p.c.addr, err)
	}
	var ee *ssh.ExitError
	switch {
	case errors.As(waitErr, &ee):
		xe := &zfs.ExitError{Argv: p.argv, Code: ee.ExitStatus(), Stderr: p.stderr.String()}
		if sig := ee.Signal(); sig != "" {
			xe.Code, xe.Signal = -1, "SIG"+sig
			log.Debug("command", "addr", p.c.addr, "argv", p.argv, "duration", d, "signal", xe.Signal,
				"stderr", summary(xe.Stderr))
		} else {
			log.Debug("command", "addr", p.c.addr, "argv", p.argv, "duration", d, "exit", xe.Code,
				"stderr", summary(xe.Stderr))
		}
		if p.ctx.Err() != nil {
			return fmt.Errorf("%w: %w", xe, context.Cause(p.ctx))
		}
		if outErr != nil {
			return fmt.Errorf("%w: %w", xe, outErr)
		}
		if inErr != nil {
			return fmt.Errorf("%w: %w", xe, inErr)
		}
		return xe
	case p.ctx.Err() != nil && p.isKilled():
		return fail(context.Cause(p.ctx))
	case outErr != nil:
		return fail(outErr)
	case inErr != nil:
		return fail(inErr)
	case waitErr != nil:
		if p.c.isDown(time.Second) {
			return fail(p.c.lost())
		}
		var me *ssh.ExitMissingError
		if !errors.As(waitErr, &me) {
			return fail(waitErr)
		}
		if p.isKilled() {
			return fail(errors.New("aborted: the session was closed before it exited"))
		}
		return fail(errors.New("the session closed without an exit status"))
	}
	log.Debug("command", "addr", p.c.addr, "argv", p.argv, "duration", d, "exit", 0)
	return nil
}

// copyOut copies the session's stdout to the caller's writer. If that
// writer fails, the command is killed: nobody would read the rest.
func (p *process) copyOut(w io.Writer, r io.Reader) error {
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	buf := *bufp
	for {
		n, err := r.Read(buf)
		if n > 0 {
			p.c.moved.Add(int64(n))
			if p.detached.Load() {
				return nil // Wait has returned: the caller's writer is no longer ours
			}
			if _, werr := w.Write(buf[:n]); werr != nil {
				werr = fmt.Errorf("cannot write its output: %w", werr)
				p.killFor(werr)
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// copyIn copies the caller's reader to the session's stdin and closes it
// (end of input). If the reader fails, the command is killed instead: the
// command must not take a truncated input for a complete one. Write errors
// mean the command stopped reading (it exited or closed its stdin), which
// its exit status reports, as for os/exec.
func (p *process) copyIn(r io.Reader) error {
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	buf := *bufp
	for {
		n, err := r.Read(buf)
		if n > 0 {
			p.c.moved.Add(int64(n))
			if _, werr := p.in.Write(buf[:n]); werr != nil {
				return nil
			}
		}
		if err == io.EOF {
			_ = p.in.Close()
			return nil
		}
		if err != nil {
			err = fmt.Errorf("cannot read its input: %w", err)
			p.killFor(err)
			return err
		}
	}
}

// stdoutReader is Process.Stdout: it counts bytes for the watchdog, copies
// with a large buffer when used through io.Copy, and turns the end of a
// stream cut by a dropped connection into an error, not EOF.
type stdoutReader struct {
	r io.Reader
	n *atomic.Int64
	p *process
}

func (s *stdoutReader) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	s.n.Add(int64(n))
	if err == io.EOF {
		// A dropped connection ends the channel as the command's EOF
		// does; the session's end tells them apart. The host sends the
		// exit status right after the EOF.
		<-s.p.exited
		var me *ssh.ExitMissingError
		if errors.As(s.p.sessErr, &me) && s.p.c.isDown(time.Second) {
			return n, s.p.c.lost()
		}
	} else if err != nil && s.p.c.isDown(time.Second) {
		// Any other read error on a connection that is gone is the connection's loss (the
		// transport may report it as a closed socket first).
		return n, s.p.c.lost()
	}
	return n, err
}

func (s *stdoutReader) WriteTo(w io.Writer) (int64, error) {
	bufp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bufp)
	buf := *bufp
	var total int64
	for {
		n, err := s.Read(buf)
		if n > 0 {
			m, werr := w.Write(buf[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// countingWriter counts the bytes written through it for the watchdog.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countingWriter) Write(b []byte) (int, error) {
	c.n.Add(int64(len(b)))
	return c.w.Write(b)
}

// summary is the first line of stderr, for the log.
func summary(stderr string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(stderr), "\n")
	if len(line) > 200 {
		line = line[:200] + "..."
	}
	return line
}
