package zfs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"
)

// TestHelperProcess is not a test: it is the child the runner tests start,
// re-executing the test binary (the standard os/exec helper-process pattern).
// It does what the arguments after "--" say.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("VAULT_ZFS_HELPER") != "1" {
		return
	}
	args := os.Args
	for len(args) > 0 && args[0] != "--" {
		args = args[1:]
	}
	if len(args) < 2 {
		fmt.Fprintln(os.Stderr, "helper: no command")
		os.Exit(2)
	}
	n := 0
	if len(args) > 2 {
		n, _ = strconv.Atoi(args[2])
	}
	switch args[1] {
	case "exit": // exit n with a zfs-like error
		fmt.Fprintf(os.Stderr, "cannot destroy 'tank/a@x': dataset is busy\n\nsecond paragraph\n")
		os.Exit(n)
	case "stderr": // write n bytes of stderr between markers, exit 3
		w := bufio.NewWriter(os.Stderr)
		fmt.Fprint(w, "HEAD-MARKER\n")
		line := strings.Repeat("x", 99) + "\n"
		for written := 0; written < n; written += len(line) {
			fmt.Fprint(w, line)
		}
		fmt.Fprint(w, "TAIL-MARKER\n")
		w.Flush()
		os.Exit(3)
	case "pwd":
		wd, _ := os.Getwd()
		fmt.Println(wd)
	case "cat":
		if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
			os.Exit(4)
		}
	case "count": // print how many bytes stdin had
		c, _ := io.Copy(io.Discard, os.Stdin)
		fmt.Println(c)
	case "write": // write n bytes to stdout; n = 0 writes forever
		buf := bytes.Repeat([]byte("z"), 4096)
		for written := 0; n == 0 || written < n; {
			chunk := buf
			if n > 0 && n-written < len(chunk) {
				chunk = chunk[:n-written]
			}
			if _, err := os.Stdout.Write(chunk); err != nil {
				os.Exit(5)
			}
			written += len(chunk)
		}
	case "spawn": // start a grandchild that sleeps, print its pid, sleep
		exe, _ := os.Executable()
		c := exec.Command(exe, "-test.run=^TestHelperProcess$", "--", "sleep")
		c.Env, c.Stderr = os.Environ(), os.Stderr
		if err := c.Start(); err != nil {
			os.Exit(6)
		}
		fmt.Println(c.Process.Pid)
		signal.Reset(syscall.SIGTERM)
		time.Sleep(time.Minute)
	case "sleep": // wait for a signal
		signal.Reset(syscall.SIGTERM)
		time.Sleep(time.Minute)
	default:
		fmt.Fprintf(os.Stderr, "helper: unknown command %q\n", args[1])
		os.Exit(2)
	}
	os.Exit(0)
}

// helper returns a Local that can run the helper process, and the argv
// prefix that runs it.
func helper(t *testing.T, args ...string) (*Local, []string) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	l := &Local{Env: []string{"VAULT_ZFS_HELPER=1"}}
	return l, append([]string{exe, "-test.run=^TestHelperProcess$", "--"}, args...)
}

func TestLocalRunEcho(t *testing.T) {
	var out bytes.Buffer
	err := (&Local{}).Run(context.Background(), Cmd{Argv: []string{"/bin/echo", "hello", "a b"}, Stdout: &out})
	require.NoError(t, err)
	if got := out.String(); got != "hello a b\n" {
		t.Errorf("stdout = %q, want %q", got, "hello a b\n")
	}
}

