package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"syscall"
	"time"
)

// Call sends req to the daemon listening on path and waits for its response, however long the
// handler takes, or until ctx ends. The response's body is unmarshalled into body (unless body is
// nil). A missing or stale socket gives an error that is ErrNoDaemon; an answer that is not OK
// gives a *DaemonError with the daemon's message.
func Call(ctx context.Context, path string, req Request, body any) error {
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("cannot encode the request to the daemon: %w", err)
	}
	if len(b) > maxRequest {
		return fmt.Errorf("cannot send the request to the daemon: %d bytes, more than %d", len(b), maxRequest)
	}

	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w: nothing answers on %s", ErrNoDaemon, path)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("cannot connect to the daemon: %w (run this as root or the vault user)", err)
	default:
		return fmt.Errorf("cannot connect to the daemon: %w", err)
	}
	uc := c.(*net.UnixConn)
	defer uc.Close()
	stop := context.AfterFunc(ctx, func() { uc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	// A refused or oversized request may be answered and the connection closed before it is all
	// written: a failed write is reported only if no response can be read after it.
	_, werr := uc.Write(append(b, '\n'))
	if werr == nil {
		uc.CloseWrite()
	}
	var resp Response
	if err := json.NewDecoder(io.LimitReader(uc, maxResponse)).Decode(&resp); err != nil {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("cannot get an answer from the daemon: %w", context.Cause(ctx))
		case werr != nil:
			return fmt.Errorf("cannot send the request to the daemon: %w", werr)
		default:
			return fmt.Errorf("cannot read the daemon's response: %w", err)
		}
	}
	if !resp.OK {
		return &DaemonError{Msg: resp.Error}
	}
	if body != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, body); err != nil {
			return fmt.Errorf("cannot decode the daemon's response to %q: %w", req.Op, err)
		}
	}
	return nil
}
