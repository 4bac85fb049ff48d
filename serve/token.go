package serve

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/belltech/vault/zfs"
)

// A resume token is a compressed nvlist that the client can forge. It names
// the snapshot to send by toname and by toguid, and zfs sends the snapshot
// with that guid that it finds nearest toname: in toname's dataset first,
// then anywhere below each of its ancestors in turn (guid_to_name in
// libzfs_sendrecv.c). So toname alone proves little: Check decodes the token
// (resumetoken.go), requires toname under an allowed root and reads
// whether the send is raw, and then Serve asks zfs itself:
// `zfs send -n -P -t TOKEN` is a dry run that prints the token's contents,
// then one line with the names zfs resolved,
//
//	resume token contents:
//	nvlist version: 0
//		object = 0x1
//		...
//		toname = pool/fs@snap
//	full	pool/fs@snap	123456
//
// or "incremental<TAB>FROM<TAB>TO<TAB>SIZE" (-P is parsable and implies
// verbose; with -n the verbose output goes to stdout). Both toname and the
// resolved names must lie under an allowed root.
//
// The token's other strings are the client's too, and nvlist_print prints
// them raw; decodeToken refuses any that is not printable ASCII, and the
// output is read defensively all the same: it must
// start with the header, hold exactly one toname line and exactly one
// full/incremental line, and that line must be the last but for a
// "size<TAB>N" line that some versions of zfs print at the end.

// maxDryRunOutput bounds the dry run's output the gate reads: a real one is
// a few hundred bytes.
const maxDryRunOutput = 64 << 10

// tokenDryRun is the argv, after the zfs binary, of the dry run that
// verifies a resume token.
func tokenDryRun(token string) []string {
	return []string{"send", "-n", "-P", "-t", token}
}

// TokenRefused is the reason given for every resume token the gate does not
// serve, whatever the cause: a token it cannot read, whose snapshot is gone
// or lies outside the allowed roots, or that resumes a send that is not raw
// of an encrypted dataset. One answer for all, and never zfs's own words,
// keeps a forged token from telling which guids or names exist on the host.
// It says "cannot resume send", as zfs does, so that the vault aborts its
// partial receive and plans the dataset afresh. The log has the cause.
const TokenRefused = "resume token refused: cannot resume send (the source host's log says why)"

func tokenRefused(cause error) *RefusedError {
	return &RefusedError{Reason: TokenRefused, Detail: cause.Error()}
}

// verifyToken runs the dry run for token and checks what it names. It
// returns the snapshot the token sends; a *RefusedError ([TokenRefused]) if
// the dry run fails, names anything outside the allowed roots or cannot be
// read; or the error of a zfs that could not be run at all.
func (g *Gate) verifyToken(ctx context.Context, token string) (zfs.Snapshot, error) {
	out := &capWriter{max: maxDryRunOutput}
	argv := append([]string{g.zfsBin()}, tokenDryRun(token)...)
	if err := g.exec().Run(ctx, zfs.Cmd{Argv: argv, Stdout: out}); err != nil {
		var ee *zfs.ExitError
		if errors.As(err, &ee) {
			return zfs.Snapshot{}, tokenRefused(fmt.Errorf("the dry run failed (exit %d): %s", ee.Code, strings.TrimSpace(ee.Stderr)))
		}
		return zfs.Snapshot{}, fmt.Errorf("cannot verify resume token: %w", err)
	}
	if out.over {
		return zfs.Snapshot{}, tokenRefused(fmt.Errorf("the dry run printed more than %d bytes", maxDryRunOutput))
	}
	snap, err := g.checkTokenContents(out.buf.String())
	if err != nil {
		return zfs.Snapshot{}, tokenRefused(err)
	}
	return snap, nil
}

