// Package sshx is vault's SSH transport: one client connection per source
// host per run, with one session per command on it, so the puller runs the
// very same typed zfs commands on a source host as on the vault itself
// ([*Client] is a [zfs.Executor] and a [zfs.Starter]).
//
// What it does, and what it never does:
//
//   - Authentication is by one private key only (an unencrypted OpenSSH,
//     PEM or PKCS#8 ed25519, ecdsa or rsa key). No agent (SSH_AUTH_SOCK is
//     never read), no password, no keyboard-interactive. A key file that
//     group or others can access is refused, like OpenSSH does.
//   - Host keys are pinned in a known_hosts file. An unknown, changed or
//     revoked host key is refused with a [*HostKeyError] that names the
//     host, the offered fingerprint and the file (and line) to fix. There is
//     no trust on first use. The host key algorithms offered to the server
//     are restricted to the plain types pinned for that host, so that a
//     host with several keys proves the one we know.
//   - Host certificates are refused, all of them. A known_hosts file with a
//     @cert-authority line, or with a certificate (a *-cert-v01@openssh.com
//     key type) on any line, is refused as a whole before connecting, with
//     the file and line: pin each host's own keys. No certificate algorithm
//     is ever offered, and a certificate a server presents anyway is a
//     [*HostKeyError] (Certificate). @revoked lines of plain keys are
//     honoured: a key they name is refused even where it is pinned.
//   - No pty, no agent, port or X11 forwarding is ever requested, and the
//     channels a server may try to open towards us are refused.
//   - A command is an argv list. [shellword.Join] turns it into the one
//     string SSH carries; nothing else builds a command line. The remote
//     environment is the login's: vault sends no variables (sshd would
//     refuse them without AcceptEnv), so the remote side (`vault serve`)
//     must set LC_ALL=C itself.
//
// # Ciphers
//
// aes128-gcm@openssh.com, then aes256-gcm@openssh.com, then
// chacha20-poly1305@openssh.com, where the CPU accelerates AES-GCM (AES-NI
// and PCLMULQDQ, or ARMv8 AES and PMULL); chacha20-poly1305 first where it
// does not. In Go, on this project's x86-64 machines, chacha20-poly1305
// costs three times the CPU of AES-GCM per byte (see ciphers.go for the
// measurements). A CPU that has the instructions yet runs them slowly (qemu's
// software emulation does AES-GCM five times slower than chacha20) is caught
// by a millisecond's measurement at the first connection: a cipher at least
// twice as fast as the hardware check's choice goes first. Key exchange and
// MACs are x/crypto's defaults.
//
// # Throughput
//
// A bulk stream (zfs send) is read from the socket through a 256 KiB buffer
// (one read(2) per several packets) and copied to the caller's writer with
// a 1 MiB buffer, as is Process.Stdout through io.Copy. What remains is
// x/crypto/ssh's own cost: a goroutine hand-off, a 32 KiB allocation and
// two copies per packet. BenchmarkTransportVsOpenSSH compares it with
// OpenSSH's client; the garbage collector and the scheduler's hand-offs
// between Ps are a large part of it. TuneRuntime, which vault pull and vault
// daemon call, sets the GC target and one P per concurrent stream.
//
// # Timeouts and keepalives
//
// Three knobs, each with one job:
//
//   - ConnectTimeout bounds TCP connect plus the SSH handshake (version
//     exchange, key exchange, host key check and authentication). A port
//     that accepts TCP and never speaks SSH fails after it.
//   - Keepalive detects a dead peer or a dead path: every Keepalive, a
//     keepalive@openssh.com global request that wants a reply (any reply,
//     even "unsupported", proves the peer alive). After [KeepaliveMaxMissed]
//     intervals in a row without a reply the connection is closed, and every
//     command on it fails with [ErrConnectionLost]. Keepalives flow alongside
//     data (they are not flow-controlled), so they never hurt a transfer,
//     however long.
//   - IOTimeout detects a stalled command on a live peer: while at least one
//     session is open, if no payload byte (stdin, stdout or stderr of any
//     session) has moved in either direction for IOTimeout, the connection
//     is closed and its commands fail with [ErrConnectionLost]. It measures
//     idleness, not total time: a 10 GB send that streams for an hour is
//     never cut. Keepalive traffic does not count as activity, on purpose:
//     with it, a source whose zfs hangs on a suspended pool would keep the
//     pull waiting forever. So IOTimeout must exceed the longest silence of
//     a legitimate command (a sorted `zfs list` of a very large pool); the
//     configuration's default is 10 minutes. An idle connection with no
//     open session is never closed by it.
//
// Both are measured with a watchdog goroutine per connection; zero disables
// either. ConnectTimeout zero means [DefaultConnectTimeout].
//
// # Sessions
//
// OpenSSH's sshd allows 10 sessions per connection by default (MaxSessions);
// a Client opens at most [MaxSessions] at once and makes further commands
// wait for a free one (or for their context).
//
// Cancelling a command's context (or Process.Abort) sends the KILL signal
// on its session and closes the session; the command's error then wraps the
// context's error. OpenSSH's sshd honours the signal for a non-root login
// (it needs privilege separation, which sshd skips for root logins, as in
// this package's tests); otherwise the command gets EPIPE at its next write
// to the closed session, which ends a zfs send at once. Run and Wait do not
// wait more than 2 seconds after a kill for the host to close the session:
// they return, and the session's slot is freed when the host closes it.
package sshx
