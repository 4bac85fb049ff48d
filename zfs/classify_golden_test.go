package zfs

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"testing"
)

// The real stderr of each failure the classifiers name, captured on every OpenZFS release the
// lab runs (e2e TestLabStderrGoldens, VAULT_LAB_CAPTURE=1), in testdata/stderr. Each case's
// text must classify as exactly the set below on every release: a classifier that also
// matches another case's text is listed there, so an overlap is a decision, not an accident.
var stderrGoldenWant = map[string][]string{
	"not-exist-list":        {"IsNotExist", "IsHoldMissing"},
	"not-exist-get":         {"IsNotExist", "IsHoldMissing"},
	"not-exist-snapshots":   {"IsNotExist", "IsHoldMissing"},
	"hold-exists":           {"IsHoldExists"},
	"hold-missing-tag":      {"IsHoldMissing"},
	"hold-missing-snapshot": {"IsHoldMissing", "IsNotExist"},
	"resume-snapshot-gone":  {"IsResumeUnusable"},
	"resume-token-corrupt":  {"IsResumeUnusable"},
	"quota-exceeded":        {"IsQuotaExceeded"},
}

// stderrGoldenReleases are the OpenZFS releases of the lab's tracks; each must have every case.
var stderrGoldenReleases = []string{"2.1", "2.3", "2.4"}

func TestClassifiersOnRealStderr(t *testing.T) {
	classifiers := map[string]func(error) bool{
		"IsNotExist": IsNotExist, "IsHoldExists": IsHoldExists, "IsHoldMissing": IsHoldMissing,
		"IsResumeUnusable": IsResumeUnusable, "IsQuotaExceeded": IsQuotaExceeded,
	}
	files, err := filepath.Glob(filepath.Join("testdata", "stderr", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	name := regexp.MustCompile(`^lab-zfs(\d+\.\d+)-(.+)\.txt$`)
	seen := map[string]bool{}
	for _, f := range files {
		m := name.FindStringSubmatch(filepath.Base(f))
		if m == nil {
			t.Errorf("%s: not named lab-zfsX.Y-CASE.txt", f)
			continue
		}
		want, ok := stderrGoldenWant[m[2]]
		if !ok {
			t.Errorf("%s: no expectation for case %q", f, m[2])
			continue
		}
		seen[m[1]+" "+m[2]] = true
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			t.Errorf("%s: empty", f)
		}
		e := &ExitError{Code: 1, Stderr: string(b)}
		var got []string
		for cname, is := range classifiers {
			if is(e) {
				got = append(got, cname)
			}
		}
		sort.Strings(got)
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("%s (%q): classified as %v, want %v", f, b, got, want)
		}
	}
	for _, rel := range stderrGoldenReleases {
		for c := range stderrGoldenWant {
			if !seen[rel+" "+c] {
				t.Errorf("no golden for case %s on OpenZFS %s: run TestLabStderrGoldens with VAULT_LAB_ZFS=%s VAULT_LAB_CAPTURE=1", c, rel, rel)
			}
		}
	}
}
