package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/belltech/vault/zfs"
	"github.com/hashicorp/go-hclog"
)

// Exit statuses of Serve besides zfs's own.
const (
	ExitRefused = 2 // the gate refused the command; nothing ran
	ExitFailure = 1 // zfs could not be run, or was killed
)

// maxLogCmdline bounds how much of a command line, or of zfs's stderr, goes
// in the log.
const maxLogCmdline = 512

// Serve checks cmdline, runs it if the gate accepts it, and returns the exit
// status for vault serve: zfs's own, or [ExitRefused] with one line
// "vault serve: refused: REASON" on stderr. zfs reads stdin and writes
// stdout directly (pass the process's own files: a send stream is not
// copied or buffered); what it writes on stderr reaches stderr when it
// fails. Serve writes nothing to stdout itself.
func (g *Gate) Serve(ctx context.Context, cmdline string, stdin io.Reader, stdout, stderr io.Writer) int {
	log := g.Log
	if log == nil {
		log = hclog.NewNullLogger()
	}
	c, err := g.check(cmdline)
	if err == nil {
		err = g.verify(ctx, c)
	}
	if err != nil {
		var re *RefusedError
		if errors.As(err, &re) {
			args := []any{"cmdline", logSafe(cmdline), "reason", re.Reason}
			if re.Detail != "" {
				args = append(args, "detail", logSafe(re.Detail))
			}
			log.Warn("refused", args...)
			fmt.Fprintf(stderr, "vault serve: %v\n", re)
			return ExitRefused
		}
		log.Error("cannot check the command", "cmdline", logSafe(cmdline), "error", err)
		fmt.Fprintf(stderr, "vault serve: %v\n", err)
		return ExitFailure
	}
	log.Info("accepted", "argv", c.argv)
	start := time.Now()
	err = g.exec().Run(ctx, zfs.Cmd{Argv: c.argv, Stdin: stdin, Stdout: stdout})
	d := time.Since(start).Round(time.Millisecond)
	var ee *zfs.ExitError
	switch {
	case err == nil:
		log.Info("done", "argv", c.argv, "duration", d)
		return 0
	case errors.As(err, &ee):
		log.Warn("zfs failed", "argv", c.argv, "duration", d, "exit", ee.Code, "signal", ee.Signal, "stderr", logSafe(ee.Stderr))
		io.WriteString(stderr, ee.Stderr)
		return exitCode(ee)
	default:
		log.Error("cannot run zfs", "argv", c.argv, "error", err)
		fmt.Fprintf(stderr, "vault serve: %v\n", err)
		return ExitFailure
	}
}

// verify makes the checks of an accepted command that need zfs: the dry
// run of a resume token, and the encryption of what a send that is not raw
// would send. Its refusals come before anything is sent.
func (g *Gate) verify(ctx context.Context, c *command) error {
	if c.token != "" {
		snap, err := g.verifyToken(ctx, c.token)
		if err != nil {
			return err
		}
		if !c.resume.raw {
			c.plain = snap.Dataset()
		}
	}
	if c.plain.IsZero() {
		return nil
	}
	enc, err := g.encryption(ctx, c.plain)
	switch {
	case err != nil && c.token != "":
		return tokenRefused(err)
	case err != nil:
		return &RefusedError{Reason: fmt.Sprintf("cannot tell whether %s is encrypted, so it is not sent (the source host's log says why)", quote(c.plain.String())), Detail: err.Error()}
	case enc == "off":
		return nil
	case c.token != "":
		return tokenRefused(fmt.Errorf("the token resumes a send that is not raw of %q, which is encrypted (encryption=%s)", c.plain, enc))
	}
	return refusef("%s is encrypted (encryption=%s): it is sent raw only (zfs send -w), never decrypted", quote(c.plain.String()), enc)
}

// encryption returns the encryption property of ds: "off", or the cipher.
func (g *Gate) encryption(ctx context.Context, ds zfs.Dataset) (string, error) {
	z := &zfs.ZFS{Bin: g.zfsBin(), Exec: g.exec()}
	props, err := z.Get(ctx, []string{"encryption"}, ds)
	if err != nil {
		var ee *zfs.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("zfs get encryption %s failed (exit %d): %s", ds, ee.Code, strings.TrimSpace(ee.Stderr))
		}
		return "", err
	}
	for _, p := range props {
		if p.Name == ds.String() && p.Property == "encryption" {
			return p.Value, nil
		}
	}
	return "", fmt.Errorf("zfs get encryption %s printed no value for it", ds)
}

func (g *Gate) exec() zfs.Executor {
	if g.Exec == nil {
		return &zfs.Local{}
	}
	return g.Exec
}

// exitCode is the status to exit with for a failed zfs.
func exitCode(ee *zfs.ExitError) int {
	if ee.Code <= 0 || ee.Code > 255 {
		return ExitFailure
	}
	return ee.Code
}

// logSafe makes s, text from the client or from zfs, fit one log line: cut
// to maxLogCmdline bytes, with backslashes, newlines and carriage returns
// escaped (hclog escapes other control characters itself, but writes a
// value with a newline over several lines).
func logSafe(s string) string {
	if len(s) > maxLogCmdline {
		s = s[:maxLogCmdline] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return logEscaper.Replace(s)
}

var logEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`)
