package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/puller"
)

func config(t *testing.T, maxParallel int, jobs ...string) *conf.Config {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "max_parallel = %d\ntimezone = \"UTC\"\n", maxParallel)
	for i, name := range jobs {
		fmt.Fprintf(&b, "[[job]]\nname = %q\nsource = \"backup@host%d\"\nsource_datasets = [\"pool%d/data\"]\ntarget = \"rust10/Backups/%s\"\nschedule = \"* * * * *\"\nrpo = \"1h\"\n", name, i, i, name)
	}
	c, err := conf.Parse([]byte(b.String()))
	require.NoError(t, err)
	return c
}

// gate is a pull that blocks until released and counts how many run at once.
type gate struct {
	release  chan struct{}
	now, max atomic.Int32
	calls    atomic.Int32
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) pull(ctx context.Context, _ *conf.Config, job *conf.Job) *puller.Report {
	g.calls.Add(1)
	n := g.now.Add(1)
	for {
		m := g.max.Load()
		if n <= m || g.max.CompareAndSwap(m, n) {
			break
		}
	}
	select {
	case <-g.release:
	case <-ctx.Done():
	}
	g.now.Add(-1)
	return &puller.Report{Job: job.Name}
}

func TestRunsOfOneJobNeverOverlap(t *testing.T) {
	c := config(t, 4, "a")
	g := newGate()
	d := New(c, g.pull, hclog.NewNullLogger())
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { _, err := d.run(ctx, c.Jobs[0], false); first <- err }()
	require.Eventually(t, func() bool { return g.now.Load() == 1 }, 2*time.Second, 5*time.Millisecond)
	_, err := d.run(ctx, c.Jobs[0], false)
	var busy *ErrBusy
	if !errors.As(err, &busy) {
		t.Fatalf("a second scheduled run while the first runs: got %v, want ErrBusy", err)
	}
	close(g.release)
	require.NoError(t, <-first)
	if g.calls.Load() != 1 {
		t.Errorf("pulls started: %d, want 1", g.calls.Load())
	}
}

func TestParallelJobsAreBounded(t *testing.T) {
	c := config(t, 2, "a", "b", "c", "d")
	g := newGate()
	d := New(c, g.pull, hclog.NewNullLogger())
	done := make(chan struct{})
	go func() {
		_, _ = d.PullNow(context.Background(), nil)
		close(done)
	}()
	require.Eventually(t, func() bool { return g.now.Load() == 2 }, 2*time.Second, 5*time.Millisecond)
	time.Sleep(50 * time.Millisecond)
	if n := g.now.Load(); n != 2 {
		t.Fatalf("%d pulls run at once with max_parallel 2", n)
	}
	close(g.release)
	<-done
	if g.max.Load() != 2 || g.calls.Load() != 4 {
		t.Errorf("max at once %d (want 2), pulls %d (want 4)", g.max.Load(), g.calls.Load())
	}
}

