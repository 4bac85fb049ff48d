package sshx

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// hostCert makes a host certificate for key, signed by a fresh CA, and
// returns it with the CA's public key.
func hostCert(t testing.TB, key ssh.PublicKey) (*ssh.Certificate, ssh.PublicKey) {
	t.Helper()
	_, caPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ca, err := ssh.NewSignerFromKey(caPriv)
	require.NoError(t, err)
	cert := &ssh.Certificate{Key: key, CertType: ssh.HostCert, KeyId: "host05",
		ValidPrincipals: []string{"127.0.0.1"}, ValidBefore: ssh.CertTimeInfinity}
	require.NoError(t, cert.SignCert(rand.Reader, ca))
	return cert, ca.PublicKey()
}

// TestKnownHostsCertificatesRefused: a known_hosts file with a
// @cert-authority line, or a certificate pinned as a host key, is refused
// as a whole before any connection, naming the file and the line.
func TestKnownHostsCertificatesRefused(t *testing.T) {
	key := goKey(t, filepath.Join(t.TempDir(), "host"), 0o600)
	cert, ca := hostCert(t, key)
	plain := "host05 " + string(ssh.MarshalAuthorizedKey(key))
	for _, tc := range []struct {
		name, file, want string
	}{
		{"@cert-authority", "# pinned\n" + plain + "\n  @cert-authority *.example.com " + string(ssh.MarshalAuthorizedKey(ca)),
			":4: @cert-authority lines are not supported: vault accepts no host certificates"},
		{"@cert-authority for another host", "@cert-authority other " + string(ssh.MarshalAuthorizedKey(ca)) + plain,
			":1: @cert-authority lines are not supported"},
		{"a certificate pinned", plain + "host05 " + string(ssh.MarshalAuthorizedKey(cert)),
			":2: ssh-ed25519-cert-v01@openssh.com is a certificate: vault accepts no host certificates"},
		{"a certificate revoked", "@revoked * " + string(ssh.MarshalAuthorizedKey(cert)),
			":1: ssh-ed25519-cert-v01@openssh.com is a certificate"},
	} {
		cfg := offlineConfig(t, freePort(t))
		require.NoError(t, os.WriteFile(cfg.KnownHostsFile, []byte(tc.file), 0o644))
		_, err := Dial(context.Background(), cfg)
		if err == nil || !strings.Contains(err.Error(), cfg.KnownHostsFile+tc.want) {
			t.Errorf("%s: got %v, want an error with %q", tc.name, err, cfg.KnownHostsFile+tc.want)
		}
	}

	// @revoked lines of plain keys are fine, and honoured
	// (TestRevokedHostKeyRefused).
	cfg := offlineConfig(t, freePort(t))
	require.NoError(t, os.WriteFile(cfg.KnownHostsFile, []byte(plain+"@revoked * "+string(ssh.MarshalAuthorizedKey(ca))), 0o644))
	_, err := loadHostKeys(cfg.KnownHostsFile, "host05:22")
	require.NoError(t, err)
}

// TestCertificateHostKeyRefused: the host key callback refuses a
// certificate, even one of the pinned key or signed by a CA knownhosts
// would trust.
func TestCertificateHostKeyRefused(t *testing.T) {
	dir := t.TempDir()
	key := goKey(t, filepath.Join(dir, "host"), 0o600)
	cert, _ := hostCert(t, key)
	file := filepath.Join(dir, "known_hosts")
	writeKnownHosts(t, file, "host05", key)
	hk, err := loadHostKeys(file, "host05:22")
	require.NoError(t, err)
	remote := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 5), Port: 22}
	require.NoError(t, hk.callback("host05:22", remote, key), "the plain key is pinned")

	err = hk.callback("host05:22", remote, cert)
	var he *HostKeyError
	require.ErrorAs(t, err, &he)
	require.True(t, he.Certificate)
	require.Equal(t, "ssh-ed25519-cert-v01@openssh.com", he.KeyType)
	require.Equal(t, ssh.FingerprintSHA256(key), he.Fingerprint)
	require.ErrorContains(t, err, `host key of "host05:22" is a certificate (ssh-ed25519-cert-v01@openssh.com, of the key `+he.Fingerprint+"): vault accepts no host certificates")
}

