package zfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/go-hclog"
)

// Cmd is one external command: an argv list, never a shell string.
type Cmd struct {
	// Argv is the binary's absolute path followed by its arguments.
	Argv []string
	// Stdin is the command's standard input; nil means empty input.
	Stdin io.Reader
	// Stdout receives the command's standard output. Nil means it is
	// discarded by Run, and readable from [Process.Stdout] after Start.
	Stdout io.Writer
}

// String returns the command for messages: the binary's base name and the
// arguments, quoted where needed, cut short if very long.
func (c Cmd) String() string { return formatArgv(c.Argv) }

// Executor runs commands to completion.
type Executor interface {
	// Run runs c and waits for it. It returns an *ExitError (possibly
	// wrapped, see [Local.Run]) if the command ran and failed, and another
	// error if it could not be run at all.
	Run(ctx context.Context, c Cmd) error
}

// Starter starts commands whose input or output the caller streams, such as
// zfs send and zfs receive.
type Starter interface {
	Start(ctx context.Context, c Cmd) (Process, error)
}

// Process is a started command.
//
// Use it as: read Stdout to EOF (if you asked for it), then Wait. On any
// error of your own, call Abort instead of Wait: it kills the command, closes
// the pipe and waits, so nothing is left running or open.
type Process interface {
	// Stdout is the read end of the command's standard output if Cmd.Stdout
	// was nil, else nil. Read it to EOF before calling Wait: Wait closes it.
	Stdout() io.Reader
	// Wait waits for the command to exit and returns what Run would. It may
	// be called more than once and returns the same result.
	Wait() error
	// Abort kills the command, closes the pipe and waits for it. It returns
	// Wait's error, which reports the kill.
	Abort() error
}

// ExitError reports a command that ran and did not succeed.
type ExitError struct {
	Argv   []string
	Code   int    // exit status, or -1 if the command was killed by a signal
	Signal string // the signal that killed the command, such as "SIGKILL", or ""
	Stderr string // standard error, head and tail kept if it was too long
}

func (e *ExitError) Error() string {
	status := "exit status " + strconv.Itoa(e.Code)
	if e.Signal != "" {
		status = "killed by " + e.Signal
	}
	msg := formatArgv(e.Argv) + ": " + status
	if s := stderrSummary(e.Stderr); s != "" {
		msg += ": " + s
	}
	return msg
}

// Local runs commands on this host. The zero value is ready to use.
type Local struct {
	// Env is the complete environment of every command, with LC_ALL=C forced
	// on top of it. Nil means LC_ALL=C, TZ=UTC and
	// PATH=/usr/sbin:/usr/bin:/sbin:/bin. TZ=UTC makes the times zfs prints
	// for humans (zfs holds without -p, on OpenZFS 2.1) read as UTC.
	Env []string
	// StderrLimit bounds the standard error kept per command, in bytes;
	// beyond it the first and last halves are kept. 0 means 64 KiB.
	StderrLimit int
	// Log gets one debug line per command. Callers pass Log.Named("zfs").
	// Nil means no logging.
	Log hclog.Logger
}

const (
	defaultStderrLimit = 64 << 10
	// waitDelay is how long a command gets between SIGTERM (when its context
	// is done) and SIGKILL, and how long Wait waits for I/O after it exits.
	waitDelay = 10 * time.Second
)

// Run runs c to completion. If the command fails it returns an *ExitError;
// if ctx was done, the *ExitError is wrapped together with ctx's error, so
// both errors.As and errors.Is(err, context.Canceled) work.
func (l *Local) Run(ctx context.Context, c Cmd) error {
	cmd, stderr, err := l.command(ctx, c)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return l.finish(ctx, c.Argv, stderr, start, err, true)
	}
	return l.finish(ctx, c.Argv, stderr, start, cmd.Wait(), false)
}

