// Package control is the daemon's local control socket: the way console commands (`vault pull
// --now`, `vault status`) reach the running daemon. There is no network listener of any kind.
//
// The socket is a unix stream socket at an absolute path. Two things keep strangers out:
//
//   - The file: it is mode 0600 from the moment it can be reached (Listen binds it inside a fresh
//     0700 directory, chmods it, then renames it into place; the process umask is never touched,
//     because it is process-wide and other goroutines create files too), and its directory must
//     be owned by root or the daemon's user and writable by nobody else. Connecting to a unix
//     socket needs write permission on it, so only its owner and root get through. The daemon
//     should therefore Listen after it has dropped to the vault user.
//   - The peer check, which is the real guard: before reading a byte, the server asks the kernel
//     who is on the other end (SO_PEERCRED on Linux, LOCAL_PEERCRED on FreeBSD) and answers
//     anyone but root and Server.AllowUIDs with "permission denied". On other systems it cannot
//     ask, so it refuses everyone.
//
// The protocol is one JSON Request and one JSON Response per connection, each followed by a
// newline. A request is at most 64 KiB and must arrive within 10 seconds; the response comes when
// the handler is done, however long that takes (a pull), and the client waits for it.
//
// When nothing listens on the socket, Call returns ErrNoDaemon, and callers read the state instead.
//
// The protocol has no version number: a request is known by its op, and a daemon that does not
// know an op answers "unknown request" (UnknownOp), which IsUnknownOp recognises, so a newer
// console can tell an older daemon apart from a failure and say so.
package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Request is what a console command asks of the daemon.
type Request struct {
	Op   string            `json:"op"`
	Jobs []string          `json:"jobs,omitempty"`
	Args map[string]string `json:"args,omitempty"`
}

// Response is the daemon's answer: OK with the handler's result in Body, or not OK with Error.
type Response struct {
	OK    bool            `json:"ok"`
	Error string          `json:"error,omitempty"`
	Body  json.RawMessage `json:"body,omitempty"`
}

// Peer is the process on the other end of a connection, as the kernel reports it at connect time:
// effective user and group ids and process id. GID and PID are for the logs; only UID decides.
// PID is 0 where the kernel does not say (FreeBSD before 13).
type Peer struct {
	UID, GID, PID int
}

// ErrNoDaemon means nothing answers on the control socket: it is missing, or stale (left by a
// daemon that is gone). Callers fall back to reading the state.
var ErrNoDaemon = errors.New("no daemon is running")

// DaemonError is a request the daemon received and answered with an error (Response.OK false).
type DaemonError struct {
	Msg string // the daemon's message, verbatim
}

func (e *DaemonError) Error() string { return "daemon: " + e.Msg }

// unknownPrefix starts the answer to an op the daemon does not know; every daemon since the
// first has answered so.
const unknownPrefix = "unknown request "

// UnknownOp is what a Handler returns for an op it does not know.
func UnknownOp(op string) error { return fmt.Errorf(unknownPrefix+"%q", op) }

// IsUnknownOp reports whether err is the daemon's answer to an op it does not know: a daemon
// older than the console, which a restart with the new binary brings up to date.
func IsUnknownOp(err error) bool {
	var de *DaemonError
	return errors.As(err, &de) && strings.HasPrefix(de.Msg, unknownPrefix)
}

const (
	// maxRequest is the largest request the server reads, in bytes.
	maxRequest = 64 << 10
	// maxResponse bounds what the client reads, so a broken daemon cannot exhaust it.
	maxResponse = 64 << 20
	// readTimeout is how long a client has to send its request once connected.
	readTimeout = 10 * time.Second
	// writeTimeout is how long the server waits for a client to take its response, counted from
	// when the handler has returned (never during it).
	writeTimeout = 10 * time.Second
	// maxConns is how many connections are served at once; more are answered "busy".
	maxConns = 32
	// maxPath is the longest socket path that fits a sockaddr_un on every supported system
	// (FreeBSD: 104 bytes with the NUL; Linux: 108).
	maxPath = 103
	// tempPattern names the 0700 directory Listen binds in, beside the socket; tempSuffix is the
	// most that adds to the directory's path: "/.control-" + at most 10 random digits + "/s".
	tempPattern = ".control-*"
	tempSuffix  = len("/.control-") + 10 + len("/s")
)