func TestLocalRunFalse(t *testing.T) {
	err := (&Local{}).Run(context.Background(), Cmd{Argv: []string{"/bin/false"}})
	var xe *ExitError
	require.ErrorAs(t, err, &xe)
	if xe.Code != 1 || xe.Signal != "" || xe.Stderr != "" {
		t.Errorf("ExitError = %+v, want code 1, no signal, no stderr", xe)
	}
	if got, want := err.Error(), "false: exit status 1"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestLocalRunRefusesBadArgv(t *testing.T) {
	cases := []struct {
		argv []string
		want string
	}{
		{nil, "empty argv"},
		{[]string{}, "empty argv"},
		{[]string{"echo", "x"}, `cannot run "echo": the binary path is not absolute`},
		{[]string{"./echo"}, "not absolute"},
		{[]string{""}, "not absolute"},
		{[]string{"/bin/echo", "a\x00b"}, "NUL byte"},
	}
	for _, c := range cases {
		err := (&Local{}).Run(context.Background(), Cmd{Argv: c.argv})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Run(%q): got error %v, want one containing %q", c.argv, err, c.want)
		}
		if _, err := (&Local{}).Start(context.Background(), Cmd{Argv: c.argv}); err == nil {
			t.Errorf("Start(%q): got no error, want one", c.argv)
		}
	}
}

func TestLocalRunMissingBinary(t *testing.T) {
	err := (&Local{}).Run(context.Background(), Cmd{Argv: []string{"/nonexistent/zfs", "list"}})
	require.Error(t, err)
	var xe *ExitError
	if errors.As(err, &xe) {
		t.Errorf("got ExitError %v, want a start error", err)
	}
	if !strings.HasPrefix(err.Error(), "cannot run zfs list: ") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %q, want \"cannot run zfs list: ...\" wrapping ErrNotExist", err)
	}
}

func TestLocalDefaultEnvironment(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, (&Local{}).Run(context.Background(), Cmd{Argv: []string{"/usr/bin/env"}, Stdout: &out}))
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	slices.Sort(got)
	want := []string{"LC_ALL=C", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TZ=UTC"}
	if !slices.Equal(got, want) {
		t.Errorf("environment = %q, want %q", got, want)
	}
}

func TestLocalEnvForcesLCALL(t *testing.T) {
	l := &Local{Env: []string{"FOO=bar", "LC_ALL=de_DE.UTF-8", "LANG=de_DE.UTF-8"}}
	var out bytes.Buffer
	require.NoError(t, l.Run(context.Background(), Cmd{Argv: []string{"/usr/bin/env"}, Stdout: &out}))
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	slices.Sort(got)
	want := []string{"FOO=bar", "LANG=de_DE.UTF-8", "LC_ALL=C"}
	if !slices.Equal(got, want) {
		t.Errorf("environment = %q, want %q", got, want)
	}
	if l.Env[1] != "LC_ALL=de_DE.UTF-8" {
		t.Errorf("Run changed Local.Env to %q", l.Env)
	}
}

func TestLocalRunsInRoot(t *testing.T) {
	l, argv := helper(t, "pwd")
	var out bytes.Buffer
	require.NoError(t, l.Run(context.Background(), Cmd{Argv: argv, Stdout: &out}))
	if got := out.String(); got != "/\n" {
		t.Errorf("working directory = %q, want /", got)
	}
}

func TestExitErrorCarriesStderr(t *testing.T) {
	l, argv := helper(t, "exit", "2")
	err := l.Run(context.Background(), Cmd{Argv: argv})
	var xe *ExitError
	require.ErrorAs(t, err, &xe)
	if xe.Code != 2 || xe.Signal != "" {
		t.Errorf("code, signal = %d, %q; want 2, none", xe.Code, xe.Signal)
	}
	if want := "cannot destroy 'tank/a@x': dataset is busy\n\nsecond paragraph\n"; xe.Stderr != want {
		t.Errorf("Stderr = %q, want %q", xe.Stderr, want)
	}
	if !slices.Equal(xe.Argv, argv) {
		t.Errorf("Argv = %q, want %q", xe.Argv, argv)
	}
	want := `zfs.test "-test.run=^TestHelperProcess$" -- exit 2: exit status 2: cannot destroy 'tank/a@x': dataset is busy; second paragraph`
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
}

