//go:build linux

package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// TCGCPU is the guest's CPU model under software emulation: everything qemu can emulate but
// AVX2. Programs pick AVX2 code because on hardware it is the fastest; TCG emulates it more
// slowly than the SSE code it replaces, so in the guest it only slows whoever uses it, and
// unevenly. Measured in the lab (512 MiB, 2 vCPUs): the age command line decrypts in 17.4 s
// with AVX2 and 14.6 s without; Go's SHA-256 costs about four times the CPU with it. Under
// "max", every comparison of two programs in the lab weighed their AVX2 use rather than their
// work. The kernel and OpenZFS choose their own code by benchmarking it at boot.
const TCGCPU = "max,-avx2"

// BootOptions says how to start a guest.
type BootOptions struct {
	Image *Image
	// Share is a host directory mounted read-only at /mnt/lab in the guest. It must hold the
	// executable "boot" (lab/guest/boot) and "labagent"; see BuildShare.
	Share string
	// MemoryMB and CPUs default to 3072 and 2.
	MemoryMB int
	CPUs     int
	// ScratchGB is the size of the sparse scratch disk mounted at /scratch (file vdevs live
	// there); default 32.
	ScratchGB int
	// Accel is "tcg" (software emulation, the default) or "kvm"; VAULT_LAB_ACCEL overrides.
	Accel string
	// CPU is qemu's -cpu model under tcg; default TCGCPU, VAULT_LAB_CPU overrides.
	CPU string
	// Log receives harness progress; nil discards it.
	Log io.Writer
	// ReadyTimeout bounds boot-to-ready; default 5 minutes.
	ReadyTimeout time.Duration
	// Init is the guest's PID 1: InitLab (the image's lab-init, the default when empty) or
	// InitSystemd (systemd, booted straight to the image's vault-lab.target, which mounts the
	// share and runs its boot script as lab-init does), for the tests of dist/vault.service.
	Init string
}

// The guest's two PID 1s; see BootOptions.Init.
const (
	InitLab     = "lab-init"
	InitSystemd = "systemd"
)

// kernelCmdline is the guest kernel's command line for init.
func kernelCmdline(init string) (string, error) {
	const base = "root=/dev/vda rw console=ttyS0 panic=-1 quiet "
	switch init {
	case "", InitLab:
		return base + "init=/sbin/lab-init", nil
	case InitSystemd:
		// No status lines on the console: the harness's tail of it stays about the guest.
		return base + "init=/lib/systemd/systemd systemd.unit=vault-lab.target systemd.show_status=0", nil
	}
	return "", fmt.Errorf("cannot boot the lab: unknown init %q (want %q or %q)", init, InitLab, InitSystemd)
}

// Guest is a running lab VM with its agent connected.
type Guest struct {
	runDir  string
	console string
	cmd     *exec.Cmd
	conn    net.Conn
	exited  chan struct{}
	exitErr error

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]chan Response
	readErr error
	// BootTime is how long qemu took from start to the agent's greeting.
	BootTime time.Duration
}

