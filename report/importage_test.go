package report

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
)

func TestImportDataTime(t *testing.T) {
	year := 365 * 24 * time.Hour
	for _, tc := range []struct {
		name              string
		created, creation time.Time
		creationErr       error
		want              time.Time
		wantWarn          []string // each in one warning, in order; none when nil
	}{
		{name: "a fresh export: the snapshot's creation, older than the manifest", created: ago(time.Hour), creation: ago(2 * time.Hour), want: ago(2 * time.Hour)},
		{name: "the manifest older than the snapshot (a clock behind on the exporting host)", created: ago(3 * time.Hour), creation: ago(time.Hour), want: ago(3 * time.Hour)},
		{name: "a year-old export", created: ago(year), creation: ago(year + time.Minute), want: ago(year + time.Minute)},
		{name: "an old snapshot re-signed with a fresh created", created: now, creation: ago(year), want: ago(year)},
		{name: "a back-dated created on a fresh snapshot", created: ago(year), creation: ago(time.Minute), want: ago(year)},
		{name: "equal", created: ago(time.Hour), creation: ago(time.Hour), want: ago(time.Hour)},
		{name: "creation unreadable: the manifest's created, and a warning", created: ago(30 * time.Hour), creationErr: errors.New("zfs get: exit 1\ncannot open"),
			want: ago(30 * time.Hour), wantWarn: []string{"cannot read the creation of the received snapshot (zfs get: exit 1 cannot open); the data's age is the manifest's created, 2026-11-25 21:15:00 UTC"}},
		{name: "creation zero without an error", created: ago(time.Hour), want: ago(time.Hour), wantWarn: []string{"no creation time"}},
		{name: "created in the future, snapshot older: the snapshot, and a warning", created: now.Add(48 * time.Hour), creation: ago(time.Hour),
			want: ago(time.Hour), wantWarn: []string{"the manifest's created, 2026-11-29 03:15:00 UTC, is 2d in the future"}},
		{name: "both in the future: now, two warnings", created: now.Add(time.Hour), creation: now.Add(10 * time.Minute),
			want: now, wantWarn: []string{"the manifest's created, 2026-11-27 04:15:00 UTC, is 1h in the future", "the received snapshot's creation, 2026-11-27 03:25:00 UTC, is 10m in the future"}},
		{name: "created in the future, creation unreadable: now", created: now.Add(24 * time.Hour), creationErr: errors.New("boom"),
			want: now, wantWarn: []string{"cannot read the creation", "the manifest's created, 2026-11-28 03:15:00 UTC, is 24h in the future"}},
		{name: "created a second in the future still clamps", created: now.Add(time.Second), creation: now.Add(time.Second),
			want: now, wantWarn: []string{"1s in the future", "1s in the future"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, warns := ImportDataTime(tc.created, tc.creation, tc.creationErr, now)
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Errorf("data time: got %s, want %s (UTC)", got, tc.want)
			}
			if len(warns) != len(tc.wantWarn) {
				t.Fatalf("warnings: got %q, want %d containing %q", warns, len(tc.wantWarn), tc.wantWarn)
			}
			for i, w := range tc.wantWarn {
				if !strings.Contains(warns[i], w) || strings.Contains(warns[i], "\n") {
					t.Errorf("warning %d: got %q, want one line containing %q", i, warns[i], w)
				}
			}
		})
	}
}

func TestImportDataTimeNeverAfterNow(t *testing.T) {
	for _, d := range []time.Duration{-time.Hour, 0, time.Nanosecond, time.Second, 1000 * time.Hour} {
		for _, e := range []error{nil, errors.New("x")} {
			got, _ := ImportDataTime(now.Add(d), now.Add(d/2), e, now.Add(500*time.Millisecond))
			if got.After(now.Add(500 * time.Millisecond)) {
				t.Errorf("created now%+v, creation now%+v, err %v: data time %s is after now", d, d/2, e, got)
			}
		}
	}
}

