package main

import (
	"fmt"
	"io"
	"time"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/report"
)

// printErased prints the job's erased-snapshots alarms that are up, after its pull report: the
// finding vault status shows, the names and the ack command in it.
func printErased(w io.Writer, c *conf.Config, st *report.JobState, tty bool) {
	if st == nil {
		return
	}
	j, ok := c.Job(st.Job)
	if !ok {
		return
	}
	sub := *c
	sub.Jobs = []conf.Job{*j}
	s := report.Evaluate(&sub, map[string]*report.JobState{st.Job: st}, time.Now())
	for _, js := range s.Jobs {
		for _, d := range js.Datasets {
			for _, f := range d.Findings {
				if f.Kind == report.KindErased {
					fmt.Fprintf(w, "%s %s %s -> %s: erased\n    %s\n", mark(tty, "CRIT"), js.Job, d.Dataset, d.Target, f.Text)
				}
			}
		}
	}
}