// Start starts c and returns at once. A nil Cmd.Stdout becomes a pipe, read
// from [Process.Stdout]; this process's copy of the child's end of it is
// closed after the start.
//
// If Cmd.Stdout is the write end of an [os.Pipe] of your own (or Cmd.Stdin
// its read end), the child gets that file itself: close your copy as soon as
// Start returns, or the reader never sees EOF. If Cmd.Stdin is an [io.Pipe]
// reader, close its writer (CloseWithError on failure) before Wait or Abort:
// Wait waits for the copy from it to end.
func (l *Local) Start(ctx context.Context, c Cmd) (Process, error) {
	cmd, stderr, err := l.command(ctx, c)
	if err != nil {
		return nil, err
	}
	p := &localProcess{l: l, ctx: ctx, cmd: cmd, argv: c.Argv, stderr: stderr}
	if c.Stdout == nil {
		if p.stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, fmt.Errorf("cannot run %s: %w", formatArgv(c.Argv), err)
		}
	}
	p.start = time.Now()
	if err := cmd.Start(); err != nil {
		// exec.Cmd.Start closes the pipe when it fails.
		return nil, l.finish(ctx, c.Argv, stderr, p.start, err, true)
	}
	return p, nil
}

// command builds the exec.Cmd for c, checking its argv.
func (l *Local) command(ctx context.Context, c Cmd) (*exec.Cmd, *BoundedBuffer, error) {
	if len(c.Argv) == 0 {
		return nil, nil, errors.New("cannot run a command: empty argv")
	}
	if !filepath.IsAbs(c.Argv[0]) {
		return nil, nil, fmt.Errorf("cannot run %q: the binary path is not absolute", c.Argv[0])
	}
	for _, a := range c.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, nil, fmt.Errorf("cannot run %s: an argument contains a NUL byte", formatArgv(c.Argv))
		}
	}
	limit := l.StderrLimit
	if limit <= 0 {
		limit = defaultStderrLimit
	}
	stderr := NewBoundedBuffer(limit)
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Env = l.environ()
	cmd.Dir = "/"
	cmd.Stdin = c.Stdin
	cmd.Stdout = c.Stdout
	cmd.Stderr = stderr
	// The command runs in a process group of its own, and is signalled as a group: a zfs_binary
	// that is a wrapper (a script that pipes into zfs) is ended with what it started, and Wait
	// does not wait for a grandchild that holds stderr open.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return signalGroup(cmd.Process, syscall.SIGTERM) }
	cmd.WaitDelay = waitDelay
	return cmd, stderr, nil
}

