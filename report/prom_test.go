package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGoldenPrometheus(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WritePrometheus(&b, scenario()))
	golden(t, "status.prom", b.Bytes())
	series, err := parseExposition(b.String())
	require.NoError(t, err)
	for _, want := range []string{
		`vault_dataset_state{vault_job="host05",dataset="host05data/vm/fs.client",target="rust10/Backups/host05/vm/fs.client"} 2`,
		`vault_dataset_last_success_timestamp_seconds{vault_job="host05",dataset="host05data/jail",target="rust10/Backups/host05/jail"} 1.7957421e+09`,
		`vault_dataset_lag_seconds{vault_job="host05",dataset="host05data/jail/www",target="rust10/Backups/host05/jail/www"} 108000`,
		`vault_dataset_lag_seconds{vault_job="sn",dataset="host09data/fs",target="rust10/Backups/sn/fs"} 864000`,
		`vault_dataset_data_timestamp_seconds{vault_job="sn",dataset="host09data/fs",target="rust10/Backups/sn/fs"} 1.7948853e+09`,
		`vault_dataset_snapshots{vault_job="host05",dataset="host05data/jail/drive.client",target="rust10/Backups/host05/jail/drive.client"} 2`,
		`vault_dataset_prune_frozen{vault_job="host06",dataset="host06data/vm",target="rust10/Backups/host06/vm"} 1`,
		`vault_job_state{vault_job="host08"} 3`,
		`vault_job_last_run_timestamp_seconds{vault_job="host07"} 1.7957457e+09`,
	} {
		if !series[want] {
			t.Errorf("no series %s", want)
		}
	}
	for s := range series {
		if strings.Contains(s, `dataset="host05data/vm/new"`) && strings.HasPrefix(s, "vault_dataset_last_success") {
			t.Errorf("a dataset never pulled has a last success: %s", s)
		}
	}
}

func TestPrometheusEscapesLabels(t *testing.T) {
	st := map[string]*JobState{"j": {Job: "j", LastRun: now, Datasets: map[string]*DatasetState{
		"p": okState("odd \"target\" \\ with\nnewline", now)}}}
	var b bytes.Buffer
	require.NoError(t, WritePrometheus(&b, Evaluate(config(job("j", "p")), st, now)))
	series, err := parseExposition(b.String())
	require.NoError(t, err, "output:\n%s", b.String())
	// The parser unescapes: the series holds the value as it was.
	want := "vault_dataset_state{vault_job=\"j\",dataset=\"p\",target=\"odd \"target\" \\ with\nnewline\"} 0"
	if !series[want] {
		t.Errorf("no series %q in %v", want, series)
	}
}

func TestWritePrometheusFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.prom")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
	require.NoError(t, WritePrometheusFile(path, scenario()))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode: got %s, want 0644 (node_exporter reads it)", fi.Mode().Perm())
	}
	got, err := os.ReadFile(path)
	require.NoError(t, err)
	var want bytes.Buffer
	require.NoError(t, WritePrometheus(&want, scenario()))
	if !bytes.Equal(got, want.Bytes()) {
		t.Errorf("file contents differ from WritePrometheus's")
	}
	if err := WritePrometheusFile(filepath.Join(t.TempDir(), "missing", "vault.prom"), scenario()); err == nil {
		t.Errorf("writing into a missing directory: got no error")
	}
}

