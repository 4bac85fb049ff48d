package main

import (
	"os"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/term"

	"github.com/belltech/vault/conf"
)

// selectJobs returns the named jobs, or every job when none is named. kind filters: "pull" keeps
// SSH jobs only (a named media job is an error), "" keeps all.
func selectJobs(c *conf.Config, names []string, kind string) ([]*conf.Job, error) {
	if len(names) == 0 {
		var out []*conf.Job
		for i := range c.Jobs {
			if kind == "pull" && c.Jobs[i].IsMedia() {
				continue
			}
			out = append(out, &c.Jobs[i])
		}
		return out, nil
	}
	var out []*conf.Job
	seen := map[string]bool{}
	for _, n := range names {
		j, ok := c.Job(n)
		if !ok {
			all := make([]string, len(c.Jobs))
			for i := range c.Jobs {
				all[i] = c.Jobs[i].Name
			}
			return nil, usageErrorf("no job named %q in the configuration; jobs are %s", n, joinQuoted(all))
		}
		if kind == "pull" && j.IsMedia() {
			return nil, usageErrorf("job %q is a media job: its streams arrive with vault import, not vault pull", n)
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, j)
		}
	}
	return out, nil
}

// namedJob is the job called name, or the error selectJobs gives for an unknown one.
func namedJob(c *conf.Config, name string) (*conf.Job, error) {
	js, err := selectJobs(c, []string{name}, "")
	if err != nil {
		return nil, err
	}
	return js[0], nil
}

// consoleLogger logs to stderr for console commands: warnings and errors only unless verbose.
func consoleLogger(s *stdio, verbose bool) hclog.Logger {
	level := hclog.Warn
	if verbose {
		level = hclog.Info
	}
	// VAULT_LOG_LEVEL=debug shows every command with its duration (what to read when a run is
	// slow or a source answers oddly).
	if l := hclog.LevelFromString(s.getenv("VAULT_LOG_LEVEL")); l != hclog.NoLevel {
		level = l
	}
	return hclog.New(&hclog.LoggerOptions{Name: "vault", Level: level, Output: s.err})
}

// isTerminal reports whether w is a terminal (for emoji and progress bars). NO_COLOR turns the
// decoration off, as does anything that is not a terminal.
func isTerminal(s *stdio, w any) bool {
	if s.getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// configJobs loads the configuration at path and selects the jobs named in it (selectJobs).
func configJobs(path string, names []string, kind string) (*conf.Config, []*conf.Job, error) {
	c, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	jobs, err := selectJobs(c, names, kind)
	return c, jobs, err
}

// configJob loads the configuration at path and the job called name in it (namedJob).
func configJob(path, name string) (*conf.Config, *conf.Job, error) {
	c, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	j, err := namedJob(c, name)
	return c, j, err
}