func TestLocalBoundsStderr(t *testing.T) {
	l, argv := helper(t, "stderr", strconv.Itoa(1<<20))
	l.StderrLimit = 1000
	err := l.Run(context.Background(), Cmd{Argv: argv})
	var xe *ExitError
	require.ErrorAs(t, err, &xe)
	if xe.Code != 3 {
		t.Errorf("code = %d, want 3", xe.Code)
	}
	if !strings.HasPrefix(xe.Stderr, "HEAD-MARKER\n") || !strings.HasSuffix(xe.Stderr, "TAIL-MARKER\n") {
		t.Errorf("Stderr does not keep head and tail: %q...%q", xe.Stderr[:40], xe.Stderr[len(xe.Stderr)-40:])
	}
	if !strings.Contains(xe.Stderr, "bytes of stderr omitted") || len(xe.Stderr) > 1100 {
		t.Errorf("Stderr is %d bytes, want about 1000 with an omission note", len(xe.Stderr))
	}
	if len(err.Error()) > 1000 {
		t.Errorf("Error() is %d bytes, want a short summary", len(err.Error()))
	}
}

func TestLocalDefaultStderrLimit(t *testing.T) {
	l, argv := helper(t, "stderr", strconv.Itoa(200<<10))
	err := l.Run(context.Background(), Cmd{Argv: argv})
	var xe *ExitError
	require.ErrorAs(t, err, &xe)
	if n := len(xe.Stderr); n < defaultStderrLimit || n > defaultStderrLimit+100 {
		t.Errorf("Stderr is %d bytes, want about %d", n, defaultStderrLimit)
	}
}

func TestLocalContextCancel(t *testing.T) {
	l, argv := helper(t, "sleep")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := l.Run(ctx, Cmd{Argv: argv})
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %v after the context ended, want it to stop at once", d)
	}
	require.ErrorIs(t, err, context.DeadlineExceeded)
	var xe *ExitError
	require.ErrorAs(t, err, &xe)
	if xe.Signal != "SIGTERM" || xe.Code != -1 {
		t.Errorf("signal, code = %q, %d; want SIGTERM, -1", xe.Signal, xe.Code)
	}
	if !strings.HasSuffix(err.Error(), ": killed by SIGTERM: context deadline exceeded") {
		t.Errorf("Error() = %q, want it to say killed by SIGTERM and why", err)
	}
}

func TestLocalLogsOneLine(t *testing.T) {
	var logs bytes.Buffer
	log := hclog.New(&hclog.LoggerOptions{Output: &logs, Level: hclog.Debug}).Named("zfs")
	l := &Local{Log: log}
	require.NoError(t, l.Run(context.Background(), Cmd{Argv: []string{"/bin/echo", "hi"}}))
	require.Error(t, l.Run(context.Background(), Cmd{Argv: []string{"/bin/false", "x"}}))
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d log lines, want 2:\n%s", len(lines), logs.String())
	}
	for i, want := range []string{`argv=["/bin/echo", "hi"]`, `argv=["/bin/false", "x"]`} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], "duration=") || !strings.Contains(lines[i], "[DEBUG] zfs:") {
			t.Errorf("log line %d = %q, want a zfs debug line with %s and a duration", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[0], "exit=0") || !strings.Contains(lines[1], "exit=1") {
		t.Errorf("log lines %q, want exit=0 then exit=1", lines)
	}
}

func TestLocalStartReadStdout(t *testing.T) {
	l, argv := helper(t, "write", "1000000")
	p, err := l.Start(context.Background(), Cmd{Argv: argv})
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, p.Stdout())
	require.NoError(t, err)
	require.NoError(t, p.Wait())
	require.NoError(t, p.Wait(), "second Wait")
	if n != 1000000 {
		t.Errorf("read %d bytes, want 1000000", n)
	}
}