func TestPullNowRefusesUnknownJobs(t *testing.T) {
	d := New(config(t, 1, "a"), newGate().pull, hclog.NewNullLogger())
	if _, err := d.PullNow(context.Background(), []string{"nope"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("PullNow(nope): got %v, want an error naming the job", err)
	}
}

// The schedule fires: the daemon's clock is set a moment before a minute boundary.
func TestScheduleFiresAndStopCancelsPulls(t *testing.T) {
	c := config(t, 2, "a")
	g := newGate()
	d := New(c, g.pull, hclog.NewNullLogger())
	real := time.Now()
	boundary := real.Truncate(time.Minute).Add(time.Minute)
	offset := boundary.Add(-100 * time.Millisecond).Sub(real)
	d.Now = func() time.Time { return time.Now().Add(offset) }
	var reports sync.WaitGroup
	reports.Add(1)
	d.Done = func(*conf.Config, *puller.Report) { reports.Done() }
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { _ = d.Run(ctx); close(stopped) }()
	require.Eventually(t, func() bool { return g.calls.Load() == 1 }, 3*time.Second, 10*time.Millisecond, "the per-minute schedule did not fire")
	// Stopping the daemon cancels the running pull, which returns; Run then returns.
	cancel()
	select {
	case <-stopped:
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	reports.Wait()
}

func TestReloadAddsRemovesAndSaysWhatNeedsARestart(t *testing.T) {
	c := config(t, 2, "a", "b")
	d := New(c, newGate().pull, hclog.NewNullLogger())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = d.Run(ctx) }()
	require.Eventually(t, func() bool { d.mu.Lock(); defer d.mu.Unlock(); return len(d.loops) == 2 }, time.Second, 5*time.Millisecond)
	next := config(t, 2, "a", "c")
	next.User = "vaultd"
	done, restart := d.Reload(next)
	if got := strings.Join(done, "; "); got != "added job c; removed job b" {
		t.Errorf("reload did %q", got)
	}
	if len(restart) != 1 || !strings.HasPrefix(restart[0], "user") {
		t.Errorf("needs restart: %q, want the user change", restart)
	}
	if d.Config().User != c.User {
		t.Errorf("the user changed without a restart: %q", d.Config().User)
	}
	d.mu.Lock()
	_, hasB := d.loops["b"]
	_, hasC := d.loops["c"]
	d.mu.Unlock()
	if hasB || !hasC {
		t.Errorf("loops after reload: b %v (want false), c %v (want true)", hasB, hasC)
	}
	// Reloading the same configuration changes nothing.
	if done, _ := d.Reload(config(t, 2, "a", "c")); len(done) != 0 {
		t.Errorf("reloading an unchanged configuration did %q", done)
	}
}

// A prune schedule fires on its own, without a pull schedule.
func TestPruneScheduleFiresAndWaitsForPulls(t *testing.T) {
	c := config(t, 2, "a")
	c.Jobs[0].Schedule = conf.Schedule{} // pulls off: only the prune loop runs
	sched, err := conf.ParseSchedule("* * * * *", time.UTC)
	require.NoError(t, err)
	c.Jobs[0].Prune.Schedule = sched
	var prunes atomic.Int32
	d := New(c, newGate().pull, hclog.NewNullLogger())
	d.Prune = func(context.Context, *conf.Config, *conf.Job) { prunes.Add(1) }
	real := time.Now()
	offset := real.Truncate(time.Minute).Add(time.Minute).Add(-100 * time.Millisecond).Sub(real)
	d.Now = func() time.Time { return time.Now().Add(offset) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = d.Run(ctx) }()
	require.Eventually(t, func() bool { return prunes.Load() == 1 }, 3*time.Second, 10*time.Millisecond, "the prune schedule did not fire")
}

// With a prune worker, which read the configuration once as root, a reload says which prune
// changes wait for a restart; without one, prune changes apply at once.
func TestReloadSaysThePruneWorkerKeepsItsConfiguration(t *testing.T) {
	c := config(t, 2, "a", "b")
	c.PruneUser = "vault-prune"
	d := New(c, newGate().pull, hclog.NewNullLogger())
	next := config(t, 2, "a", "b", "c")
	next.PruneUser = "vault-prune"
	next.Jobs[1].Prune.MinKeep = 11
	_, restart := d.Reload(next)
	got := strings.Join(restart, "; ")
	for _, want := range []string{"prune of the new job c", "prune settings or target of job b"} {
		if !strings.Contains(got, want) {
			t.Errorf("needs restart: %q, want %q in it", got, want)
		}
	}
	if strings.Contains(got, "job a") {
		t.Errorf("needs restart: %q names job a, which did not change", got)
	}

	next2 := config(t, 2, "a", "b", "c")
	_, restart = d.Reload(next2)
	if got := strings.Join(restart, "; "); !strings.Contains(got, `prune_user ("vault-prune" -> "")`) {
		t.Errorf("needs restart: %q, want the prune_user change", got)
	}
	if d.Config().PruneUser != "vault-prune" {
		t.Errorf("prune_user changed without a restart: %q", d.Config().PruneUser)
	}

	legacy := config(t, 2, "a")
	dl := New(legacy, newGate().pull, hclog.NewNullLogger())
	changed := config(t, 2, "a", "b")
	changed.Jobs[0].Prune.MinKeep = 9
	if _, restart := dl.Reload(changed); len(restart) != 0 {
		t.Errorf("without a prune worker a reload needs no restart, got %q", restart)
	}
}

// The pull and its record are handed the configuration in force: after a reload, the new one.
func TestPullIsHandedTheConfigurationInForce(t *testing.T) {
	first := config(t, 1, "a")
	var pulled, recorded atomic.Pointer[conf.Config]
	d := New(first, func(_ context.Context, cfg *conf.Config, job *conf.Job) *puller.Report {
		pulled.Store(cfg)
		return &puller.Report{Job: job.Name}
	}, hclog.NewNullLogger())
	d.Done = func(cfg *conf.Config, _ *puller.Report) { recorded.Store(cfg) }
	_, err := d.PullNow(context.Background(), []string{"a"})
	require.NoError(t, err)
	if pulled.Load() != first || recorded.Load() != first {
		t.Fatalf("before a reload: pulled with %p, recorded with %p, want %p", pulled.Load(), recorded.Load(), first)
	}
	next := config(t, 1, "a")
	next.Jobs[0].RPO = 2 * time.Hour
	d.Reload(next)
	_, err = d.PullNow(context.Background(), []string{"a"})
	require.NoError(t, err)
	if pulled.Load() != d.Config() || recorded.Load() != d.Config() || pulled.Load() == first {
		t.Fatalf("after a reload: pulled with %p, recorded with %p, want the configuration in force %p", pulled.Load(), recorded.Load(), d.Config())
	}
}
