package sshx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func writeKnownHosts(t testing.TB, file, host string, keys ...ssh.PublicKey) {
	t.Helper()
	var b strings.Builder
	b.WriteString("# pinned by the vault tests\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s", host, ssh.MarshalAuthorizedKey(k))
	}
	require.NoError(t, os.WriteFile(file, []byte(b.String()), 0o644))
}

func TestUnknownHostKeyRefused(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(cfg.KnownHostsFile, nil, 0o600))
	_, err := Dial(context.Background(), cfg)
	var he *HostKeyError
	require.ErrorAs(t, err, &he)
	offered := s.HostKeys[ssh.KeyAlgoED25519] // preferred when nothing is pinned
	want := &HostKeyError{
		Host: fmt.Sprintf("127.0.0.1:%d", s.Port), KeyType: "ssh-ed25519",
		Fingerprint: ssh.FingerprintSHA256(offered), File: cfg.KnownHostsFile,
	}
	require.Equal(t, want, he)
	msg := err.Error()
	for _, part := range []string{"is not pinned", he.Fingerprint, "verify it out of band", cfg.KnownHostsFile} {
		if !strings.Contains(msg, part) {
			t.Errorf("got error %q, want %q in it", msg, part)
		}
	}
	// The fingerprint is the one ssh-keygen prints.
	out, kerr := exec.Command("ssh-keygen", "-l", "-E", "sha256", "-f", filepath.Join(s.Dir, "host_ed25519.pub")).Output()
	require.NoError(t, kerr)
	if !strings.Contains(string(out), he.Fingerprint) {
		t.Errorf("ssh-keygen printed %q, want %q in it", out, he.Fingerprint)
	}
}

func TestChangedHostKeyRefused(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	dir := t.TempDir()
	other := goKey(t, filepath.Join(dir, "other"), 0o600)
	cfg.KnownHostsFile = filepath.Join(dir, "known_hosts")
	writeKnownHosts(t, cfg.KnownHostsFile, fmt.Sprintf("[127.0.0.1]:%d", s.Port), other)
	_, err := Dial(context.Background(), cfg)
	var he *HostKeyError
	require.ErrorAs(t, err, &he)
	if !he.Changed || he.KeyType != "ssh-ed25519" || he.Fingerprint != ssh.FingerprintSHA256(s.HostKeys["ssh-ed25519"]) {
		t.Errorf("got %+v, want a changed ssh-ed25519 key with the server's fingerprint", he)
	}
	require.Equal(t, []string{ssh.FingerprintSHA256(other)}, he.Want)
	require.Equal(t, []int{2}, he.Lines)
	msg := err.Error()
	for _, part := range []string{"changed", he.Fingerprint, he.Want[0], cfg.KnownHostsFile + ":2", "replace the line"} {
		if !strings.Contains(msg, part) {
			t.Errorf("got error %q, want %q in it", msg, part)
		}
	}
}

func TestHostKeyAlgorithmsFollowPinnedTypes(t *testing.T) {
	s := startSSHD(t)
	host := fmt.Sprintf("[127.0.0.1]:%d", s.Port)
	// The server has an ecdsa and an ed25519 key; x/crypto would ask for
	// ecdsa first. Each pinned alone must be enough.
	for _, typ := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256} {
		t.Run(typ, func(t *testing.T) {
			cfg := s.config()
			cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
			writeKnownHosts(t, cfg.KnownHostsFile, host, s.HostKeys[typ])
			c := dial(t, cfg)
			require.NoError(t, c.Close())
		})
	}
	t.Run("no pinned type offered", func(t *testing.T) {
		cfg := s.config()
		dir := t.TempDir()
		cmd := exec.Command("ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", filepath.Join(dir, "rsa"))
		require.NoError(t, cmd.Run())
		rsa := keygen(t, filepath.Join(dir, "rsa"), "")
		cfg.KnownHostsFile = filepath.Join(dir, "known_hosts")
		writeKnownHosts(t, cfg.KnownHostsFile, host, rsa)
		_, err := Dial(context.Background(), cfg)
		var he *HostKeyError
		require.ErrorAs(t, err, &he)
		if !he.Changed || he.KeyType != "" || len(he.WantTypes) != 1 || he.WantTypes[0] != "ssh-rsa" {
			t.Errorf("got %+v, want changed with no offered key and ssh-rsa pinned", he)
		}
		require.ErrorContains(t, err, "none of the pinned key types (ssh-rsa)")
		require.ErrorContains(t, err, cfg.KnownHostsFile+":2")
	})
}