var (
	metricNameRE = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelNameRE  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// parseExposition checks text against the Prometheus text format (0.0.4), strictly, as
// node_exporter's textfile collector reads it, and returns its series as
// `name{labels unescaped} value-as-%g`. It stands in for expfmt.TextParser, whose module brings
// protobuf and net/http into the test build; the golden file was also checked with expfmt
// once. Rules: every line ends with "\n"; comments are "# HELP name text" and "# TYPE name
// gauge", at most one of each per family and before its samples; a family's samples are
// contiguous; names and label names are valid; label values are quoted with only \\, \" and
// \n escapes; values are floats; no series twice.
func parseExposition(text string) (map[string]bool, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("does not end with a newline")
	}
	series := map[string]bool{}
	done := map[string]bool{}    // families left behind: they must not come back
	sampled := map[string]bool{} // families with samples: no HELP or TYPE after them
	help, typ := map[string]bool{}, map[string]bool{}
	current := ""
	enter := func(name string) error {
		if name == current {
			return nil
		}
		if done[name] {
			return fmt.Errorf("the lines of %s are not contiguous", name)
		}
		if current != "" {
			done[current] = true
		}
		current = name
		return nil
	}
	for n, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		errf := func(format string, a ...any) error {
			return fmt.Errorf("line %d %q: %s", n+1, line, fmt.Sprintf(format, a...))
		}
		if strings.HasPrefix(line, "#") {
			f := strings.SplitN(line, " ", 4)
			if len(f) < 3 || (f[1] != "HELP" && f[1] != "TYPE") {
				return nil, errf("a comment that is neither HELP nor TYPE")
			}
			name := f[2]
			if !metricNameRE.MatchString(name) {
				return nil, errf("bad metric name")
			}
			if sampled[name] {
				return nil, errf("HELP or TYPE after the family's samples")
			}
			if err := enter(name); err != nil {
				return nil, errf("%v", err)
			}
			switch f[1] {
			case "HELP":
				if help[name] || len(f) < 4 {
					return nil, errf("second or empty HELP")
				}
				if err := checkHelpEscapes(f[3]); err != nil {
					return nil, errf("%v", err)
				}
				help[name] = true
			case "TYPE":
				if typ[name] || len(f) != 4 || f[3] != "gauge" {
					return nil, errf("second TYPE, or not gauge")
				}
				typ[name] = true
			}
			continue
		}
		i := strings.IndexAny(line, "{ ")
		if i <= 0 {
			return nil, errf("no metric name")
		}
		name := line[:i]
		if !metricNameRE.MatchString(name) {
			return nil, errf("bad metric name")
		}
		if err := enter(name); err != nil {
			return nil, errf("%v", err)
		}
		sampled[name] = true
		if !help[name] || !typ[name] {
			return nil, errf("a sample before its HELP and TYPE")
		}
		rest := line[i:]
		var labels []string
		if strings.HasPrefix(rest, "{") {
			rest = rest[1:]
			for !strings.HasPrefix(rest, "}") {
				eq := strings.Index(rest, `="`)
				if eq <= 0 || !labelNameRE.MatchString(rest[:eq]) {
					return nil, errf("bad label name")
				}
				lname := rest[:eq]
				rest = rest[eq+2:]
				var val strings.Builder
				for {
					if rest == "" {
						return nil, errf("unterminated label value")
					}
					c := rest[0]
					if c == '"' {
						rest = rest[1:]
						break
					}
					if c == '\\' {
						if len(rest) < 2 {
							return nil, errf("dangling backslash")
						}
						switch rest[1] {
						case '\\':
							val.WriteByte('\\')
						case '"':
							val.WriteByte('"')
						case 'n':
							val.WriteByte('\n')
						default:
							return nil, errf("bad escape \\%c", rest[1])
						}
						rest = rest[2:]
						continue
					}
					val.WriteByte(c)
					rest = rest[1:]
				}
				labels = append(labels, lname+`="`+val.String()+`"`)
				if strings.HasPrefix(rest, ",") {
					rest = rest[1:]
				} else if !strings.HasPrefix(rest, "}") {
					return nil, errf("expected , or }")
				}
			}
			rest = rest[1:]
		}
		if !strings.HasPrefix(rest, " ") || strings.Count(rest, " ") != 1 {
			return nil, errf("expected one space and a value (no timestamps in a textfile)")
		}
		v, err := strconv.ParseFloat(rest[1:], 64)
		if err != nil {
			return nil, errf("bad value: %v", err)
		}
		key := fmt.Sprintf("%s{%s} %g", name, strings.Join(labels, ","), v)
		if series[key] {
			return nil, errf("series twice")
		}
		series[key] = true
	}
	return series, nil
}

// checkHelpEscapes accepts only the escapes HELP text may have: \\ and \n.
func checkHelpEscapes(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		if i+1 == len(s) {
			return fmt.Errorf("dangling backslash")
		}
		switch s[i+1] {
		case '\\', 'n':
		default:
			return fmt.Errorf(`bad escape \%c`, s[i+1])
		}
		i++
	}
	return nil
}

// unix timestamps in the golden file are milliseconds exact.
func TestUnix(t *testing.T) {
	if got := unix(time.Date(2026, 11, 27, 3, 15, 0, 500_000_000, time.UTC)); got != "1795749300.5" {
		t.Errorf("unix: got %s", got)
	}
}
