package sshx

import (
	"crypto/aes"
	"crypto/cipher"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/cpu"
)

// cipherOrder returns the ciphers vault offers, best first. The client's share
// of a bulk stream is decrypting it, so the first is the one this machine
// decrypts fastest: AES-GCM where the CPU has AES and carry-less multiply
// instructions, chacha20-poly1305 where it has not (software AES is slow
// and not constant-time), as Go's crypto/tls decides, unless a measurement
// at the first connection finds the other at least twice as fast (see
// orderCiphers). No CBC, no arcfour, no ctr: a source host whose sshd
// offers none of these three is refused.
//
// Measured with x/crypto/ssh receiving a bulk stream from OpenSSH's sshd on
// a Xeon with AES-NI, PCLMULQDQ and VAES: client CPU per GiB received,
// aes128-gcm 0.79s, aes256-gcm 0.82s, aes128-ctr (with its MAC) 1.45s,
// chacha20-poly1305 2.42s. OpenSSL on the same CPU does AES-128-GCM at
// 7.3 GB/s and ChaCha20-Poly1305 at 4.3 GB/s, so sshd prefers them in the
// same order. Under qemu's software emulation (the lab) the order turns:
// Go's AES-GCM decrypts at ~23 MB/s there, its chacha20 at ~150 MB/s.
//
// It measures once per process, at the first connection: about 0.1 ms on a
// CPU with AES instructions, ~20 ms under emulation.
var cipherOrder = sync.OnceValue(func() cipherChoice {
	a, c := measureDecrypt()
	return cipherChoice{Ciphers: orderCiphers(hasAESGCMHardware(), a, c), AESGCM: a, ChaCha20: c}
})

var (
	aesFirst    = []string{ssh.CipherAES128GCM, ssh.CipherAES256GCM, ssh.CipherChaCha20Poly1305}
	chachaFirst = []string{ssh.CipherChaCha20Poly1305, ssh.CipherAES128GCM, ssh.CipherAES256GCM}
)

// cipherChoice is the cipher order and the measurement it came from.
type cipherChoice struct {
	Ciphers []string
	// AESGCM and ChaCha20 are the measured decryption rates in MB/s.
	AESGCM, ChaCha20 float64
}

// orderCiphers puts first the cipher the hardware check prefers, unless the
// measured rates (MB/s) show the other at least twice as fast: a margin no
// scheduling hiccup during a millisecond's measurement fakes, and that the
// static choice misses only on CPUs that emulate or trap the instructions
// (qemu's software emulation measures AES-GCM 5x slower than chacha20). A
// failed measurement (a rate of 0) leaves the hardware check's order.
func orderCiphers(aesHardware bool, aesGCM, chacha float64) []string {
	measured := aesGCM > 0 && chacha > 0
	switch {
	case measured && aesHardware && chacha >= 2*aesGCM:
		return slices.Clone(chachaFirst)
	case measured && !aesHardware && aesGCM >= 2*chacha:
		return slices.Clone(aesFirst)
	case aesHardware:
		return slices.Clone(aesFirst)
	default:
		return slices.Clone(chachaFirst)
	}
}

func hasAESGCMHardware() bool {
	return cpu.X86.HasAES && cpu.X86.HasPCLMULQDQ || cpu.ARM64.HasAES && cpu.ARM64.HasPMULL
}

// measureDecrypt times what x/crypto/ssh does per full-size packet (32 KiB)
// with each cipher: AES-128-GCM Open, and the chacha20 key stream that
// dominates chacha20-poly1305 (poly1305 adds ~15%, well inside the 2x
// margin). Each is timed three times, interleaved; the fastest counts.
func measureDecrypt() (aesGCM, chacha float64) {
	const packet, packets = 32 << 10, 4
	buf := make([]byte, packet+16)
	key := make([]byte, 32)
	nonce := make([]byte, 12)
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		return 0, 0
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return 0, 0
	}
	sealed := gcm.Seal(nil, nonce, buf[:packet], nil)
	openAES := func() {
		for range packets {
			_, _ = gcm.Open(buf[:0], nonce, sealed, nil)
		}
	}
	openChaCha := func() {
		for range packets {
			s, err := chacha20.NewUnauthenticatedCipher(key, nonce)
			if err != nil {
				return
			}
			s.XORKeyStream(buf[:packet], buf[:packet])
		}
	}
	best := func(f func(), prev time.Duration) time.Duration {
		start := time.Now()
		f()
		return min(prev, time.Since(start))
	}
	ta, tc := time.Hour, time.Hour
	for range 3 {
		ta = best(openAES, ta)
		tc = best(openChaCha, tc)
	}
	rate := func(d time.Duration) float64 { return packet * packets / max(d, time.Nanosecond).Seconds() / 1e6 }
	return rate(ta), rate(tc)
}
