// Package prunework is the line protocol between the vault daemon, which talks to the network,
// and its prune worker, which destroys and never reaches the network (issue 14, append-only
// pulls). The daemon's root phase starts the worker in a new network namespace; the worker drops
// to prune_user and answers one JSON request per line with one JSON response per line.
//
// The worker trusts nothing in a request but the choice of job and of a dry run: the rules,
// the job's target and the clock are its own (its configuration, read as root before it
// dropped, and time.Now). What a request may add are reasons to keep more: freezes, by
// dataset, which the daemon's state knows (a failed pull, an alarm). A compromised daemon can
// make the worker keep, never destroy what the worker's own rules would keep.
package prunework

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/belltech/vault/prune"
	"github.com/belltech/vault/zfs"
)

// MaxLine bounds one request or response line.
const MaxLine = 16 << 20

// The operations.
const (
	OpPrune = "prune" // plan (dry) or prune one job's target
	OpAbort = "abort" // zfs receive -A on a dataset of a job's target with a resume token
)

// Request is one line from the daemon.
type Request struct {
	Op  string `json:"op"`
	Job string `json:"job"`
	Dry bool   `json:"dry,omitempty"`
	// Freezes are the daemon's reasons to keep everything in a dataset (by target dataset).
	Freezes map[string]string `json:"freezes,omitempty"`
	// Target is the dataset whose partial receive OpAbort aborts.
	Target string `json:"target,omitempty"`
}

// The bounds of what a request may carry.
const (
	maxJob     = 64
	maxFreezes = 100000
	maxReason  = 512
)

// DecodeRequest reads one request line strictly: known fields only, a known op, a job name, and
// freezes and a target that are dataset names. Whatever it returns is safe to act on; what it
// refuses gets one generic error naming the problem.
func DecodeRequest(line []byte) (Request, error) {
	var r Request
	if len(line) > MaxLine {
		return r, fmt.Errorf("prune request: %d bytes, more than %d", len(line), MaxLine)
	}
	if !utf8.Valid(line) {
		return r, errors.New("prune request: not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Request{}, fmt.Errorf("prune request: %w", err)
	}
	if dec.More() {
		return Request{}, errors.New("prune request: more than one value on the line")
	}
	switch {
	case r.Op != OpPrune && r.Op != OpAbort:
		return Request{}, fmt.Errorf("prune request: unknown op %q", trunc(r.Op))
	case r.Job == "" || len(r.Job) > maxJob:
		return Request{}, fmt.Errorf("prune request: job name %q: want 1 to %d bytes", trunc(r.Job), maxJob)
	case len(r.Freezes) > maxFreezes:
		return Request{}, fmt.Errorf("prune request: %d freezes, more than %d", len(r.Freezes), maxFreezes)
	case r.Op == OpAbort && (r.Dry || len(r.Freezes) > 0):
		return Request{}, errors.New("prune request: abort takes a target only")
	case r.Op == OpPrune && r.Target != "":
		return Request{}, errors.New("prune request: prune takes no target")
	}
	for ds, why := range r.Freezes {
		if _, err := zfs.ParseDataset(ds); err != nil {
			return Request{}, fmt.Errorf("prune request: freeze of %q: %w", trunc(ds), err)
		}
		if len(why) > maxReason {
			return Request{}, fmt.Errorf("prune request: freeze of %s: reason longer than %d bytes", ds, maxReason)
		}
	}
	if r.Op == OpAbort {
		if _, err := zfs.ParseDataset(r.Target); err != nil {
			return Request{}, fmt.Errorf("prune request: target %q: %w", trunc(r.Target), err)
		}
	}
	return r, nil
}

// Guard turns a request's freezes into the planner's, keeping only datasets at or below root:
// a freeze elsewhere means nothing to this job.
func (r Request) Guard(root zfs.Dataset) prune.Guard {
	g := prune.Guard{Freezes: map[zfs.Dataset]*prune.Freeze{}}
	for name, why := range r.Freezes {
		ds, err := zfs.ParseDataset(name)
		if err != nil || (ds != root && !root.IsAncestorOf(ds)) {
			continue
		}
		g.Freezes[ds] = &prune.Freeze{Reason: why}
	}
	return g
}

// Result is one dataset's prune.Result on the wire.
type Result struct {
	Plan      prune.DatasetPlan `json:"plan"`
	Destroyed []zfs.Snapshot    `json:"destroyed,omitempty"`
	Err       string            `json:"error,omitempty"`
}

// Response is one line from the worker.
type Response struct {
	Job     string   `json:"job"`
	Results []Result `json:"results,omitempty"`
	// Error is set when the request could not be carried out at all.
	Error string `json:"error,omitempty"`
}

// FromResults puts prune results on the wire.
func FromResults(job string, rs []prune.Result) Response {
	resp := Response{Job: job, Results: make([]Result, len(rs))}
	for i, r := range rs {
		resp.Results[i] = Result{Plan: r.Plan, Destroyed: r.Destroyed}
		if r.Err != nil {
			resp.Results[i].Err = r.Err.Error()
		}
	}
	return resp
}

// Results takes them off it.
func (r Response) PruneResults() []prune.Result {
	out := make([]prune.Result, len(r.Results))
	for i, w := range r.Results {
		out[i] = prune.Result{Plan: w.Plan, Destroyed: w.Destroyed}
		if w.Err != "" {
			out[i].Err = errors.New(w.Err)
		}
	}
	return out
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
