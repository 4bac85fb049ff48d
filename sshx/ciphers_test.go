package sshx

import (
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

func TestOrderCiphers(t *testing.T) {
	const aes, chacha = ssh.CipherAES128GCM, ssh.CipherChaCha20Poly1305
	for _, tc := range []struct {
		name         string
		aesHW        bool
		aesGCM, cc20 float64 // measured MB/s
		first        string
	}{
		{"AES instructions, AES faster (a real x86 or arm64 CPU)", true, 8000, 2500, aes},
		{"AES instructions, chacha a little faster: the hardware check stands", true, 100, 150, aes},
		{"AES instructions, chacha twice as fast (qemu's software emulation)", true, 23, 150, chacha},
		{"no AES instructions, chacha faster", false, 40, 900, chacha},
		{"no AES instructions, AES a little faster: the hardware check stands", false, 150, 100, chacha},
		{"no AES instructions, AES twice as fast", false, 400, 150, aes},
		{"measurement failed: the hardware check stands", true, 0, 0, aes},
		{"measurement failed without AES instructions", false, 0, 0, chacha},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := orderCiphers(tc.aesHW, tc.aesGCM, tc.cc20)
			require.Equal(t, tc.first, got[0])
			require.ElementsMatch(t, []string{ssh.CipherAES128GCM, ssh.CipherAES256GCM, ssh.CipherChaCha20Poly1305}, got)
		})
	}
}

func TestOrderCiphersDoesNotShareItsSlice(t *testing.T) {
	a := orderCiphers(true, 1, 0)
	a[0] = "edited"
	require.Equal(t, ssh.CipherAES128GCM, orderCiphers(true, 1, 0)[0])
}

func TestMeasureDecryptMeasuresBoth(t *testing.T) {
	a, c := measureDecrypt()
	require.Greater(t, a, 0.0)
	require.Greater(t, c, 0.0)
	t.Logf("this machine decrypts AES-128-GCM at %.0f MB/s and chacha20 at %.0f MB/s: %v", a, c, orderCiphers(hasAESGCMHardware(), a, c))
}
