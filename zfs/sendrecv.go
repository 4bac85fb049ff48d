package zfs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SendOptions describes one zfs send. Exactly one of Snapshot (with an optional incremental
// source) or Token is set.
type SendOptions struct {
	// Snapshot is what to send.
	Snapshot Snapshot
	// FromSnapshot or FromBookmark makes the send incremental; they must belong to Snapshot's
	// dataset. Intermediates selects -I (every snapshot between) over -i.
	FromSnapshot  Snapshot
	FromBookmark  Bookmark
	Intermediates bool
	// Raw sends encrypted datasets as they are on disk (-w): an encrypted source never lands
	// decrypted.
	Raw bool
	// Token resumes an interrupted receive (-t).
	Token string
	// DryRun estimates the stream's size without sending (-n -P).
	DryRun bool
}

// SendCmd builds `zfs send [-n -P] -L -c [-w] [-i|-I FROM] SNAP` or `zfs send [-n -P] -t TOKEN`.
// Large blocks (-L) and compressed records (-c) are always kept as they are on the source.
// The caller sets Stdout, or starts it to read the stream.
func (z *ZFS) SendCmd(o SendOptions) (Cmd, error) {
	argv, err := z.sendArgv(o)
	if err != nil {
		return Cmd{}, fmt.Errorf("cannot send: %w", err)
	}
	return Cmd{Argv: argv}, nil
}

func (z *ZFS) sendArgv(o SendOptions) ([]string, error) {
	args := []string{"send"}
	if o.DryRun {
		args = append(args, "-n", "-P")
	}
	if o.Token != "" {
		if !o.Snapshot.IsZero() || !o.FromSnapshot.IsZero() || !o.FromBookmark.IsZero() || o.Raw {
			return nil, errors.New("a resume token carries the whole send: give nothing else")
		}
		if err := CheckResumeToken(o.Token); err != nil {
			return nil, err
		}
		return z.argv(append(args, "-t", o.Token)...)
	}
	if o.Snapshot.IsZero() {
		return nil, errors.New("no snapshot to send")
	}
	args = append(args, "-L", "-c")
	if o.Raw {
		args = append(args, "-w")
	}
	from := ""
	switch {
	case !o.FromSnapshot.IsZero() && !o.FromBookmark.IsZero():
		return nil, errors.New("an incremental send has one source, not a snapshot and a bookmark")
	case !o.FromSnapshot.IsZero():
		if o.FromSnapshot.Dataset() != o.Snapshot.Dataset() {
			return nil, fmt.Errorf("incremental source %q is not of %q", o.FromSnapshot, o.Snapshot.Dataset())
		}
		from = o.FromSnapshot.String()
	case !o.FromBookmark.IsZero():
		if o.FromBookmark.Dataset() != o.Snapshot.Dataset() {
			return nil, fmt.Errorf("incremental source %q is not of %q", o.FromBookmark, o.Snapshot.Dataset())
		}
		if o.Intermediates {
			return nil, errors.New("-I cannot start at a bookmark")
		}
		from = o.FromBookmark.String()
	}
	if from != "" {
		flag := "-i"
		if o.Intermediates {
			flag = "-I"
		}
		args = append(args, flag, from)
	}
	return z.argv(append(args, o.Snapshot.String())...)
}

// CheckResumeToken accepts what zfs prints as receive_resume_token: a version digit, a dash,
// then hex digits and dashes.
func CheckResumeToken(tok string) error {
	if len(tok) < 3 || len(tok) > 8192 || tok[0] < '0' || tok[0] > '9' || tok[1] != '-' {
		return fmt.Errorf("resume token %s is not one zfs makes", quoteTrunc(tok, 40))
	}
	for i := 2; i < len(tok); i++ {
		c := tok[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c == '-') {
			return fmt.Errorf("resume token %s has %q at byte %d", quoteTrunc(tok, 40), c, i)
		}
	}
	return nil
}

// PropSetting is one -o property=value of a receive.
type PropSetting struct{ Name, Value string }

// ReceiveOptions describes one zfs receive. There is deliberately no way to ask for -F: the
// vault never rolls back or destroys to make a stream fit.
type ReceiveOptions struct {
	// Target is the dataset the stream lands in; the vault always names it itself.
	Target Dataset
	// Set and Exclude apply -o and -x (used on the first full receive of a dataset).
	Set     []PropSetting
	Exclude []string
	// NotResumable leaves out -s: a failed receive then leaves nothing behind (imports from
	// media, which are all or nothing, use it).
	NotResumable bool
}

// ReceiveCmd builds `zfs receive -s -u [-o p=v]... [-x p]... TARGET`: resumable (-s, unless
// NotResumable) and never mounted (-u; an unprivileged receive cannot mount on Linux anyway).
func (z *ZFS) ReceiveCmd(o ReceiveOptions) (Cmd, error) {
	argv, err := z.receiveArgv(o)
	if err != nil {
		return Cmd{}, fmt.Errorf("cannot receive: %w", err)
	}
	return Cmd{Argv: argv}, nil
}

func (z *ZFS) receiveArgv(o ReceiveOptions) ([]string, error) {
	if o.Target.IsZero() {
		return nil, errors.New("no target dataset")
	}
	args := []string{"receive", "-s", "-u"}
	if o.NotResumable {
		args = []string{"receive", "-u"}
	}
	for _, p := range o.Set {
		if err := CheckPropertyName(p.Name); err != nil {
			return nil, err
		}
		if strings.ContainsAny(p.Value, "\x00\n") || len(p.Value) > MaxPropValueLen {
			return nil, fmt.Errorf("property %s value %s is not allowed", p.Name, quoteTrunc(p.Value, 40))
		}
		args = append(args, "-o", p.Name+"="+p.Value)
	}
	for _, p := range o.Exclude {
		if err := CheckPropertyName(p); err != nil {
			return nil, err
		}
		args = append(args, "-x", p)
	}
	return z.argv(append(args, o.Target.String())...)
}

// AbortReceive discards the partial state of an interrupted resumable receive into ds
// (`zfs receive -A`), for a resume token the source can no longer serve.
func (z *ZFS) AbortReceive(ctx context.Context, ds Dataset) error {
	argv, err := z.argv("receive", "-A", ds.String())
	if err != nil {
		return err
	}
	return z.run(ctx, argv)
}

// SendSize runs the dry run of o (DryRun is forced) and returns zfs's estimate of the stream's
// size in bytes.
func (z *ZFS) SendSize(ctx context.Context, o SendOptions) (int64, error) {
	o.DryRun = true
	argv, err := z.sendArgv(o)
	if err != nil {
		return 0, fmt.Errorf("cannot estimate a send: %w", err)
	}
	out, err := z.output(ctx, argv)
	if err != nil {
		return 0, err
	}
	return ParseSendSize(out.Bytes())
}

// ParseSendSize reads the "size" line of `zfs send -n -P` output.
func ParseSendSize(out []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) == 2 && f[0] == "size" {
			n, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("zfs send -n -P printed a bad size line %q", sc.Text())
			}
			return n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("zfs send -n -P printed no size line in %s", quoteTrunc(string(out), 200))
}