// Boot starts qemu on the image and waits until the agent in the guest is ready.
func Boot(ctx context.Context, o BootOptions) (*Guest, error) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return nil, errors.New("cannot boot the lab: qemu-system-x86_64 not found; install it with `apt-get install qemu-system-x86`")
	}
	if o.MemoryMB == 0 {
		o.MemoryMB = 3072
	}
	if o.CPUs == 0 {
		o.CPUs = 2
	}
	if o.ScratchGB == 0 {
		o.ScratchGB = 32
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 5 * time.Minute
	}
	if a := os.Getenv("VAULT_LAB_ACCEL"); a != "" {
		o.Accel = a
	}
	if c := os.Getenv("VAULT_LAB_CPU"); c != "" {
		o.CPU = c
	}
	if o.CPU == "" {
		o.CPU = TCGCPU
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	cmdline, err := kernelCmdline(o.Init)
	if err != nil {
		return nil, err
	}
	for _, f := range []string{"boot", "labagent"} {
		if _, err := os.Stat(filepath.Join(o.Share, f)); err != nil {
			return nil, fmt.Errorf("cannot boot the lab: the share %s lacks %s", o.Share, f)
		}
	}
	runDir, err := os.MkdirTemp("", "vault-lab-run-")
	if err != nil {
		return nil, err
	}
	scratch := filepath.Join(runDir, "scratch.img")
	if err := sparseFile(scratch, int64(o.ScratchGB)<<30); err != nil {
		os.RemoveAll(runDir)
		return nil, err
	}
	sock := filepath.Join(runDir, "agent.sock")
	g := &Guest{runDir: runDir, console: filepath.Join(runDir, "console.log"), exited: make(chan struct{}), pending: map[uint64]chan Response{}}
	accel := []string{"-accel", "tcg,thread=multi", "-cpu", o.CPU}
	if o.Accel == "kvm" {
		accel = []string{"-accel", "kvm", "-cpu", "host"}
	}
	args := append(accel,
		"-smp", fmt.Sprint(o.CPUs), "-m", fmt.Sprint(o.MemoryMB), "-no-reboot",
		"-kernel", o.Image.Kernel, "-initrd", o.Image.Initrd,
		"-append", cmdline,
		"-drive", "file="+o.Image.Rootfs+",if=virtio,format=raw,snapshot=on",
		"-drive", "file="+scratch+",if=virtio,format=raw,cache=unsafe",
		"-virtfs", "local,path="+o.Share+",mount_tag=lab,security_model=none,readonly=on",
		"-nic", "none", "-display", "none", "-monitor", "none",
		"-serial", "file:"+g.console,
		"-chardev", "socket,id=agent,path="+sock+",server=on,wait=off",
		"-device", "virtio-serial-pci",
		"-device", "virtserialport,chardev=agent,name="+PortName,
	)
	start := time.Now()
	g.cmd = exec.Command(qemu, args...)
	g.cmd.Env = append(os.Environ(), "TMPDIR="+runDir)
	// If the harness dies (a test binary killed on timeout), the guest dies with it instead of
	// running on, orphaned, eating the CPU of the next run.
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	qlog, _ := os.Create(filepath.Join(runDir, "qemu.log"))
	g.cmd.Stdout, g.cmd.Stderr = qlog, qlog
	if err := g.cmd.Start(); err != nil {
		os.RemoveAll(runDir)
		return nil, fmt.Errorf("cannot start qemu: %w", err)
	}
	go func() {
		g.exitErr = g.cmd.Wait()
		qlog.Close()
		close(g.exited)
	}()
	fmt.Fprintf(logw, "lab: booting %s (OpenZFS %s, %s)\n", o.Image.Key, o.Image.Manifest["zfs"], strings.Join(accel, " "))

	readyCtx, cancel := context.WithTimeout(ctx, o.ReadyTimeout)
	defer cancel()
	if err := g.connect(readyCtx, sock); err != nil {
		g.kill()
		return nil, fmt.Errorf("the lab guest did not come up: %w\n%s", err, g.ConsoleTail(30))
	}
	g.BootTime = time.Since(start)
	fmt.Fprintf(logw, "lab: guest ready in %s\n", g.BootTime.Round(100*time.Millisecond))
	return g, nil
}

