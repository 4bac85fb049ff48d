package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Handler answers one request from an allowed peer. Its result is marshalled into Response.Body;
// its error becomes Response.Error verbatim, so it should read well at the console. ctx ends when
// the server stops, not when the client goes away: a pull that was asked for runs to its end.
type Handler func(ctx context.Context, peer Peer, req Request) (any, error)

// Server is the daemon's side of the control socket. Set the fields, then Listen, then Serve;
// Close (or the end of Serve's context) stops it and removes the socket.
type Server struct {
	Path string // absolute; its directory must be owned by root or this process's user, 0755 or tighter
	// AllowUIDs may use the socket besides root (0), which always may: the vault user. The
	// process's own uid is not added implicitly.
	AllowUIDs []int
	Handler   Handler
	Log       hclog.Logger // callers pass Log.Named("control"); nil means no logging

	mu     sync.Mutex
	ln     *net.UnixListener
	sock   os.FileInfo        // the socket Listen made: Close removes only that one
	cancel context.CancelFunc // ends the handlers' context; set by Serve
	closed bool
}

// probeTimeout bounds Listen's check for a server already answering on Path.
const probeTimeout = time.Second

func (s *Server) log() hclog.Logger {
	if s.Log == nil {
		return hclog.NewNullLogger()
	}
	return s.Log
}

// Listen creates the socket at Path, mode 0600 from the start. It refuses if Path exists and is
// not a socket, or if a server answers on it; a socket nobody answers on is stale and removed.
//
// The socket is bound inside a fresh 0700 directory beside Path, made 0600 there and renamed into
// place, so no other user can reach it at any moment, without changing the process-wide umask.
// Connecting needs write permission on the socket, so only its owner and root can: the daemon
// should Listen after dropping to the vault user. The peer check in Serve is the real guard.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("cannot listen on control socket %q: "+format, append([]any{s.Path}, args...)...)
	}
	switch {
	case s.ln != nil || s.closed:
		return fail("the server is already listening or closed")
	case s.Handler == nil:
		return fail("no handler")
	case !filepath.IsAbs(s.Path) || filepath.Clean(s.Path) != s.Path:
		return fail("the path must be absolute and clean")
	case len(s.Path) > maxPath:
		return fail("the path is longer than %d bytes", maxPath)
	}
	dir := filepath.Dir(s.Path)
	if len(dir)+tempSuffix > maxPath {
		return fail("the directory's path is longer than %d bytes", maxPath-tempSuffix)
	}
	if err := checkDir(dir); err != nil {
		return fail("%w", err)
	}
	if err := s.removeStale(); err != nil {
		return err
	}

	tmp, err := os.MkdirTemp(dir, tempPattern) // 0700
	if err != nil {
		return fail("%w", err)
	}
	defer os.RemoveAll(tmp)
	tmpSock := filepath.Join(tmp, "s")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmpSock, Net: "unix"})
	if err != nil {
		return fail("%w", err)
	}
	ln.SetUnlinkOnClose(false) // it is renamed away; Close removes it by its final name
	fi, err := place(tmpSock, s.Path)
	if err != nil {
		ln.Close()
		return fail("%w", err)
	}
	s.ln, s.sock = ln, fi
	s.log().Info("listening on the control socket", "path", s.Path, "allow_uids", s.AllowUIDs)
	return nil
}

// place makes the freshly bound socket tmp 0600 and renames it to path.
func place(tmp, path string) (os.FileInfo, error) {
	if err := os.Chmod(tmp, 0o600); err != nil {
		return nil, err
	}
	fi, err := os.Lstat(tmp)
	if err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return fi, nil
}

// checkDir refuses a socket directory that someone else could swap the socket in.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%q is not a directory", dir)
	}
	if perm := fi.Mode().Perm(); perm&0o022 != 0 {
		return fmt.Errorf("directory %q is writable by group or others (mode %04o): make it 0755 or tighter", dir, perm)
	}
	uid, ok := fileOwner(fi)
	if !ok {
		return fmt.Errorf("cannot tell who owns %q on %s", dir, runtime.GOOS)
	}
	if euid := os.Geteuid(); uid != 0 && uid != euid {
		return fmt.Errorf("directory %q is owned by uid %d, not root or this process's user (uid %d)", dir, uid, euid)
	}
	return nil
}