func TestLocalStartStdin(t *testing.T) {
	l, argv := helper(t, "cat")
	var out bytes.Buffer
	data := bytes.Repeat([]byte("0123456789"), 100000)
	p, err := l.Start(context.Background(), Cmd{Argv: argv, Stdin: bytes.NewReader(data), Stdout: &out})
	require.NoError(t, err)
	require.Nil(t, p.Stdout(), "Stdout() with Cmd.Stdout set")
	require.NoError(t, p.Wait())
	if !bytes.Equal(out.Bytes(), data) {
		t.Errorf("cat returned %d bytes, want the %d written", out.Len(), len(data))
	}
}

func TestLocalStartAbort(t *testing.T) {
	l, argv := helper(t, "write", "0") // writes forever
	p, err := l.Start(context.Background(), Cmd{Argv: argv})
	require.NoError(t, err)
	_, err = io.ReadFull(p.Stdout(), make([]byte, 100000))
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- p.Abort() }()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Abort did not return")
	}
	var xe *ExitError
	require.ErrorAs(t, err, &xe)
	if xe.Signal != "SIGKILL" {
		t.Errorf("signal = %q, want SIGKILL", xe.Signal)
	}
	if err2 := p.Wait(); err2 != err {
		t.Errorf("Wait after Abort = %v, want the same error %v", err2, err)
	}
}

// TestLocalStartPipeline connects two commands with an os.Pipe, as a send
// into a receive, closing this process's copies of the pipe ends after
// Start as the Start doc says.
func TestLocalStartPipeline(t *testing.T) {
	l, sendArgv := helper(t, "write", "3000000")
	_, recvArgv := helper(t, "count")
	r, w, err := os.Pipe()
	require.NoError(t, err)
	var out bytes.Buffer
	recv, err := l.Start(context.Background(), Cmd{Argv: recvArgv, Stdin: r, Stdout: &out})
	require.NoError(t, err)
	r.Close()
	send, err := l.Start(context.Background(), Cmd{Argv: sendArgv, Stdout: w})
	require.NoError(t, err)
	w.Close()
	require.NoError(t, send.Wait())
	require.NoError(t, recv.Wait())
	if got := strings.TrimSpace(out.String()); got != "3000000" {
		t.Errorf("receiver counted %s bytes, want 3000000", got)
	}
}

func TestLocalStartMissingBinary(t *testing.T) {
	_, err := (&Local{}).Start(context.Background(), Cmd{Argv: []string{"/nonexistent/zfs", "send"}})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want an error wrapping ErrNotExist", err)
	}
}

func TestBoundedBuffer(t *testing.T) {
	for _, limit := range []int{1, 2, 7, 10, 64} {
		for _, chunk := range []int{1, 3, 5, 11, 100} {
			b := NewBoundedBuffer(limit)
			var all []byte
			for i := 0; i < 300; i += chunk {
				p := make([]byte, chunk)
				for j := range p {
					p[j] = byte('a' + (i+j)%26)
				}
				n, err := b.Write(p)
				if n != len(p) || err != nil {
					t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(p))
				}
				all = append(all, p...)
			}
			head, keep := limit/2, limit-limit/2
			want := fmt.Sprintf("%s\n[... %d bytes of stderr omitted ...]\n%s", all[:head], len(all)-limit, all[len(all)-keep:])
			if got := b.String(); got != want {
				t.Errorf("limit %d, chunk %d: String() = %q, want %q", limit, chunk, got, want)
			}
			if cap(b.tail) > 2*keep+chunk+8 && cap(b.tail) > 64 {
				t.Errorf("limit %d, chunk %d: tail grew to %d bytes", limit, chunk, cap(b.tail))
			}
		}
	}
	b := NewBoundedBuffer(100)
	b.Write([]byte("short"))
	b.Write([]byte(" and sweet"))
	if got := b.String(); got != "short and sweet" {
		t.Errorf("String() = %q, want all of it when under the limit", got)
	}
	b = NewBoundedBuffer(10)
	b.Write([]byte("0123456789"))
	if got := b.String(); got != "0123456789" {
		t.Errorf("String() = %q, want all of it at exactly the limit", got)
	}
}

