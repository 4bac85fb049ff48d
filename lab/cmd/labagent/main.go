// Command labagent runs inside the lab guest. It reads requests from the harness over the
// virtio-serial port named lab.PortName, runs each as an argv list as root or as a named user,
// and writes back stdout, stderr and the exit status. It is test infrastructure: it never ships
// in the vault binary.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/belltech/vault/lab"
)

func main() {
	port, err := findPort(lab.PortName)
	if err != nil {
		fmt.Fprintln(os.Stderr, "labagent:", err)
		os.Exit(1)
	}
	f, err := os.OpenFile(port, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "labagent:", err)
		os.Exit(1)
	}
	a := &agent{w: f}
	a.send(lab.Response{Ready: true})
	fmt.Fprintln(os.Stderr, "labagent: ready on", port)
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			var req lab.Request
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				fmt.Fprintln(os.Stderr, "labagent: bad request:", jerr)
				continue
			}
			go a.handle(req)
		}
		if err != nil {
			// The port reads EOF while the host side is not connected; wait for it.
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// findPort returns the /dev node of the virtio-serial port with the given name. Without udev
// the /dev/virtio-ports symlinks do not exist, so it reads sysfs.
func findPort(name string) (string, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		matches, _ := filepath.Glob("/sys/class/virtio-ports/*/name")
		for _, m := range matches {
			b, err := os.ReadFile(m)
			if err == nil && strings.TrimSpace(string(b)) == name {
				return "/dev/" + filepath.Base(filepath.Dir(m)), nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no virtio-serial port named %q", name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

type agent struct {
	mu sync.Mutex
	w  io.Writer
}

func (a *agent) send(resp lab.Response) {
	b, err := json.Marshal(resp)
	if err != nil {
		b, _ = json.Marshal(lab.Response{ID: resp.ID, Exit: -1, Error: err.Error()})
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, _ = a.w.Write(append(b, '\n'))
}

func (a *agent) handle(req lab.Request) {
	start := time.Now()
	resp := lab.Response{ID: req.ID}
	switch req.Op {
	case "poweroff":
		syscall.Sync()
		a.send(resp)
		time.Sleep(200 * time.Millisecond)
		_ = os.WriteFile("/proc/sysrq-trigger", []byte("o"), 0)
		return
	case "":
	default:
		resp.Exit, resp.Error = -1, fmt.Sprintf("unknown op %q", req.Op)
		a.send(resp)
		return
	}
	if err := run(req, &resp); err != nil {
		resp.Exit, resp.Error = -1, err.Error()
	}
	resp.Millis = time.Since(start).Milliseconds()
	a.send(resp)
}

func run(req lab.Request, resp *lab.Response) error {
	if len(req.Argv) == 0 {
		return errors.New("empty argv")
	}
	ctx := context.Background()
	if req.TimeoutMS > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(req.TimeoutMS)*time.Millisecond)
		defer cancel()
	}
	cmd := exec.Command(req.Argv[0], req.Argv[1:]...)
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "TERM=dumb"}
	attr := &syscall.SysProcAttr{Setsid: true}
	home, name := "/root", "root"
	if req.User != "" && req.User != "root" {
		u, err := user.Lookup(req.User)
		if err != nil {
			return err
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		groups := []uint32{}
		if gids, err := u.GroupIds(); err == nil {
			for _, g := range gids {
				n, _ := strconv.Atoi(g)
				groups = append(groups, uint32(n))
			}
		}
		attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: groups}
		home, name = u.HomeDir, u.Username
	}
	env = append(env, "HOME="+home, "USER="+name, "LOGNAME="+name)
	cmd.Env = append(env, req.Env...)
	cmd.SysProcAttr = attr
	cmd.Dir = req.Dir
	if cmd.Dir == "" {
		cmd.Dir = home
		if _, err := os.Stat(home); err != nil {
			cmd.Dir = "/"
		}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if req.Stdin != nil {
		cmd.Stdin = bytes.NewReader(req.Stdin)
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		// Kill the whole process group: a test's command may have started children.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		err = <-done
		resp.TimedOut = true
	}
	resp.Stdout, resp.Stderr = stdout.Bytes(), stderr.Bytes()
	var ee *exec.ExitError
	switch {
	case err == nil:
		resp.Exit = 0
	case errors.As(err, &ee):
		resp.Exit = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			resp.Exit = 128 + int(ws.Signal())
		}
	default:
		return err
	}
	return nil
}
