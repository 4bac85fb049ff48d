package report

import (
	"strings"
	"testing"
	"time"

	"github.com/belltech/vault/puller"
)

func TestMeasureRates(t *testing.T) {
	t0 := now.Add(-time.Minute)
	tr := func(job, target string, bytes int64, started time.Time) puller.Transfer {
		return puller.Transfer{Job: job, Target: target, Bytes: bytes, Total: -1, Started: started}
	}
	for _, tc := range []struct {
		name      string
		prev, cur TransferSample
		wantRates []float64
	}{
		{"first sight: the average since the start",
			TransferSample{}, TransferSample{Time: now, Transfers: []puller.Transfer{tr("a", "v/a", 60<<20, t0)}},
			[]float64{1 << 20}},
		{"seen before: over the interval",
			TransferSample{Time: now.Add(-2 * time.Second), Transfers: []puller.Transfer{tr("a", "v/a", 50<<20, t0)}},
			TransferSample{Time: now, Transfers: []puller.Transfer{tr("a", "v/a", 60<<20, t0)}},
			[]float64{5 << 20}},
		{"a new stream of the same target (a later step): its own average",
			TransferSample{Time: now.Add(-2 * time.Second), Transfers: []puller.Transfer{tr("a", "v/a", 50<<20, t0)}},
			TransferSample{Time: now, Transfers: []puller.Transfer{tr("a", "v/a", 10<<20, now.Add(-10*time.Second))}},
			[]float64{1 << 20}},
		{"just started: no rate yet",
			TransferSample{}, TransferSample{Time: now, Transfers: []puller.Transfer{tr("a", "v/a", 0, now)}},
			[]float64{0}},
		{"the daemon's clock went back: the average since the start",
			TransferSample{Time: now.Add(time.Hour), Transfers: []puller.Transfer{tr("a", "v/a", 50<<20, t0)}},
			TransferSample{Time: now, Transfers: []puller.Transfer{tr("a", "v/a", 60<<20, t0)}},
			[]float64{1 << 20}},
		{"two streams, one seen before",
			TransferSample{Time: now.Add(-4 * time.Second), Transfers: []puller.Transfer{tr("b", "v/b", 0, t0)}},
			TransferSample{Time: now, Transfers: []puller.Transfer{tr("a", "v/a", 60<<20, t0), tr("b", "v/b", 4<<20, t0)}},
			[]float64{1 << 20, 1 << 20}},
	} {
		got := MeasureRates(tc.prev, tc.cur)
		if len(got) != len(tc.wantRates) {
			t.Errorf("%s: got %d transfers, want %d", tc.name, len(got), len(tc.wantRates))
			continue
		}
		for i, g := range got {
			if g.Rate != tc.wantRates[i] || g.Transfer != tc.cur.Transfers[i] {
				t.Errorf("%s: transfer %d: got rate %v of %+v, want %v", tc.name, i, g.Rate, g.Transfer, tc.wantRates[i])
			}
		}
	}
}

func TestMiddleAndClip(t *testing.T) {
	for _, tc := range []struct {
		s    string
		n    int
		want string
	}{
		{"rust10/Backups/host05/jail", 40, "rust10/Backups/host05/jail"},
		{"rust10/Backups/host05/jail/drive.client", 20, "rust10/B...ve.client"},
		{"abcdef", 5, "a...f"},
		{"abcdef", 3, "abc"},
	} {
		if got := middle(tc.s, tc.n); got != tc.want || len(got) > tc.n {
			t.Errorf("middle(%q, %d): got %q, want %q", tc.s, tc.n, got, tc.want)
		}
	}
	if got := clip("caf\u00e9 \x1b[2J"+strings.Repeat("x", 100), 20); got != "caf? ?[2Jxxxxxxxx..." {
		t.Errorf("clip: got %q", got)
	}
}

// watchScenario is the golden scenario's vault with two streams running, one of them into a
// target too long for its column.
func watchScenario() Watch {
	started := now.Add(-90 * time.Second)
	return Watch{Status: scenario(), Interval: 2 * time.Second, Transfers: []LiveTransfer{
		{Transfer: puller.Transfer{Job: "host05", Source: "host05data/jail/drive.client", Target: "rust10/Backups/host05/jail/drive.client.with.a.very.long.name",
			Kind: "incremental", Bytes: 1288490188, Total: 4294967296, Started: started}, Rate: 10 << 20},
		{Transfer: puller.Transfer{Job: "host06", Source: "host06data/vm", Target: "rust10/Backups/host06/vm",
			Kind: "full", Bytes: 5 << 30, Total: -1, Started: started}, Rate: 0},
	}}
}

func TestGoldenWatch(t *testing.T) {
	idle := watchScenario()
	idle.Transfers = nil
	noDaemon := watchScenario()
	noDaemon.Transfers, noDaemon.TransfersErr = nil, "daemon not reachable (no daemon is running); the status is read from the state directory"
	short := watchScenario()
	short.Height = 24
	for _, tc := range []struct {
		name string
		w    Watch
	}{
		{"watch-transfers.txt", watchScenario()},
		{"watch-idle.txt", idle},
		{"watch-no-daemon.txt", noDaemon},
		{"watch-24-lines.txt", short},
	} {
		var b strings.Builder
		if _, err := tc.w.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.name, []byte(b.String()))
		lines := tc.w.Lines()
		for i, l := range lines {
			if len(l) > WatchWidth {
				t.Errorf("%s: line %d is %d columns, more than %d: %q", tc.name, i+1, len(l), WatchWidth, l)
			}
			if ascii(l) != l {
				t.Errorf("%s: line %d is not plain ASCII: %q", tc.name, i+1, l)
			}
		}
		if tc.w.Height > 0 && len(lines) > tc.w.Height {
			t.Errorf("%s: %d lines, more than the height %d", tc.name, len(lines), tc.w.Height)
		}
	}
}

func TestTransferCells(t *testing.T) {
	base := puller.Transfer{Target: "v/a", Kind: "full", Bytes: 3 << 20, Total: 4 << 20}
	for _, tc := range []struct {
		name string
		t    LiveTransfer
		want string
	}{
		{"known total and rate", LiveTransfer{base, 1 << 20}, "v/a|full|3.0 MiB/4.0 MiB|75%|1.0 MiB/s|1s"},
		{"no rate yet", LiveTransfer{base, 0}, "v/a|full|3.0 MiB/4.0 MiB|75%|-|-"},
		{"unknown total", LiveTransfer{puller.Transfer{Target: "v/a", Kind: "resume", Bytes: 3 << 20, Total: -1}, 1 << 20}, "v/a|resume|3.0 MiB/?|-|1.0 MiB/s|-"},
		{"past the estimate", LiveTransfer{puller.Transfer{Target: "v/a", Kind: "full", Bytes: 5 << 20, Total: 4 << 20}, 1 << 20}, "v/a|full|5.0 MiB/4.0 MiB|100%|1.0 MiB/s|-"},
		{"hours left", LiveTransfer{puller.Transfer{Target: "v/a", Kind: "full", Bytes: 0, Total: 10 << 30}, 1 << 20}, "v/a|full|0 B/10.0 GiB|0%|1.0 MiB/s|2h50m"},
	} {
		if got := strings.Join(transferCells(tc.t), "|"); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}