func TestStderrSummary(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"\n\n", ""},
		{"cannot open 'x': dataset does not exist\n", "cannot open 'x': dataset does not exist"},
		{"  a  \n\n b\nc\nd\ne\n", "a; b; c; d"},
		{strings.Repeat("y", 600), strings.Repeat("y", 500) + "..."},
	}
	for _, c := range cases {
		if got := stderrSummary(c.in); got != c.want {
			t.Errorf("stderrSummary(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestFormatArgv(t *testing.T) {
	cases := []struct {
		argv []string
		want string
	}{
		{nil, "(empty command)"},
		{[]string{"/sbin/zfs", "list", "-H", "-o", "name,guid", "tank/a@b#c%d"}, "zfs list -H -o name,guid tank/a@b#c%d"},
		{[]string{"/sbin/zfs", "destroy", "tank/My Docs@a,b"}, `zfs destroy "tank/My Docs@a,b"`},
		{[]string{"/sbin/zfs", "x", ""}, `zfs x ""`},
		{[]string{"/sbin/zfs", "a\nb"}, `zfs "a\nb"`},
		{[]string{"/sbin/zfs", "send", "-t", strings.Repeat("f", 400)}, "zfs send -t " + strings.Repeat("f", 300-len("zfs send -t ")) + "..."},
	}
	for _, c := range cases {
		if got := formatArgv(c.argv); got != c.want {
			t.Errorf("formatArgv(%q) = %q, want %q", c.argv, got, c.want)
		}
	}
	if got := (Cmd{Argv: []string{"/sbin/zfs", "list"}}).String(); got != "zfs list" {
		t.Errorf("Cmd.String() = %q, want zfs list", got)
	}
}

func TestExitErrorSignal(t *testing.T) {
	e := &ExitError{Argv: []string{"/sbin/zfs", "receive"}, Code: -1, Signal: "SIGKILL"}
	if got, want := e.Error(), "zfs receive: killed by SIGKILL"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestIsNotExist(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&ExitError{Code: 1, Stderr: "cannot open 'rust10/Backups/x': dataset does not exist\n"}, true},
		{fmt.Errorf("cannot list: %w", &ExitError{Code: 1, Stderr: "cannot open 'rust10/x': dataset does not exist"}), true},
		{&ExitError{Code: 1, Stderr: "cannot open 'rust10/x': permission denied"}, false},
		{errors.New("dataset does not exist"), false}, // not zfs's
		{nil, false},
	} {
		if got := IsNotExist(tc.err); got != tc.want {
			t.Errorf("IsNotExist(%v): got %v, want %v", tc.err, got, tc.want)
		}
	}
}

// A command's own children end with it, on Abort (SIGKILL) and when its context ends (SIGTERM):
// a zfs_binary that is a wrapper script leaves no zfs receive behind, and Wait does not wait
// for a grandchild that holds stderr open.
func TestLocalSignalsTheProcessGroup(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc to look for the grandchild in")
	}
	gone := func(pid int) bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		return len(f) > 0 && f[0] == "Z"
	}
	for _, how := range []string{"abort", "cancel"} {
		t.Run(how, func(t *testing.T) {
			l, argv := helper(t, "spawn")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p, err := l.Start(ctx, Cmd{Argv: argv})
			require.NoError(t, err)
			var pid int
			_, err = fmt.Fscan(p.Stdout(), &pid)
			require.NoError(t, err)
			require.False(t, gone(pid), "the grandchild did not start")
			if how == "abort" {
				_ = p.Abort()
			} else {
				cancel()
				_ = p.Wait()
			}
			require.Eventually(t, func() bool { return gone(pid) }, 5*time.Second, 20*time.Millisecond, "the grandchild outlived its parent's %s", how)
		})
	}
}