// removeStale clears the way at s.Path: nothing there, or a socket nobody answers on (removed).
func (s *Server) removeStale() error {
	fi, err := os.Lstat(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot listen on control socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("cannot listen on control socket %q: it exists and is not a socket (mode %s); remove it if nothing needs it", s.Path, fi.Mode())
	}
	c, err := net.DialTimeout("unix", s.Path, probeTimeout)
	if err == nil {
		c.Close()
		return fmt.Errorf("another daemon is listening on %s", s.Path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("cannot listen on control socket %q: cannot tell whether another daemon is listening on it: %w", s.Path, err)
	}
	if err := os.Remove(s.Path); err != nil {
		return fmt.Errorf("cannot remove stale control socket: %w", err)
	}
	s.log().Info("removed a stale control socket", "path", s.Path)
	return nil
}

// Serve accepts connections until ctx is done or Close is called, then waits for the handlers,
// whose context it cancels, and returns nil. The socket is removed when it stops.
func (s *Server) Serve(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.ln == nil && !s.closed:
		s.mu.Unlock()
		return errors.New("control: Serve called before Listen")
	case s.cancel != nil:
		s.mu.Unlock()
		return errors.New("control: Serve called twice")
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.cancel = cancel
	ln, closed := s.ln, s.closed
	s.mu.Unlock()
	if closed {
		return nil
	}

	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, maxConns)
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				s.log().Warn("cannot accept a control connection, retrying", "error", err)
				time.Sleep(100 * time.Millisecond)
				continue
			}
			s.Close()
			return fmt.Errorf("cannot accept on control socket %q: %w", s.Path, err)
		}
		wg.Go(func() { s.serveConn(hctx, c, sem) })
	}
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close stops accepting, cancels the handlers' context and removes the socket file (if it is
// still the one Listen made). It does not wait for handlers; Serve does.
func (s *Server) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.cancel != nil {
		s.cancel()
	}
	if s.ln == nil {
		return nil
	}
	s.ln.Close()
	fi, err := os.Lstat(s.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("cannot remove control socket: %w", err)
	case !os.SameFile(fi, s.sock):
		s.log().Warn("left the control socket path alone: it is no longer this server's socket", "path", s.Path)
		return nil
	}
	if err := os.Remove(s.Path); err != nil {
		return fmt.Errorf("cannot remove control socket: %w", err)
	}
	return nil
}

func (s *Server) allowed(uid int) bool {
	return uid == 0 || slices.Contains(s.AllowUIDs, uid)
}

// serveConn checks the peer, reads one request, runs the handler and writes one response.
func (s *Server) serveConn(ctx context.Context, c *net.UnixConn, sem chan struct{}) {
	defer c.Close()
	log := s.log()
	peer, err := peerCred(c)
	if err != nil {
		log.Warn("refused a control connection: cannot read peer credentials", "error", err)
		s.reply(c, Response{Error: "permission denied: cannot read peer credentials"})
		return
	}
	if !s.allowed(peer.UID) {
		log.Warn("refused a control connection", "uid", peer.UID, "gid", peer.GID, "pid", peer.PID)
		s.reply(c, Response{Error: fmt.Sprintf("permission denied: uid %d is not root or the vault user", peer.UID)})
		return
	}
	select {
	case sem <- struct{}{}:
		defer func() { <-sem }()
	default:
		log.Warn("refused a control connection: too many in progress", "uid", peer.UID, "pid", peer.PID, "limit", maxConns)
		s.reply(c, Response{Error: fmt.Sprintf("daemon busy: %d control requests in progress", maxConns)})
		return
	}

	req, err := readRequest(ctx, c)
	if errors.Is(err, io.EOF) {
		log.Debug("control connection closed without a request", "uid", peer.UID, "pid", peer.PID)
		return
	}
	if err != nil {
		log.Warn("bad control request", "uid", peer.UID, "pid", peer.PID, "error", err)
		s.reply(c, Response{Error: err.Error()})
		return
	}

	start := time.Now()
	resp := s.run(ctx, peer, req)
	kv := []any{"op", req.Op, "jobs", req.Jobs, "uid", peer.UID, "pid", peer.PID, "duration", time.Since(start).Round(time.Millisecond), "ok", resp.OK}
	if !resp.OK {
		kv = append(kv, "error", resp.Error)
	}
	log.Info("control request", kv...)
	if err := s.reply(c, resp); err != nil {
		log.Info("cannot send the control response: the client has gone", "op", req.Op, "pid", peer.PID, "error", err)
	}
}

// readRequest reads one JSON request of at most maxRequest bytes within readTimeout; it gives up
// at once when ctx ends. io.EOF means the client sent nothing at all.
func readRequest(ctx context.Context, c *net.UnixConn) (Request, error) {
	var req Request
	c.SetReadDeadline(time.Now().Add(readTimeout))
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	lr := &limitReader{r: c, n: maxRequest}
	dec := json.NewDecoder(lr)
	dec.DisallowUnknownFields()
	err := dec.Decode(&req)
	switch {
	case err == nil:
	case lr.hit:
		return req, fmt.Errorf("bad request: larger than %d bytes", maxRequest)
	case errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil:
		return req, errors.New("the daemon is stopping")
	case errors.Is(err, os.ErrDeadlineExceeded):
		return req, fmt.Errorf("bad request: none within %s", readTimeout)
	case err == io.EOF:
		return req, io.EOF
	default:
		return req, fmt.Errorf("bad request: %w", err)
	}
	if req.Op == "" {
		return req, errors.New("bad request: no op")
	}
	return req, nil
}

// limitReader is io.LimitReader that remembers whether the limit cut a read short.
type limitReader struct {
	r   io.Reader
	n   int64
	hit bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.hit = true
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// run calls the handler and turns what it returns into a Response.
func (s *Server) run(ctx context.Context, peer Peer, req Request) Response {
	res, err := s.Handler(ctx, peer, req)
	if err != nil {
		msg := err.Error()
		if msg == "" {
			msg = "failed"
		}
		return Response{Error: msg}
	}
	if res == nil {
		return Response{OK: true}
	}
	b, err := json.Marshal(res)
	if err != nil {
		return Response{Error: fmt.Sprintf("cannot encode the response to %q: %v", req.Op, err)}
	}
	return Response{OK: true, Body: b}
}

// reply writes resp and a newline. The deadline starts now, after the handler, never during it.
func (s *Server) reply(c *net.UnixConn, resp Response) error {
	b, err := json.Marshal(resp)
	if err != nil {
		return err
	}
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err = c.Write(append(b, '\n'))
	return err
}