// TestHostKeyAlgorithmsOfferNoCertificates: whatever is pinned, the client
// offers no certificate algorithm.
func TestHostKeyAlgorithmsOfferNoCertificates(t *testing.T) {
	dir := t.TempDir()
	key := goKey(t, filepath.Join(dir, "host"), 0o600)
	file := filepath.Join(dir, "known_hosts")
	for _, pinned := range [][]ssh.PublicKey{nil, {key}} {
		writeKnownHosts(t, file, "host05", pinned...)
		hk, err := loadHostKeys(file, "host05:22")
		require.NoError(t, err)
		algos := hk.algorithms()
		require.NotEmpty(t, algos)
		for _, a := range algos {
			if isCertAlgo(a) || strings.Contains(a, "cert") {
				t.Errorf("pinned %d keys: offers %q", len(pinned), a)
			}
		}
	}
	for _, a := range []string{ssh.CertAlgoED25519v01, ssh.CertAlgoECDSA256v01, ssh.CertAlgoRSASHA512v01, ssh.CertAlgoRSAv01} {
		if !isCertAlgo(a) {
			t.Errorf("isCertAlgo(%q) = false", a)
		}
	}
}

// TestServerWithOnlyACertificateRefused: a server that can prove its host
// key only with a certificate finds no common algorithm.
func TestServerWithOnlyACertificateRefused(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	signer, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	cert, _ := hostCert(t, signer.PublicKey())
	certSigner, err := ssh.NewCertSigner(cert, signer)
	require.NoError(t, err)
	srv := &ssh.ServerConfig{NoClientAuth: true}
	srv.AddHostKey(certSigner)

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _, _, _ = ssh.NewServerConn(c, srv)
			}()
		}
	}()

	cfg := offlineConfig(t, l.Addr().(*net.TCPAddr).Port)
	writeKnownHosts(t, cfg.KnownHostsFile, fmt.Sprintf("[127.0.0.1]:%d", cfg.Port), signer.PublicKey())
	_, err = Dial(context.Background(), cfg)
	var he *HostKeyError
	require.ErrorAs(t, err, &he)
	require.ErrorContains(t, err, "offers none of the pinned key types (ssh-ed25519)")
}

// withHostCertificate gives the test sshd a certificate for its ed25519
// host key, signed by a CA whose public key it returns through ca.
func withHostCertificate(ca *ssh.PublicKey) func(testing.TB, *testSSHD) string {
	return func(t testing.TB, s *testSSHD) string {
		caFile := filepath.Join(s.Dir, "ca")
		*ca = keygen(t, caFile, "ed25519")
		out, err := exec.Command("ssh-keygen", "-q", "-s", caFile, "-I", "host", "-h", "-n", "127.0.0.1",
			filepath.Join(s.Dir, "host_ed25519.pub")).CombinedOutput()
		require.NoError(t, err, "ssh-keygen: %s", out)
		return "HostCertificate " + filepath.Join(s.Dir, "host_ed25519-cert.pub") + "\n"
	}
}

// TestOpenSSHHostCertificateNotUsed: OpenSSH's sshd with a host
// certificate. Pinned, its plain key connects (the client never asks for
// the certificate, which the callback would refuse); its CA cannot be
// trusted; and its plain key under @cert-authority, which knownhosts
// would take for a pinned key, is refused.
func TestOpenSSHHostCertificateNotUsed(t *testing.T) {
	var ca ssh.PublicKey
	s := startSSHD(t, withHostCertificate(&ca))
	host := fmt.Sprintf("[127.0.0.1]:%d", s.Port)

	cfg := s.config()
	cfg.KnownHostsFile = filepath.Join(t.TempDir(), "known_hosts")
	writeKnownHosts(t, cfg.KnownHostsFile, host, s.HostKeys[ssh.KeyAlgoED25519])
	c := dial(t, cfg)
	require.NoError(t, c.Close())

	for _, key := range []ssh.PublicKey{ca, s.HostKeys[ssh.KeyAlgoED25519]} {
		line := "@cert-authority " + host + " " + string(ssh.MarshalAuthorizedKey(key))
		require.NoError(t, os.WriteFile(cfg.KnownHostsFile, []byte(line), 0o644))
		_, err := Dial(context.Background(), cfg)
		require.ErrorContains(t, err, cfg.KnownHostsFile+":1: @cert-authority lines are not supported")
	}
}