func (l *Local) environ() []string {
	if l.Env == nil {
		return []string{"LC_ALL=C", "TZ=UTC", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	}
	env := make([]string, 0, len(l.Env)+1)
	for _, kv := range l.Env {
		if !strings.HasPrefix(kv, "LC_ALL=") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}

// finish logs the command's one line and turns err into the error Run
// returns. notStarted says err came from Start.
func (l *Local) finish(ctx context.Context, argv []string, stderr *BoundedBuffer, start time.Time, err error, notStarted bool) error {
	d := time.Since(start)
	log := l.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	if notStarted {
		log.Debug("command did not start", "argv", argv, "error", err)
		return fmt.Errorf("cannot run %s: %w", formatArgv(argv), err)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		if err != nil {
			log.Debug("command", "argv", argv, "duration", d, "exit", 0, "error", err)
			return fmt.Errorf("cannot run %s: %w", formatArgv(argv), err)
		}
		log.Debug("command", "argv", argv, "duration", d, "exit", 0)
		return nil
	}
	xe := &ExitError{Argv: slices.Clone(argv), Code: ee.ExitCode(), Stderr: stderr.String()}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		xe.Code = -1
		xe.Signal = signalName(ws.Signal())
	}
	if xe.Signal != "" {
		log.Debug("command", "argv", argv, "duration", d, "signal", xe.Signal, "stderr", stderrSummary(xe.Stderr))
	} else {
		log.Debug("command", "argv", argv, "duration", d, "exit", xe.Code, "stderr", stderrSummary(xe.Stderr))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", xe, context.Cause(ctx))
	}
	return xe
}

type localProcess struct {
	l      *Local
	ctx    context.Context
	cmd    *exec.Cmd
	argv   []string
	stderr *BoundedBuffer
	stdout io.ReadCloser
	start  time.Time

	once sync.Once
	err  error
}

func (p *localProcess) Stdout() io.Reader {
	if p.stdout == nil {
		return nil
	}
	return p.stdout
}

func (p *localProcess) Wait() error {
	p.once.Do(func() {
		p.err = p.l.finish(p.ctx, p.argv, p.stderr, p.start, p.cmd.Wait(), false)
	})
	return p.err
}

// signalGroup sends sig to the process group p leads (Start made one), or to p alone if there
// is none.
func signalGroup(p *os.Process, sig syscall.Signal) error {
	if err := syscall.Kill(-p.Pid, sig); err == nil {
		return nil
	}
	return p.Signal(sig)
}

func (p *localProcess) Abort() error {
	_ = signalGroup(p.cmd.Process, syscall.SIGKILL) // fails only if it already exited
	if p.stdout != nil {
		p.stdout.Close()
	}
	return p.Wait()
}

// BoundedBuffer keeps the first and last limit/2 bytes written to it: the stderr of a command,
// kept bounded whatever the command prints. It is safe for concurrent use; sshx uses it for
// remote commands too.
type BoundedBuffer struct {
	mu    sync.Mutex
	limit int
	head  []byte
	tail  []byte // the last bytes written after head filled; compacted lazily
	total int64
}

// NewBoundedBuffer keeps at most limit bytes (64 KiB if limit <= 0).
func NewBoundedBuffer(limit int) *BoundedBuffer {
	if limit <= 0 {
		limit = defaultStderrLimit
	}
	return &BoundedBuffer{limit: limit}
}

func (b *BoundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(p)
	b.total += int64(n)
	half := b.limit / 2
	if room := half - len(b.head); room > 0 {
		k := min(room, len(p))
		b.head = append(b.head, p[:k]...)
		p = p[k:]
	}
	keep := b.limit - half
	switch {
	case len(p) == 0:
	case len(p) >= keep:
		b.tail = append(b.tail[:0], p[len(p)-keep:]...)
	default:
		if len(b.tail)+len(p) > 2*keep {
			// Compact only when tail is twice what we keep, so that
			// copying costs O(1) per byte written.
			b.tail = append(b.tail[:0], b.tail[len(b.tail)-(keep-len(p)):]...)
		}
		b.tail = append(b.tail, p...)
	}
	return n, nil
}

func (b *BoundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	keep := b.limit - b.limit/2
	tail := b.tail
	if len(tail) > keep {
		tail = tail[len(tail)-keep:]
	}
	omitted := b.total - int64(len(b.head)) - int64(len(tail))
	if omitted <= 0 {
		return string(b.head) + string(tail)
	}
	return fmt.Sprintf("%s\n[... %d bytes of stderr omitted ...]\n%s", b.head, omitted, tail)
}

// stderrSummary returns the first few non-empty lines of stderr, trimmed and
// joined, for error messages.
func stderrSummary(stderr string) string {
	const maxLines, maxLen = 4, 500
	var lines []string
	for line := range strings.Lines(stderr) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
			if len(lines) == maxLines {
				break
			}
		}
	}
	s := strings.Join(lines, "; ")
	if len(s) > maxLen {
		s = s[:maxLen] + "..."
	}
	return s
}

// formatArgv renders argv for messages: the binary's base name, then each
// argument, quoted unless it is plainly safe, cut short past 300 bytes.
func formatArgv(argv []string) string {
	if len(argv) == 0 {
		return "(empty command)"
	}
	const maxLen = 300
	var sb strings.Builder
	for i, a := range argv {
		if i == 0 {
			a = filepath.Base(a)
		} else {
			sb.WriteByte(' ')
		}
		if a == "" || strings.IndexFunc(a, unsafeArgRune) >= 0 {
			a = strconv.Quote(a)
		}
		sb.WriteString(a)
		if sb.Len() > maxLen {
			s := sb.String()
			cut := maxLen
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			return s[:cut] + "..."
		}
	}
	return sb.String()
}

func unsafeArgRune(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
		strings.ContainsRune("-_.:,/@#%+=", r))
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGBUS:
		return "SIGBUS"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return "signal " + strconv.Itoa(int(s))
}