func sparseFile(path string, size int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// connect dials the agent's socket and waits for its greeting.
func (g *Guest) connect(ctx context.Context, sock string) error {
	var conn net.Conn
	for conn == nil {
		c, err := net.Dial("unix", sock)
		if err == nil {
			conn = c
			break
		}
		select {
		case <-g.exited:
			return fmt.Errorf("qemu exited: %v", g.exitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	g.conn = conn
	ready := make(chan struct{})
	go g.readLoop(ready)
	select {
	case <-ready:
		return nil
	case <-g.exited:
		return fmt.Errorf("qemu exited before the agent was ready: %v", g.exitErr)
	case <-ctx.Done():
		return fmt.Errorf("no greeting from the agent: %w", ctx.Err())
	}
}

func (g *Guest) readLoop(ready chan struct{}) {
	r := bufio.NewReaderSize(g.conn, 1<<20)
	greeted := false
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			var resp Response
			if jerr := json.Unmarshal(line, &resp); jerr == nil {
				if resp.Ready && !greeted {
					greeted = true
					close(ready)
					continue
				}
				g.mu.Lock()
				ch := g.pending[resp.ID]
				delete(g.pending, resp.ID)
				g.mu.Unlock()
				if ch != nil {
					ch <- resp
				}
			}
		}
		if err != nil {
			g.mu.Lock()
			g.readErr = err
			for id, ch := range g.pending {
				close(ch)
				delete(g.pending, id)
			}
			g.mu.Unlock()
			return
		}
	}
}

// Result is what a command in the guest did.
type Result struct {
	Argv     []string
	User     string
	Stdout   string
	Stderr   string
	Exit     int
	TimedOut bool
	Duration time.Duration
}

// Combined is stdout then stderr, for messages.
func (r *Result) Combined() string { return r.Stdout + r.Stderr }

func (r *Result) String() string {
	who := r.User
	if who == "" {
		who = "root"
	}
	return fmt.Sprintf("[%s] %s: exit %d\n--- stdout\n%s--- stderr\n%s", who, strings.Join(r.Argv, " "), r.Exit, r.Stdout, r.Stderr)
}

// Run sends one request and waits for its result. An error means the harness could not get an
// answer (agent gone, context done); a command that ran and failed is a Result with Exit != 0.
func (g *Guest) Run(ctx context.Context, req Request) (*Result, error) {
	if dl, ok := ctx.Deadline(); ok && req.TimeoutMS == 0 {
		req.TimeoutMS = max(1, time.Until(dl).Milliseconds())
	}
	ch := make(chan Response, 1)
	g.mu.Lock()
	if g.readErr != nil {
		g.mu.Unlock()
		return nil, fmt.Errorf("the lab agent is gone: %w", g.readErr)
	}
	g.nextID++
	req.ID = g.nextID
	g.pending[req.ID] = ch
	b, err := json.Marshal(req)
	if err == nil {
		_, err = g.conn.Write(append(b, '\n'))
	}
	g.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("cannot send to the lab agent: %w", err)
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return nil, fmt.Errorf("the lab agent went away while running %q\n%s", req.Argv, g.ConsoleTail(20))
		}
		if resp.Error != "" {
			return nil, fmt.Errorf("the lab agent could not run %q: %s", req.Argv, resp.Error)
		}
		return &Result{Argv: req.Argv, User: req.User, Stdout: string(resp.Stdout), Stderr: string(resp.Stderr),
			Exit: resp.Exit, TimedOut: resp.TimedOut, Duration: time.Duration(resp.Millis) * time.Millisecond}, nil
	case <-ctx.Done():
		g.mu.Lock()
		delete(g.pending, req.ID)
		g.mu.Unlock()
		return nil, fmt.Errorf("waiting for %q in the lab: %w", req.Argv, ctx.Err())
	}
}

// Exec runs argv as user ("" or "root" for root).
func (g *Guest) Exec(ctx context.Context, user string, argv ...string) (*Result, error) {
	return g.Run(ctx, Request{User: user, Argv: argv})
}

// Script runs a bash script as user with `set -euo pipefail`. Test scripts may use a shell;
// the vault binary never does.
func (g *Guest) Script(ctx context.Context, user, script string) (*Result, error) {
	return g.Run(ctx, Request{User: user, Argv: []string{"/bin/bash", "-euo", "pipefail", "-c", script}})
}

// ConsoleTail returns the last n lines of the guest's serial console.
func (g *Guest) ConsoleTail(n int) string {
	b, _ := os.ReadFile(g.console)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "--- lab console (last lines)\n" + strings.Join(lines, "\n") + "\n"
}

// Close powers the guest off (killing qemu if it does not stop) and removes its run directory.
// The cached image is untouched: every boot writes to a throwaway overlay.
func (g *Guest) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, _ = g.Run(ctx, Request{Op: "poweroff"})
	cancel()
	select {
	case <-g.exited:
	case <-time.After(20 * time.Second):
		g.kill()
	}
	if g.conn != nil {
		g.conn.Close()
	}
	return os.RemoveAll(g.runDir)
}

func (g *Guest) kill() {
	if g.cmd.Process != nil {
		_ = g.cmd.Process.Kill()
	}
	<-g.exited
}
