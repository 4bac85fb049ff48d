package sshx

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

const sshdBin = "/usr/sbin/sshd"

// testSSHD is OpenSSH's sshd running on 127.0.0.1 for one test, as the
// current user (root), with temporary host keys and a client key of its own.
type testSSHD struct {
	Dir        string
	Port       int
	HostKeys   map[string]ssh.PublicKey // by type: ssh-ed25519, ecdsa-sha2-nistp256
	Identity   string                   // the authorized client key, mode 0600
	KnownHosts string                   // both host keys pinned for [127.0.0.1]:Port
}

// startSSHD starts sshd and stops it when the test ends. It skips the test
// when not root or when sshd is not installed: CI runs as root with sshd.
// Each of configure is called once the keys are made, and returns lines
// for sshd_config.
func startSSHD(t testing.TB, configure ...func(testing.TB, *testSSHD) string) *testSSHD {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run OpenSSH's sshd as the current user (CI runs as root)")
	}
	if _, err := os.Stat(sshdBin); err != nil {
		t.Skipf("needs OpenSSH's sshd at %s (Debian: apt-get install openssh-server)", sshdBin)
	}
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("needs ssh-keygen (Debian: apt-get install openssh-client)")
	}
	// sshd's privilege separation directory, made by the service unit on a
	// booted system but missing in a fresh container.
	require.NoError(t, os.MkdirAll("/run/sshd", 0o755))

	s := &testSSHD{Dir: t.TempDir(), HostKeys: map[string]ssh.PublicKey{}}
	var hostKeyFiles []string
	for _, typ := range []string{"ed25519", "ecdsa"} {
		f := filepath.Join(s.Dir, "host_"+typ)
		pub := keygen(t, f, typ)
		s.HostKeys[pub.Type()] = pub
		hostKeyFiles = append(hostKeyFiles, f)
	}
	s.Identity = filepath.Join(s.Dir, "id_ed25519")
	pub := keygen(t, s.Identity, "ed25519")
	auth := filepath.Join(s.Dir, "authorized_keys")
	require.NoError(t, os.WriteFile(auth, ssh.MarshalAuthorizedKey(pub), 0o600))

	var extra strings.Builder
	for _, f := range configure {
		extra.WriteString(f(t, s))
	}
	var err error
	for attempt := 0; ; attempt++ {
		s.Port = freePort(t)
		if err = s.run(t, hostKeyFiles, auth, extra.String()); err == nil || attempt == 4 {
			break
		}
		t.Logf("sshd did not start on port %d, retrying: %v", s.Port, err)
	}
	require.NoError(t, err)

	s.KnownHosts = filepath.Join(s.Dir, "known_hosts")
	var kh bytes.Buffer
	for _, typ := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256} {
		fmt.Fprintf(&kh, "[127.0.0.1]:%d %s", s.Port, ssh.MarshalAuthorizedKey(s.HostKeys[typ]))
	}
	require.NoError(t, os.WriteFile(s.KnownHosts, kh.Bytes(), 0o644))
	return s
}

// run starts sshd on s.Port and waits until it greets.
func (s *testSSHD) run(t testing.TB, hostKeys []string, authorizedKeys, extra string) error {
	conf := filepath.Join(s.Dir, "sshd_config")
	var c strings.Builder
	c.WriteString("ListenAddress 127.0.0.1\n")
	for _, k := range hostKeys {
		fmt.Fprintf(&c, "HostKey %s\n", k)
	}
	fmt.Fprintf(&c, "AuthorizedKeysFile %s\n", authorizedKeys)
	c.WriteString(`StrictModes no
UsePAM no
PidFile none
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowAgentForwarding no
AllowTcpForwarding no
X11Forwarding no
PermitTTY no
MaxSessions 10
LogLevel VERBOSE
`)
	c.WriteString(extra)
	if err := os.WriteFile(conf, []byte(c.String()), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(sshdBin, "-D", "-e", "-f", conf, "-p", strconv.Itoa(s.Port))
	var log lockedBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}

	deadline := time.Now().Add(10 * time.Second)
	for {
		if greets(s.Port) {
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("sshd exited: %s", log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("sshd did not greet within 10s: %s", log.String())
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("sshd log:\n%s", log.String())
		}
	})
	return nil
}

// greets reports whether an SSH server answers on port.
func greets(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.HasPrefix(line, "SSH-2.0-")
}

// config returns a client Config for s.
func (s *testSSHD) config() Config {
	return Config{
		User:           "root",
		Host:           "127.0.0.1",
		Port:           s.Port,
		IdentityFile:   s.Identity,
		KnownHostsFile: s.KnownHosts,
		ConnectTimeout: 10 * time.Second,
		Keepalive:      5 * time.Second,
		IOTimeout:      time.Minute,
	}
}

// dial connects to s with cfg and closes the client when the test ends.
func dial(t testing.TB, cfg Config) *Client {
	t.Helper()
	c, err := Dial(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// keygen makes a key pair at file (and file.pub) with ssh-keygen and returns
// its public key. typ "" only reads an existing file.pub.
func keygen(t testing.TB, file, typ string) ssh.PublicKey {
	t.Helper()
	if typ != "" {
		out, err := exec.Command("ssh-keygen", "-q", "-t", typ, "-N", "", "-C", "vault-test", "-f", file).CombinedOutput()
		require.NoError(t, err, "ssh-keygen: %s", out)
	}
	b, err := os.ReadFile(file + ".pub")
	require.NoError(t, err)
	pub, _, _, _, err := ssh.ParseAuthorizedKey(b)
	require.NoError(t, err)
	return pub
}

// goKey writes a fresh ed25519 private key in OpenSSH format to file with
// mode, without ssh-keygen, and returns its public key.
func goKey(t testing.TB, file string, mode os.FileMode) ssh.PublicKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "vault-test")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(file, pem.EncodeToMemory(block), mode))
	require.NoError(t, os.Chmod(file, mode))
	sp, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return sp
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freezableProxy forwards TCP connections to a backend until frozen; then
// it stops moving bytes in both directions without closing anything, like a
// host that hangs or a path that black-holes.
type freezableProxy struct {
	Port   int
	frozen chan struct{}
	closed chan struct{}
}

func startProxy(t testing.TB, backend int) *freezableProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &freezableProxy{Port: l.Addr().(*net.TCPAddr).Port, frozen: make(chan struct{}), closed: make(chan struct{})}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(backend)))
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, b)
			mu.Unlock()
			go p.pipe(b, c)
			go p.pipe(c, b)
		}
	}()
	t.Cleanup(func() {
		close(p.closed)
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return p
}

func (p *freezableProxy) Freeze() { close(p.frozen) }

func (p *freezableProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			<-p.closed
			return
		default:
		}
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// silentListener accepts TCP connections and never says a word.
func silentListener(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return l.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
