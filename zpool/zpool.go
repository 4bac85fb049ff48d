package zpool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/belltech/vault/zfs"
)

// Zpool runs zpool subcommands through an Executor and parses their output.
type Zpool struct {
	// Bin is zpool's absolute path, such as "/sbin/zpool".
	Bin  string
	Exec zfs.Executor
	// Location is the time zone zpool prints its dates in: the TZ of Exec's environment.
	// zfs.Local's default environment has TZ=UTC; nil means UTC.
	Location *time.Location
}

// List runs `zpool list -Hp -o name,size,allocated,free,capacity,health,fragmentation`: every
// imported pool.
func (z *Zpool) List(ctx context.Context) ([]Pool, error) {
	out, err := z.output(ctx, z.listArgv())
	if err != nil {
		return nil, err
	}
	return ParseList(out)
}

func (z *Zpool) listArgv() []string {
	return []string{z.Bin, "list", "-H", "-p", "-o", ListColumns}
}

// Status runs one `zpool status -p POOL...` for the pools named, which must be imported (a
// pool zpool cannot open makes it fail), and parses it.
func (z *Zpool) Status(ctx context.Context, pools []string) ([]Status, error) {
	argv, err := z.statusArgv(pools)
	if err != nil {
		return nil, fmt.Errorf("cannot get the status of pools: %w", err)
	}
	out, err := z.output(ctx, argv)
	if err != nil {
		return nil, err
	}
	loc := z.Location
	if loc == nil {
		loc = time.UTC
	}
	st, err := ParseStatus(out, loc)
	if err != nil {
		return nil, err
	}
	for _, p := range pools {
		if !slices.ContainsFunc(st, func(s Status) bool { return s.Pool == p }) {
			return nil, fmt.Errorf("zpool status did not show pool %q", p)
		}
	}
	return st, nil
}

func (z *Zpool) statusArgv(pools []string) ([]string, error) {
	if len(pools) == 0 {
		return nil, errors.New("no pools")
	}
	argv := []string{z.Bin, "status", "-p"}
	for _, p := range pools {
		if err := CheckPoolName(p); err != nil {
			return nil, err
		}
		argv = append(argv, p)
	}
	return argv, nil
}

func (z *Zpool) output(ctx context.Context, argv []string) (*bytes.Buffer, error) {
	var out bytes.Buffer
	if err := z.Exec.Run(ctx, zfs.Cmd{Argv: argv, Stdout: &out}); err != nil {
		return nil, err
	}
	return &out, nil
}

// Health is what vault looks at on its pools: the listing of every pool and the status of the
// pools asked for (those that are imported).
type Health struct {
	Pools    []Pool
	Statuses []Status
}

// Look runs one `zpool list` and, for the pools of want that it lists, one `zpool status`:
// two commands whatever the number of pools. A pool of want that is not imported has no
// Status; the caller says so.
func (z *Zpool) Look(ctx context.Context, want []string) (Health, error) {
	pools, err := z.List(ctx)
	if err != nil {
		return Health{}, err
	}
	var imported []string
	for _, w := range want {
		if slices.ContainsFunc(pools, func(p Pool) bool { return p.Name == w }) && !slices.Contains(imported, w) {
			imported = append(imported, w)
		}
	}
	h := Health{Pools: pools}
	if len(imported) == 0 {
		return h, nil
	}
	if h.Statuses, err = z.Status(ctx, imported); err != nil {
		return Health{}, err
	}
	return h, nil
}