func TestStaleImport(t *testing.T) {
	const rpo = 8 * 24 * time.Hour
	for _, tc := range []struct {
		name string
		data time.Time
		rpo  time.Duration
		want string // "" for no warning
	}{
		{"fresh", ago(time.Hour), rpo, ""},
		{"exactly at rpo is no warning, as the status is OK there", ago(rpo), rpo, ""},
		{"a second past rpo", ago(rpo + time.Second), rpo,
			`vault-sn.manifest holds data from 2026-11-19 03:14:59 UTC (8d old), older than job "sn"'s rpo 8d; status will show it lagging`},
		{"a year old", time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC), rpo,
			`vault-sn.manifest holds data from 2025-12-01 00:00:00 UTC (361d3h old), older than job "sn"'s rpo 8d; status will show it lagging`},
		{"no rpo, no warning", ago(1000 * 24 * time.Hour), 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := StaleImport("vault-sn.manifest", tc.data, now, "sn", tc.rpo); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// The level of an imported dataset comes from its data's age; a pulled one's (no data time)
// is as before.
func TestEvaluateImportedDataAge(t *testing.T) {
	media := conf.Job{Name: "sn", MediaSigners: []string{"host09"}, SourceDatasets: []string{"p/a"},
		Target: "v/sn", RPO: 8 * 24 * time.Hour, RPOCritical: 15 * 24 * time.Hour}
	day := 24 * time.Hour
	for _, tc := range []struct {
		name         string
		success      time.Time
		data         time.Time
		wantLevel    Level
		wantLag      time.Duration
		wantFinding  string // in the lag finding; "" for none
		wantAsOfText string // LAST GOOD in the table
	}{
		{"imported now, data a day old", ago(time.Minute), ago(day), LevelOK, day, "", "2026-11-26 03:15"},
		{"imported now, data 9 days old", ago(time.Minute), ago(9 * day), LevelWarn, 9 * day,
			"last good import holds data from 2026-11-18 03:15 UTC, 9d old, over rpo 8d", "2026-11-18 03:15"},
		{"imported now, data a year old", ago(time.Minute), ago(365 * day), LevelCrit, 365 * day,
			"last good import holds data from 2025-11-27 03:15 UTC, 365d old, over rpo_critical 15d", "2025-11-27 03:15"},
		{"imported 9 days ago, data 9 days and an hour old", ago(9 * day), ago(9*day + time.Hour), LevelWarn, 9*day + time.Hour,
			"last good import holds data from 2026-11-18 02:15 UTC, 9d1h old, over rpo 8d", "2026-11-18 02:15"},
		{"no data time (a pull, or old state): as before", ago(9 * day), time.Time{}, LevelWarn, 9 * day,
			"last good pull 9d ago, over rpo 8d", "2026-11-18 03:15"},
		{"a data time after the import (hand-edited state) counts from the import", ago(9 * day), ago(time.Hour), LevelWarn, 9 * day,
			"last good pull 9d ago, over rpo 8d", "2026-11-18 03:15"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := map[string]*JobState{"sn": {Job: "sn", LastRun: tc.success, Datasets: map[string]*DatasetState{
				"p/a": {Target: "v/sn/a", Outcome: "ok", LastAttempt: tc.success, LastSuccess: tc.success, DataTime: tc.data}}}}
			s := Evaluate(config(media), st, now)
			require.Len(t, s.Jobs[0].Datasets, 1)
			d := s.Jobs[0].Datasets[0]
			if d.Level != tc.wantLevel || s.Jobs[0].Level != tc.wantLevel {
				t.Errorf("level: got dataset %s, job %s, want %s (%+v)", d.Level, s.Jobs[0].Level, tc.wantLevel, d.Findings)
			}
			if d.LagSeconds == nil || *d.LagSeconds != int64(tc.wantLag/time.Second) {
				t.Errorf("lag: got %v, want %d s", d.LagSeconds, int64(tc.wantLag/time.Second))
			}
			var lag []string
			for _, f := range d.Findings {
				if f.Kind == KindLag {
					lag = append(lag, f.Text)
				}
			}
			switch {
			case tc.wantFinding == "" && len(lag) > 0:
				t.Errorf("lag findings: got %q, want none", lag)
			case tc.wantFinding != "" && (len(lag) != 1 || lag[0] != tc.wantFinding):
				t.Errorf("lag finding: got %q, want %q", lag, tc.wantFinding)
			}
			var b strings.Builder
			require.NoError(t, s.WriteTable(&b, false))
			age := Age(tc.wantLag) + "/8d"
			if !strings.Contains(b.String(), tc.wantAsOfText+"  "+age) {
				t.Errorf("table: want LAST GOOD %s and AGE %s, got:\n%s", tc.wantAsOfText, age, b.String())
			}
			// vault check and its perf data, and the textfile, count the same age.
			if line, code := CheckLine(s, 0, 0); code != int(tc.wantLevel) || !strings.Contains(line, "oldest_lag="+itoa(int64(tc.wantLag/time.Second))+"s") {
				t.Errorf("check: got %d %q, want code %d and oldest_lag %ds", code, line, tc.wantLevel, int64(tc.wantLag/time.Second))
			}
			var p strings.Builder
			require.NoError(t, WritePrometheus(&p, s))
			wantTS := "vault_dataset_data_timestamp_seconds{" + `vault_job="sn",dataset="p/a",target="v/sn/a"} ` + unix(now.Add(-tc.wantLag))
			if !strings.Contains(p.String(), wantTS+"\n") {
				t.Errorf("textfile: want %q in:\n%s", wantTS, p.String())
			}
		})
	}
}

// A dataset state saved before data times were recorded reads back with none; one with a data
// time keeps it through a save.
func TestDataTimeInSavedState(t *testing.T) {
	var old DatasetState
	require.NoError(t, json.Unmarshal([]byte(`{"target":"v/a","outcome":"ok","last_attempt":"2026-11-26T00:00:00Z","last_success":"2026-11-26T00:00:00Z","last_bytes":1}`), &old))
	if !old.DataTime.IsZero() {
		t.Errorf("an old state's data time: got %s, want none", old.DataTime)
	}
	b, err := json.Marshal(&old)
	require.NoError(t, err)
	if strings.Contains(string(b), "data_time") {
		t.Errorf("a state without a data time writes one: %s", b)
	}
	withData := old
	withData.DataTime = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	b, err = json.Marshal(&withData)
	require.NoError(t, err)
	var back DatasetState
	require.NoError(t, json.Unmarshal(b, &back))
	if !back.DataTime.Equal(withData.DataTime) {
		t.Errorf("data time through JSON: got %s, want %s", back.DataTime, withData.DataTime)
	}
}

// Apply keeps an import's data time, and a later pull, whose data is as new as its run, clears it.
func TestApplyDataTime(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 1, 15, 0, 0, time.UTC)
	old := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	imp := func(at, data time.Time) *puller.Report {
		return &puller.Report{Job: "j", Started: at, Datasets: []puller.DatasetReport{
			{Source: ds(t, "p/a"), Target: ds(t, "v/a"), Outcome: puller.OK, Newest: "s1", DataTime: data}}}
	}
	s := Apply(nil, imp(t0, old))
	if a := s.Datasets["p/a"]; !a.DataTime.Equal(old) || !a.LastSuccess.Equal(t0) {
		t.Errorf("after an old import: data time %s, last success %s, want %s, %s", a.DataTime, a.LastSuccess, old, t0)
	}
	if l := Lines(imp(t0, old)); l[0].Details["data_time"] != "2025-12-01T00:00:00Z" {
		t.Errorf("journal line of an import: details %v, want data_time 2025-12-01T00:00:00Z", l[0].Details)
	}
	failed := &puller.Report{Job: "j", Started: t0.Add(time.Hour), Datasets: []puller.DatasetReport{
		{Source: ds(t, "p/a"), Target: ds(t, "v/a"), Outcome: puller.Failed, Err: "boom"}}}
	s = Apply(s, failed)
	if a := s.Datasets["p/a"]; !a.DataTime.Equal(old) {
		t.Errorf("a failure lost the data time: %s", a.DataTime)
	}
	pulled := imp(t0.Add(2*time.Hour), time.Time{})
	pulled.Datasets[0].Outcome = puller.UpToDate
	s = Apply(s, pulled)
	if a := s.Datasets["p/a"]; !a.DataTime.IsZero() {
		t.Errorf("a pull kept the import's data time %s", a.DataTime)
	}
	if l := Lines(pulled); l[0].Details["data_time"] != "" {
		t.Errorf("journal line of a pull: details %v, want no data_time", l[0].Details)
	}
	// A data time not before the run means nothing more than the run.
	s = Apply(s, imp(t0.Add(3*time.Hour), t0.Add(4*time.Hour)))
	if a := s.Datasets["p/a"]; !a.DataTime.IsZero() {
		t.Errorf("a data time after the run was kept: %s", a.DataTime)
	}
}