// checkTokenContents checks the output of the token dry run and returns the
// snapshot it sends. Its errors are for the log.
func (g *Gate) checkTokenContents(out string) (zfs.Snapshot, error) {
	const header = "resume token contents:\n"
	if !strings.HasPrefix(out, header) {
		return zfs.Snapshot{}, fmt.Errorf("the dry run did not print %q first", strings.TrimSuffix(header, "\n"))
	}
	var tonames, sends []string
	last := ""
	for line := range strings.Lines(out) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || isSizeLine(line) {
			continue
		}
		last = line
		if v, ok := strings.CutPrefix(strings.TrimLeft(line, " \t"), "toname = "); ok {
			tonames = append(tonames, v)
		}
		if strings.HasPrefix(line, "full\t") || strings.HasPrefix(line, "incremental\t") {
			sends = append(sends, line)
		}
	}
	if len(tonames) != 1 {
		return zfs.Snapshot{}, fmt.Errorf("the dry run printed %d toname lines, want 1", len(tonames))
	}
	if len(sends) != 1 || sends[0] != last {
		return zfs.Snapshot{}, fmt.Errorf("the dry run printed %d lines naming what it sends, want 1 as the last line", len(sends))
	}
	if _, err := g.tokenName("toname", tonames[0], false); err != nil {
		return zfs.Snapshot{}, err
	}
	f := strings.Split(last, "\t")
	switch {
	case f[0] == "full" && (len(f) == 2 || len(f) == 3):
		return g.tokenName("snapshot sent", f[1], false)
	case f[0] == "incremental" && (len(f) == 3 || len(f) == 4):
		if _, err := g.tokenName("incremental source", f[1], true); err != nil {
			return zfs.Snapshot{}, err
		}
		return g.tokenName("snapshot sent", f[2], false)
	}
	return zfs.Snapshot{}, fmt.Errorf("cannot read the dry run's line %s", quote(last))
}

// isSizeLine reports whether line is "size<TAB>DIGITS".
func isSizeLine(line string) bool {
	n, ok := strings.CutPrefix(line, "size\t")
	if !ok || n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return false
		}
	}
	return true
}

// tokenName checks one name from the token dry run: a snapshot (or, if
// bookmarkOK, a bookmark) under an allowed root. It returns the snapshot.
func (g *Gate) tokenName(what, name string, bookmarkOK bool) (zfs.Snapshot, error) {
	var ds zfs.Dataset
	var snap zfs.Snapshot
	if bookmarkOK && strings.IndexByte(name, '#') >= 0 {
		bm, err := zfs.ParseBookmark(name)
		if err != nil {
			return zfs.Snapshot{}, fmt.Errorf("%s: %v", what, err)
		}
		ds = bm.Dataset()
	} else {
		var err error
		if snap, err = zfs.ParseSnapshot(name); err != nil {
			return zfs.Snapshot{}, fmt.Errorf("%s: %v", what, err)
		}
		ds = snap.Dataset()
	}
	if !g.allowed(ds) {
		return zfs.Snapshot{}, fmt.Errorf("%s %s is not under an allowed root (%s)", what, quote(name), g.roots())
	}
	return snap, nil
}

// capWriter keeps the first max bytes written to it and notes whether there
// were more. It never fails, so the writer is not killed by EPIPE.
type capWriter struct {
	buf  bytes.Buffer
	max  int
	over bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room < len(p) {
		w.over = true
		w.buf.Write(p[:max(room, 0)])
		return len(p), nil
	}
	w.buf.Write(p)
	return len(p), nil
}

// VerifyResumeToken checks a resume token that someone else handed over, as the gate checks a
// client's: vault restore send resumes a cut restore from the receive_resume_token the host
// being restored reports, and that host may be the one an attacker holds. A forged token could
// otherwise make the vault send any snapshot of its pool, another client's too, found by guid.
// The token must decode strictly, its toname lie under g.Allow, and the snapshots a dry run
// (zfs send -n -P -t) resolves too. It returns the snapshot the token sends, or a
// *RefusedError whose Detail says why.
func (g *Gate) VerifyResumeToken(ctx context.Context, token string) (zfs.Snapshot, error) {
	if r := checkToken(token); r != "" {
		return zfs.Snapshot{}, tokenRefused(errors.New("resume token " + r))
	}
	t, err := decodeToken(token)
	if err == nil {
		_, err = g.tokenSnapshot(t)
	}
	if err != nil {
		return zfs.Snapshot{}, tokenRefused(err)
	}
	return g.verifyToken(ctx, token)
}