func TestRevokedHostKeyRefused(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	key := s.HostKeys[ssh.KeyAlgoED25519]
	line := fmt.Sprintf("[127.0.0.1]:%d %s", s.Port, ssh.MarshalAuthorizedKey(key))
	require.NoError(t, os.WriteFile(cfg.KnownHostsFile, []byte(line+"@revoked * "+string(ssh.MarshalAuthorizedKey(key))), 0o644))
	_, err := Dial(context.Background(), cfg)
	var he *HostKeyError
	require.ErrorAs(t, err, &he)
	if !he.Revoked || len(he.Lines) != 1 || he.Lines[0] != 2 {
		t.Errorf("got %+v, want revoked on line 2", he)
	}
	require.ErrorContains(t, err, "is revoked")
}

func TestWrongClientKeyRefused(t *testing.T) {
	s := startSSHD(t)
	cfg := s.config()
	cfg.IdentityFile = filepath.Join(t.TempDir(), "id_other")
	goKey(t, cfg.IdentityFile, 0o600)
	_, err := Dial(context.Background(), cfg)
	require.ErrorIs(t, err, ErrAuth)
	msg := err.Error()
	for _, part := range []string{`"root"`, fmt.Sprintf("127.0.0.1:%d", s.Port), cfg.IdentityFile, "authorized_keys"} {
		if !strings.Contains(msg, part) {
			t.Errorf("got error %q, want %q in it", msg, part)
		}
	}
}

// offlineConfig is a Config whose files are valid, for tests that fail
// before or without a real server.
func offlineConfig(t *testing.T, port int) Config {
	dir := t.TempDir()
	cfg := Config{
		User: "backup", Host: "127.0.0.1", Port: port,
		IdentityFile:   filepath.Join(dir, "id_ed25519"),
		KnownHostsFile: filepath.Join(dir, "known_hosts"),
		ConnectTimeout: 5 * time.Second,
	}
	goKey(t, cfg.IdentityFile, 0o600)
	require.NoError(t, os.WriteFile(cfg.KnownHostsFile, nil, 0o644))
	return cfg
}

func TestIdentityFileMode(t *testing.T) {
	cfg := offlineConfig(t, 22)
	require.NoError(t, os.Chmod(cfg.IdentityFile, 0o644))
	_, err := Dial(context.Background(), cfg)
	require.ErrorContains(t, err, "accessible by group or others (mode 0644)")
	require.ErrorContains(t, err, "chmod 600 \""+cfg.IdentityFile+"\"")
}

func TestEncryptedIdentityFile(t *testing.T) {
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Skip("needs ssh-keygen")
	}
	cfg := offlineConfig(t, 22)
	require.NoError(t, os.Remove(cfg.IdentityFile))
	out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "secret", "-f", cfg.IdentityFile).CombinedOutput()
	require.NoError(t, err, "%s", out)
	_, err = Dial(context.Background(), cfg)
	require.ErrorContains(t, err, "is encrypted with a passphrase")
	require.ErrorContains(t, err, cfg.IdentityFile)
}

func TestKnownHostsWritableByOthers(t *testing.T) {
	cfg := offlineConfig(t, 22)
	require.NoError(t, os.Chmod(cfg.KnownHostsFile, 0o666))
	_, err := Dial(context.Background(), cfg)
	require.ErrorContains(t, err, "writable by group or others")
}

func TestConfigChecked(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.User = "" }, "no user"},
		{func(c *Config) { c.Host = "" }, "no host"},
		{func(c *Config) { c.Port = 70000 }, "port 70000 out of range"},
		{func(c *Config) { c.IdentityFile = "" }, "no identity file"},
		{func(c *Config) { c.KnownHostsFile = "" }, "no known_hosts file"},
		{func(c *Config) { c.IOTimeout = -1 }, "negative I/O timeout"},
	} {
		cfg := offlineConfig(t, 22)
		tc.edit(&cfg)
		_, err := Dial(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want %q", err, tc.want)
		}
	}
}

func TestConnectTimeoutOnSilentServer(t *testing.T) {
	port := silentListener(t)
	cfg := offlineConfig(t, port)
	cfg.ConnectTimeout = 500 * time.Millisecond
	start := time.Now()
	_, err := Dial(context.Background(), cfg)
	d := time.Since(start)
	require.ErrorContains(t, err, "no SSH handshake within 500ms")
	if d < 500*time.Millisecond || d > 2*time.Second {
		t.Errorf("failed after %s, want about 500ms", d)
	}
}

func TestDialCancelled(t *testing.T) {
	port := silentListener(t)
	cfg := offlineConfig(t, port)
	cfg.ConnectTimeout = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := Dial(ctx, cfg)
	require.ErrorIs(t, err, context.Canceled)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failed after %s, want at the cancel", d)
	}
}

func TestConnectionRefused(t *testing.T) {
	cfg := offlineConfig(t, freePort(t))
	_, err := Dial(context.Background(), cfg)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "connection refused") || errors.Is(err, os.ErrDeadlineExceeded), "got %v", err)
}
