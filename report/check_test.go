package report

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/conf"
)

func TestCheckLine(t *testing.T) {
	fresh := func(name string, age time.Duration) *JobState {
		return &JobState{Job: name, LastRun: ago(age), Datasets: map[string]*DatasetState{
			name + "data/a": okState("rust10/Backups/"+name+"/a", ago(age)),
			name + "data/b": okState("rust10/Backups/"+name+"/b", ago(age)),
		}}
	}
	cfg := config(job("h1", "h1data"), job("h2", "h2data"))
	for _, tc := range []struct {
		name       string
		states     map[string]*JobState
		warn, crit time.Duration
		want       string
		code       int
	}{
		{
			name:   "all fresh",
			states: map[string]*JobState{"h1": fresh("h1", time.Hour), "h2": fresh("h2", 2*time.Hour)},
			want:   "VAULT OK - 4 dataset(s) in 2 job(s) ok | datasets=4 ok=4 warn=0 crit=0 unknown=0 oldest_lag=7200s;;;0",
			code:   0,
		},
		{
			name:   "one job lagging",
			states: map[string]*JobState{"h1": fresh("h1", time.Hour), "h2": fresh("h2", 27*time.Hour)},
			want: "VAULT WARNING - h2 h2data/a: last good pull 27h ago, over rpo 26h; h2 h2data/b: last good pull 27h ago, over rpo 26h" +
				" | datasets=4 ok=2 warn=2 crit=0 unknown=0 oldest_lag=97200s;;;0",
			code: 1,
		},
		{
			name:   "--warn lifts the warning",
			states: map[string]*JobState{"h1": fresh("h1", time.Hour), "h2": fresh("h2", 27*time.Hour)},
			warn:   30 * time.Hour,
			want:   "VAULT OK - 4 dataset(s) in 2 job(s) ok | datasets=4 ok=4 warn=0 crit=0 unknown=0 oldest_lag=97200s;108000;;0",
			code:   0,
		},
		{
			name:   "--crit makes it critical",
			states: map[string]*JobState{"h1": fresh("h1", time.Hour), "h2": fresh("h2", 27*time.Hour)},
			warn:   2 * time.Hour, crit: 24 * time.Hour,
			want: "VAULT CRITICAL - h2 h2data/a: last good pull 27h ago, over rpo_critical 24h; h2 h2data/b: last good pull 27h ago, over rpo_critical 24h" +
				" | datasets=4 ok=2 warn=0 crit=2 unknown=0 oldest_lag=97200s;7200;86400;0",
			code: 2,
		},
		{
			name:   "a job never run alone is unknown",
			states: map[string]*JobState{"h1": fresh("h1", time.Hour)},
			want: "VAULT UNKNOWN - h2: no state yet: never run" +
				" | datasets=2 ok=2 warn=0 crit=0 unknown=1 oldest_lag=3600s;;;0",
			code: 3,
		},
		{
			name:   "a warning outranks an unknown, and comes first",
			states: map[string]*JobState{"h2": fresh("h2", 27*time.Hour)},
			want: "VAULT WARNING - h2 h2data/a: last good pull 27h ago, over rpo 26h; h2 h2data/b: last good pull 27h ago, over rpo 26h;" +
				" h1: no state yet: never run | datasets=2 ok=0 warn=2 crit=0 unknown=1 oldest_lag=97200s;;;0",
			code: 1,
		},
		{
			name: "critical first, pipes kept out of the text",
			states: map[string]*JobState{"h1": fresh("h1", time.Hour), "h2": {Job: "h2", LastRun: ago(time.Hour), LastExit: 3, Datasets: map[string]*DatasetState{
				"h2data/a": {Target: "rust10/Backups/h2/a", Outcome: "failed", LastAttempt: ago(time.Hour), LastSuccess: ago(2 * time.Hour), Error: "zfs receive: a | b"},
				"h2data/b": {Target: "rust10/Backups/h2/b", Outcome: "conflict", LastAttempt: ago(time.Hour), LastSuccess: ago(2 * time.Hour), Error: "diverged"},
			}}},
			want: "VAULT CRITICAL - h2 h2data/b: conflict, needs the operator: diverged; h2 h2data/a: last pull failed: zfs receive: a / b" +
				" | datasets=4 ok=2 warn=1 crit=1 unknown=0 oldest_lag=7200s;;;0",
			code: 2,
		},
		{
			name:   "nothing known at all",
			states: map[string]*JobState{},
			want: "VAULT UNKNOWN - h1: no state yet: never run; h2: no state yet: never run" +
				" | datasets=0 ok=0 warn=0 crit=0 unknown=2",
			code: 3,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line, code := CheckLine(Evaluate(cfg, tc.states, now), tc.warn, tc.crit)
			if line != tc.want || code != tc.code {
				t.Errorf("got %d %q\nwant %d %q", code, line, tc.code, tc.want)
			}
		})
	}
}

func TestCheckLineIsShort(t *testing.T) {
	var jobs []jobOpt
	states := map[string]*JobState{}
	for i := range 40 {
		name := fmt.Sprintf("host%02d", i)
		jobs = append(jobs, jobOpt{name, name + "data"})
		states[name] = &JobState{Job: name, LastRun: ago(time.Hour), LastExit: 1, Datasets: map[string]*DatasetState{
			name + "data": {Target: "rust10/Backups/" + name + "/data", Outcome: "failed", LastAttempt: ago(time.Hour), LastSuccess: ago(2 * time.Hour),
				Error: strings.Repeat("a very long error message ", 20)},
		}}
	}
	line, code := CheckLine(Evaluate(configOf(jobs), states, now), 0, 0)
	text, perf, ok := strings.Cut(line, " | ")
	if !ok || code != 1 || strings.Contains(line, "\n") {
		t.Fatalf("got %d %q", code, line)
	}
	if len(text) > 450 {
		t.Errorf("text part is %d bytes, want it short: %q", len(text), text)
	}
	if !strings.HasSuffix(text, "; +37 more") {
		t.Errorf("text does not say how many it left out: %q", text)
	}
	if perf != "datasets=40 ok=0 warn=40 crit=0 unknown=0 oldest_lag=7200s;;;0" {
		t.Errorf("perfdata: %q", perf)
	}
}

type jobOpt struct{ name, root string }

func configOf(js []jobOpt) *conf.Config {
	var jobs []conf.Job
	for _, j := range js {
		jobs = append(jobs, job(j.name, j.root))
	}
	return config(jobs...)
}

func TestCheckError(t *testing.T) {
	line, code := CheckError(errors.New("cannot read the state:\npermission denied | run as root"))
	if want := "VAULT UNKNOWN - cannot read the state: permission denied / run as root"; line != want || code != 3 {
		t.Errorf("got %d %q, want 3 %q", code, line, want)
	}
}
