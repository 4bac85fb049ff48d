package puller

// What a pull keeps for a restore: the properties the source set locally on each dataset
// (package props), read with one zfs get per run, whatever the number of datasets, and never
// applied to the vault's copy. Reading them is a side job: a source that cannot or will not
// answer (a vault serve older than this vault refuses the zfs get) costs a warning, never the
// pull.

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/belltech/vault/props"
	"github.com/belltech/vault/zfs"
)

// MaxPropsOutput bounds what the source's zfs get may print: far more than any real tree's local
// properties (about 100 bytes a property), so that a hostile source cannot fill the vault's
// memory with it.
const MaxPropsOutput = 16 << 20

// propsRead is the outcome of the run's zfs get.
type propsRead struct {
	got     map[zfs.Dataset]props.Set
	skipped []string
	err     error
}

// startProps runs the zfs get of the job's local properties on the source in the background,
// beside the run's streams, and returns the function that waits for it.
func (p *Puller) startProps(ctx context.Context, job *Job) func() propsRead {
	done := make(chan propsRead, 1)
	go func() {
		var r propsRead
		r.got, r.skipped, r.err = p.readProps(ctx, job)
		done <- r
	}()
	return func() propsRead { return <-done }
}

// readProps runs zfs get (props.GetArgs) on the job's roots, with -r for a recursive job, and
// parses what it prints.
func (p *Puller) readProps(ctx context.Context, job *Job) (map[zfs.Dataset]props.Set, []string, error) {
	z := p.Source.ZFS
	if z == nil || z.Exec == nil {
		return nil, nil, errors.New("no source to ask")
	}
	argv := append([]string{z.Bin}, props.GetArgs...)
	if job.Recursive {
		argv = append(argv, "-r")
	}
	for _, r := range job.Roots {
		argv = append(argv, r.String())
	}
	out := &limitedBuffer{max: MaxPropsOutput}
	if err := z.Exec.Run(ctx, zfs.Cmd{Argv: argv, Stdout: out}); err != nil {
		return nil, nil, err
	}
	return props.Parse(out.buf.Bytes(), job.Roots)
}

// keepProps gives the properties of the datasets r says this run pulled or found up to date, by
// source name: what was read for each, or an empty set for one with no local property. It
// logs the properties the parser did not keep at debug, and a failed read once, as a warning
// naming the source host and the fix; then it returns nil, and nothing is recorded.
func (p *Puller) keepProps(job *Job, r *Report, read propsRead) map[zfs.Dataset]props.Set {
	log := p.log().With("job", job.Name)
	if read.err != nil {
		host := job.Host
		if host == "" {
			host = "the source host"
		}
		log.Warn(fmt.Sprintf("cannot read the properties the source set locally: this run records none for a restore "+
			"(a vault serve older than this vault refuses the zfs get: update vault on %s)", host), "error", read.err)
		return nil
	}
	for _, s := range read.skipped {
		log.Debug("property not kept for a restore", "skipped", s) // "dataset: why"
	}
	kept := map[zfs.Dataset]props.Set{}
	for _, d := range r.Datasets {
		if d.Outcome != OK && d.Outcome != UpToDate {
			continue
		}
		s := read.got[d.Source]
		if s == nil {
			s = props.Set{}
		}
		kept[d.Source] = s
	}
	return kept
}

// limitedBuffer keeps what is written to it and refuses to grow past max bytes. It has no other
// method (no ReadFrom or WriteString, which io.Copy and io.WriteString would call instead of
// Write), so every byte passes the bound.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if b.buf.Len()+len(p) > b.max {
		return 0, fmt.Errorf("zfs get printed more than %d bytes", b.max)
	}
	return b.buf.Write(p)
}
