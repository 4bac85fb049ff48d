package puller

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/zfs"
)

// The planner's tests describe both sides in a short notation, parsed by
// parseWorld:
//
//	src: a@1 a@2 a/vm:vol a/vm@1      the source listing under pool "src"
//	dst: a@1 a:token=1-abc            the target listing under pool "dst"
//	roots: a                          default: the src datasets without '/'
//	exclude: a/b
//	opts: newest-only flat            flat: not recursive
//
// A token is a dataset ("a", "a/vm") or a snapshot ("a@1") with optional
// attributes after ':': on a dataset vol (a volume), enc (aes-256-gcm),
// noenc (encryption "-") and token=T (a receive_resume_token); on a snapshot guid=N or guid=NAME (the
// GUID another snapshot gets by default) and txg=N. A snapshot's dataset is
// listed too. Snapshots are created in the order written: each side's
// createtxg grows along its lines, while creation times run backwards (the
// planner must not use them). A snapshot's GUID is derived from its name
// without the pool, so "a@2" on both sides is the same snapshot unless a
// guid= says otherwise. Source "src/X" lands on target "dst/X".
//
// describe renders a plan the same way, one line per dataset (names without
// the pool), in plan order:
//
//	a: base a@2; incr a@2 -I a@3; vanished a@0
//	a/vm: vol; full a/vm@1
//	orphans: a/gone
//
// with, in this order: "-> TARGET" if the target is not dst/X, vol, enc,
// source empty, up to date, conflict KIND, base NAME (and "(dst NAME)" when
// the target names it differently), the steps (full S, incr F -I|-i T,
// resume TOKEN), replan, vanished NAMES.

func TestPlan(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		// First replication.
		{"initial full then -I", `
			src: a@1 a@2 a@3`, `
			a: full a@1; incr a@1 -I a@3`},
		{"initial single snapshot", `
			src: a@1`, `
			a: full a@1`},
		{"initial newest only", `
			src: a@1 a@2 a@3
			opts: newest-only`, `
			a: full a@3`},
		{"initial empty source", `
			src: a`, `
			a: source empty`},

		// Incrementals.
		{"incremental", `
			src: a@1 a@2 a@3 a@4
			dst: a@1 a@2`, `
			a: base a@2; incr a@2 -I a@4`},
		{"incremental newest only", `
			src: a@1 a@2 a@3 a@4
			dst: a@1 a@2
			opts: newest-only`, `
			a: base a@2; incr a@2 -i a@4`},
		{"up to date", `
			src: a@1 a@2 a@3
			dst: a@1 a@2 a@3`, `
			a: up to date; base a@3`},
		{"up to date newest only", `
			src: a@1 a@2
			dst: a@2
			opts: newest-only`, `
			a: up to date; base a@2`},
		{"target lacks middle snapshots older than the base", `
			src: a@1 a@2 a@3 a@4 a@5
			dst: a@1 a@3`, `
			a: base a@3; incr a@3 -I a@5`},
		{"source pruned what the vault keeps", `
			src: a@3 a@4
			dst: a@1 a@2 a@3`, `
			a: base a@3; incr a@3 -I a@4; vanished a@1 a@2`},
		{"base found by guid when the source renamed it", `
			src: a@1 a@renamed:guid=a@2 a@3
			dst: a@1 a@2`, `
			a: base a@renamed (dst a@2); incr a@renamed -I a@3`},
		{"order is createtxg, not name", `
			src: a@zz a@mm a@aa
			dst: a@zz a@mm`, `
			a: base a@mm; incr a@mm -I a@aa`},
		{"createtxg, not the order of the lines", `
			src: a@3:txg=30 a@1:txg=10 a@2:txg=20
			dst: a@1`, `
			a: base a@1; incr a@1 -I a@3`},

		// Conflicts.
		{"same name, other guid is not common", `
			src: a@1 a@2:guid=77
			dst: a@1 a@2`, `
			a: conflict diverged; base a@1; vanished a@2`},
		{"same name, other guid, nothing else", `
			src: a@1:guid=1
			dst: a@1`, `
			a: conflict no common snapshot; vanished a@1`},
		{"diverged: someone snapshotted the target", `
			src: a@1 a@2 a@3
			dst: a@1 a@2 a@local`, `
			a: conflict diverged; base a@2; vanished a@local`},
		{"diverged: source rolled back and snapshotted again", `
			src: a@1 a@2 a@4
			dst: a@1 a@2 a@3`, `
			a: conflict diverged; base a@2; vanished a@3`},
		{"diverged: source rolled back, nothing new yet", `
			src: a@1 a@2
			dst: a@1 a@2 a@3`, `
			a: conflict diverged; base a@2; vanished a@3`},
		{"no common snapshot", `
			src: a@5 a@6
			dst: a@1 a@2`, `
			a: conflict no common snapshot; vanished a@1 a@2`},
		{"not ours", `
			src: a@1
			dst: a`, `
			a: conflict not ours`},
		{"not ours, a volume", `
			src: a:vol a@1
			dst: a:vol`, `
			a: vol; conflict not ours`},
		{"name clash with an older target snapshot", `
			src: a@1 a@2 a@x:guid=555
			dst: a@x a@1 a@2`, `
			a: conflict name clash; base a@2; vanished a@x`},
		{"no name clash with -i when only an intermediate clashes", `
			src: a@1 a@2 a@x:guid=555 a@3
			dst: a@x a@1 a@2
			opts: newest-only`, `
			a: base a@2; incr a@2 -i a@3; vanished a@x`},

		// Resume.
		{"resume first", `
			src: a@1 a@2 a@3
			dst: a@1 a:token=1-abc`, `
			a: base a@1; resume 1-abc; replan`},
		{"resume an interrupted full receive", `
			src: a@1 a@2
			dst: a:token=1-full`, `
			a: resume 1-full; replan`},
		{"no resume from an empty source", `
			src: a
			dst: a@1 a:token=1-abc`, `
			a: source empty; vanished a@1`},
		{"resume even when newest only", `
			src: a@1 a@2
			dst: a@1 a:token=1-abc
			opts: newest-only`, `
			a: base a@1; resume 1-abc; replan`},

		// A source with no snapshots.
		{"source destroyed all its snapshots", `
			src: a
			dst: a@1 a@2`, `
			a: source empty; vanished a@1 a@2`},
		{"source empty, target an empty container", `
			src: a a/b@1
			dst: a a/b@1`, `
			a: source empty
			a/b: up to date; base a/b@1`},

		// Scope.
		{"orphans reported", `
			src: a@1 a/b@1
			dst: a@1 a/b@1 a/gone@1 a/gone/deeper@1 other@1`, `
			a: up to date; base a@1
			a/b: up to date; base a/b@1
			orphans: a/gone a/gone/deeper`},
		{"exclude", `
			src: a@1 a/b@1 a/b/c@1 a/d@1 a/bb@1
			dst: a@1 a/b@1 a/b/c@1
			exclude: a/b`, `
			a: up to date; base a@1
			a/bb: full a/bb@1
			a/d: full a/d@1`},
		{"exclude a root", `
			src: a@1 b@1
			roots: a b
			exclude: b`, `
			a: full a@1`},
		{"not recursive", `
			src: a@1 a/b@1 a/b/c@1
			dst: a@1 a/gone@1
			opts: flat`, `
			a: up to date; base a@1`},
		{"nested roots plan a dataset once", `
			src: a@1 a/b@1 a/b/c@1
			roots: a a/b a/b/c`, `
			a: full a@1
			a/b: full a/b@1
			a/b/c: full a/b/c@1`},
		{"nested roots, not recursive", `
			src: a@1 a/b@1 a/b/c@1
			roots: a a/b/c
			opts: flat`, `
			a: full a@1
			a/b/c: full a/b/c@1`},
		{"snapshots out of scope are ignored", `
			src: a@1 z@1 z@2:guid=a@1
			dst: a@1
			roots: a`, `
			a: up to date; base a@1`},

		// Trees: each dataset on its own.
		{"a vm zvol child and a child with its own history", `
			src: a@d1 a/vm:vol a/vm@d1 a/jail@d1 a/rec@n1 a@d2 a/vm@d2 a/jail@j1 a/jail@j2
			dst: a@d1 a/vm:vol a/vm@d1 a/jail@d1 a/rec@d1`, `
			a: base a@d1; incr a@d1 -I a@d2
			a/jail: base a/jail@d1; incr a/jail@d1 -I a/jail@j2
			a/rec: conflict no common snapshot; vanished a/rec@d1
			a/vm: vol; base a/vm@d1; incr a/vm@d1 -I a/vm@d2`},
		{"a child diverged, its siblings proceed", `
			src: a@1 a/b@1 a/c@1 a@2 a/b@2 a/c@2
			dst: a@1 a/b@1 a/b@mine a/c@1`, `
			a: base a@1; incr a@1 -I a@2
			a/b: conflict diverged; base a/b@1; vanished a/b@mine
			a/c: base a/c@1; incr a/c@1 -I a/c@2`},
		{"children of a new parent are planned too", `
			src: a@1 a/b@1 a/b/c@1 a/b/c@2`, `
			a: full a@1
			a/b: full a/b@1
			a/b/c: full a/b/c@1; incr a/b/c@1 -I a/b/c@2`},
		{"encryption detected", `
			src: a:enc a@1 a/vm:vol:enc a/vm@1 a/plain@1`, `
			a: enc; full a@1
			a/plain: full a/plain@1
			a/vm: vol; enc; full a/vm@1`},
		{"parents before children, tree order", `
			src: b/c@1 a-x@1 a/b@1 a@1 b@1 a/b/z@1 a/a@1
			roots: b a-x a`, `
			a: full a@1
			a/a: full a/a@1
			a/b: full a/b@1
			a/b/z: full a/b/z@1
			a-x: full a-x@1
			b: full b@1
			b/c: full b/c@1`},
		{"a dataset listed twice by nested roots", `
			src: a@1 a/b@1:txg=50 a/b@1:txg=50 a/b@2
			roots: a a/b`, `
			a: full a@1
			a/b: full a/b@1; incr a/b@1 -I a/b@2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := parseWorld(t, tt.in)
			p, err := Plan(in)
			require.NoError(t, err)
			if got, want := describe(p), dedent(tt.want); got != want {
				t.Errorf("got plan\n%s\nwant\n%s", got, want)
			}
			checkPlan(t, in, p)
		})
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"root not listed", `
			src: a@1
			roots: a z`, `source root "src/z" is not in the source listing`},
		{"same createtxg", `
			src: a@1:txg=7 a@2:txg=7`, `snapshots "src/a@1" and "src/a@2" have the same createtxg 7`},
		{"same guid", `
			src: a@1 a@2:guid=a@1`, `snapshots "src/a@1" and "src/a@2" have the same guid`},
		{"no guid", `
			src: a@1:guid=0`, `snapshot "src/a@1" has no guid`},
		{"no encryption value", `
			src: a@1 a/b:noenc a/b@1`, `source listing: dataset "src/a/b" has no encryption value`},
		{"no encryption value out of scope is fine", `
			src: a@1 z:noenc
			roots: a`, ``},
		{"no createtxg", `
			src: a@1:txg=0`, `snapshot "src/a@1" has no createtxg`},
		{"target same createtxg", `
			src: a@1
			dst: a@1:txg=3 a@2:txg=3`, `target listing: snapshots "dst/a@1" and "dst/a@2" have the same createtxg 3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(parseWorld(t, tt.in))
			if tt.want == "" {
				if err != nil {
					t.Errorf("got error %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestPlanInputErrors(t *testing.T) {
	base := func() Input { return parseWorld(t, "src: a@1 b@1") }
	tests := []struct {
		name   string
		change func(*Input)
		want   string
	}{
		{"no sources", func(in *Input) { in.Sources = nil }, "no source datasets"},
		{"no mapping", func(in *Input) { in.TargetFor = nil }, "no target mapping"},
		{"zero root", func(in *Input) { in.Sources = append(in.Sources, zfs.Dataset{}) }, "empty source dataset"},
		{"zero exclude", func(in *Input) { in.Exclude = []zfs.Dataset{{}} }, "empty dataset name to exclude"},
		{"mapping fails", func(in *Input) {
			in.TargetFor = func(s zfs.Dataset) (zfs.Dataset, bool) {
				if s.String() == "src/b" {
					return zfs.Dataset{}, false
				}
				return mapTo(t, "dst")(s)
			}
		}, `no target for source dataset "src/b"`},
		{"two sources, one target", func(in *Input) {
			in.TargetFor = func(zfs.Dataset) (zfs.Dataset, bool) { return ds(t, "dst/x"), true }
		}, `source datasets "src/a" and "src/b" both land on "dst/x"`},
		{"snapshot without its dataset", func(in *Input) {
			in.Source = parseList(t, "src/a\tfilesystem\t1\t1\t1\t-\toff\nsrc/b@1\tsnapshot\t2\t2\t2\t-\toff\n")
			in.Sources = in.Sources[:1]
		}, `source listing: snapshot "src/b@1", but not its dataset`},
		{"dataset twice, differently", func(in *Input) {
			in.Target = parseList(t, "dst/a\tfilesystem\t1\t1\t1\t-\toff\ndst/a\tfilesystem\t1\t1\t1\t1-tok\toff\n")
		}, `target listing: dataset "dst/a" is listed twice, differently`},
		{"no type column", func(in *Input) {
			in.Source = append(in.Source, zfs.Entry{Name: "src/c"})
		}, `source listing: entry "src/c" has no type`},
		{"invalid name in a hand-made entry", func(in *Input) {
			in.Source = append(in.Source, zfs.Entry{Name: "src/-c", Type: zfs.TypeFilesystem})
		}, `source listing: invalid dataset name "src/-c"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.change(&in)
			_, err := Plan(in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestPlanHandMadeEntries plans from entries built as literals, without
// zfs.ParseList, which the planner validates by their type.
func TestPlanHandMadeEntries(t *testing.T) {
	in := Input{
		Sources: []zfs.Dataset{ds(t, "src/a")},
		Source: []zfs.Entry{
			{Name: "src/a", Type: zfs.TypeVolume, Encryption: "aes-256-gcm"},
			{Name: "src/a@2", Type: zfs.TypeSnapshot, GUID: 2, CreateTXG: 20},
			{Name: "src/a@1", Type: zfs.TypeSnapshot, GUID: 1, CreateTXG: 10},
			{Name: "src/a#1", Type: zfs.TypeBookmark, GUID: 1, CreateTXG: 10},
		},
		Target: []zfs.Entry{
			{Name: "dst/a", Type: zfs.TypeVolume},
			{Name: "dst/a@1", Type: zfs.TypeSnapshot, GUID: 1, CreateTXG: 5},
		},
		TargetFor: mapTo(t, "dst"),
	}
	p, err := Plan(in)
	require.NoError(t, err)
	if got, want := describe(p), "a: vol; enc; base a@1; incr a@1 -I a@2"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestPlanTargetFor checks that the planner lands datasets where TargetFor
// says, and orders them by target.
func TestPlanTargetFor(t *testing.T) {
	in := parseWorld(t, `
		src: a@1 a/b@1 a/c@1
		dst: a@1`)
	// a/c lands beside, not under, its parent's target.
	in.TargetFor = func(s zfs.Dataset) (zfs.Dataset, bool) {
		if s.String() == "src/a/c" {
			return ds(t, "dst/0c"), true
		}
		return mapTo(t, "dst")(s)
	}
	p, err := Plan(in)
	require.NoError(t, err)
	want := dedent(`
		a/c: -> dst/0c; full a/c@1
		a: up to date; base a@1
		a/b: full a/b@1`)
	if got := describe(p); got != want {
		t.Errorf("got plan\n%s\nwant\n%s", got, want)
	}
}

// TestPlanMessages checks what an operator reads about each conflict.
func TestPlanMessages(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`src: a@1 a@2
		  dst: a@1 a@local`, []string{`"dst/a" has diverged from source "src/a"`, `common snapshot is "src/a@1"`, `1 newer snapshot(s)`, `newest "dst/a@local"`}},
		{`src: a@5
		  dst: a@1 a@2`, []string{`"dst/a" has no snapshot in common with source "src/a"`, `holds 2, newest "dst/a@2"`, `has 1, newest "src/a@5"`}},
		{`src: a@1
		  dst: a`, []string{`"dst/a" exists but has no snapshots`, "zfs receive -F", "rename it away or map \"src/a\" to another target"}},
		{`src: a@1 a@x:guid=9
		  dst: a@x a@1`, []string{`cannot receive "src/a@x" into "dst/a"`, `named "dst/a@x"`, "the source's has guid 9"}},
	}
	for _, tt := range tests {
		p, err := Plan(parseWorld(t, tt.in))
		require.NoError(t, err)
		require.Len(t, p.Datasets, 1)
		c := p.Datasets[0].Conflict
		require.NotNil(t, c, tt.in)
		for _, w := range tt.want {
			if !strings.Contains(c.Error(), w) {
				t.Errorf("%s: got message %q, want it to contain %q", c.Kind, c.Error(), w)
			}
		}
	}
}

func TestStepString(t *testing.T) {
	a1, a3 := SnapRef{Name: snapName(t, "p/a@1")}, SnapRef{Name: snapName(t, "p/a@3")}
	tests := []struct {
		s    Step
		want string
	}{
		{Step{Kind: Full, To: a1}, "full p/a@1"},
		{Step{Kind: Incremental, From: &a1, To: a3, Intermediates: true}, "incremental p/a@1 -I p/a@3"},
		{Step{Kind: Incremental, From: &a1, To: a3}, "incremental p/a@1 -i p/a@3"},
		{Step{Kind: Resume, Token: "1-0123456789abcdef0123456789abcdef"}, "resume 1-0123456789abcdef012345..."},
		{Step{}, "StepKind(0)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	if got := ConflictKind(0).String(); got != "ConflictKind(0)" {
		t.Errorf("got %q for the zero ConflictKind", got)
	}
}

// TestPlanOrderIndependent plans shuffled listings and wants the same plan.
func TestPlanOrderIndependent(t *testing.T) {
	in := parseWorld(t, `
		src: a@1 a/b@1 a/vm:vol a/vm@1 a@2 a/b@2 a/vm@2 a/c a/d@1 a/d@2 a/e@1
		dst: a@1 a/b@1 a/b@x a/vm:vol a/vm@1 a/gone@1 a/c@old a/e:token=1-t
		opts: newest-only`)
	want, err := Plan(in)
	require.NoError(t, err)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		sh := in
		sh.Source = slicesShuffle(r, in.Source)
		sh.Target = slicesShuffle(r, in.Target)
		got, err := Plan(sh)
		require.NoError(t, err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("shuffle %d: got plan\n%s\nwant\n%s", i, describe(got), describe(want))
		}
	}
}

func slicesShuffle(r *rand.Rand, es []zfs.Entry) []zfs.Entry {
	out := append([]zfs.Entry(nil), es...)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestCompareDatasets(t *testing.T) {
	names := []string{"a", "a/b", "a/b/c", "a/b-c", "a/bc", "a-b", "a.b", "ab", "b"}
	for i := range names {
		for j := range names {
			got := compareDatasets(ds(t, names[i]), ds(t, names[j]))
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got != want {
				t.Errorf("compareDatasets(%q, %q) = %d, want %d", names[i], names[j], got, want)
			}
		}
	}
}

// --- the notation ---

type worldSide struct {
	order []string // datasets, first mention first
	ds    map[string]*worldDataset
	lines []string // snapshot lines
	txg   uint64
}

type worldDataset struct {
	vol, enc bool
	noenc    bool // encryption "-", as if the column were not listed
	token    string
}

// parseWorld builds an Input from the notation described at the top of this
// file.
func parseWorld(t testing.TB, text string) Input {
	t.Helper()
	sides := map[string]*worldSide{
		"src": {ds: map[string]*worldDataset{}, txg: 100},
		"dst": {ds: map[string]*worldDataset{}, txg: 5000},
	}
	var roots, exclude []string
	rootsSet := false
	var in Input
	in.Recursive = true
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		key, rest, ok := strings.Cut(line, ":")
		require.True(t, ok, "line %q has no key", line)
		fields := strings.Fields(rest)
		switch key {
		case "src", "dst":
			for _, f := range fields {
				sides[key].add(t, key, f)
			}
		case "roots":
			roots, rootsSet = fields, true
		case "exclude":
			exclude = fields
		case "opts":
			for _, o := range fields {
				switch o {
				case "newest-only":
					in.NewestOnly = true
				case "flat":
					in.Recursive = false
				default:
					t.Fatalf("unknown option %q", o)
				}
			}
		default:
			t.Fatalf("unknown key %q", key)
		}
	}
	if !rootsSet {
		for _, d := range sides["src"].order {
			if !strings.Contains(d, "/") {
				roots = append(roots, d)
			}
		}
	}
	for _, r := range roots {
		in.Sources = append(in.Sources, ds(t, "src/"+r))
	}
	for _, x := range exclude {
		in.Exclude = append(in.Exclude, ds(t, "src/"+x))
	}
	in.Source = parseList(t, sides["src"].listing("src", false))
	in.Target = parseList(t, sides["dst"].listing("dst", true))
	in.TargetFor = mapTo(t, "dst")
	return in
}

func (s *worldSide) dataset(name string) *worldDataset {
	d, ok := s.ds[name]
	if !ok {
		d = &worldDataset{}
		s.ds[name] = d
		s.order = append(s.order, name)
	}
	return d
}

func (s *worldSide) add(t testing.TB, pool, token string) {
	t.Helper()
	name, attrs, _ := strings.Cut(token, ":")
	dsName, short, isSnap := strings.Cut(name, "@")
	d := s.dataset(dsName)
	if !isSnap {
		for _, a := range strings.Split(attrs, ":") {
			k, v, _ := strings.Cut(a, "=")
			switch k {
			case "":
			case "vol":
				d.vol = true
			case "enc":
				d.enc = true
			case "noenc":
				d.noenc = true
			case "token":
				d.token = v
			default:
				t.Fatalf("unknown dataset attribute %q in %q", a, token)
			}
		}
		return
	}
	s.txg++
	guid, txg := guidOf(name), s.txg
	for _, a := range strings.Split(attrs, ":") {
		k, v, _ := strings.Cut(a, "=")
		switch k {
		case "":
		case "guid":
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				guid = n
			} else {
				guid = guidOf(v)
			}
		case "txg":
			n, err := strconv.ParseUint(v, 10, 64)
			require.NoError(t, err)
			txg = n
		default:
			t.Fatalf("unknown snapshot attribute %q in %q", a, token)
		}
	}
	// Creation runs backwards: the planner must order by createtxg.
	s.lines = append(s.lines, fmt.Sprintf("%s/%s@%s\tsnapshot\t%d\t%d\t%d\t-\toff\n",
		pool, dsName, short, guid, txg, 2_000_000_000-txg))
}

func (s *worldSide) listing(pool string, withPool bool) string {
	var b strings.Builder
	if withPool {
		fmt.Fprintf(&b, "%s\tfilesystem\t%d\t1\t1\t-\toff\n", pool, guidOf(pool))
	}
	for _, name := range s.order {
		d := s.ds[name]
		typ, enc, tok := "filesystem", "off", "-"
		if d.vol {
			typ = "volume"
		}
		if d.enc {
			enc = "aes-256-gcm"
		}
		if d.noenc {
			enc = "-"
		}
		if d.token != "" {
			tok = d.token
		}
		fmt.Fprintf(&b, "%s/%s\t%s\t%d\t2\t2\t%s\t%s\n", pool, name, typ, guidOf(pool+"/"+name), tok, enc)
	}
	for _, l := range s.lines {
		b.WriteString(l)
	}
	return b.String()
}

var listCols = []zfs.Column{zfs.ColName, zfs.ColType, zfs.ColGUID, zfs.ColCreateTXG, zfs.ColCreation,
	zfs.ColReceiveResumeToken, zfs.ColEncryption}

func parseList(t testing.TB, text string) []zfs.Entry {
	t.Helper()
	es, err := zfs.ParseList(strings.NewReader(text), listCols)
	require.NoError(t, err)
	return es
}

func guidOf(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

func ds(t testing.TB, s string) zfs.Dataset {
	t.Helper()
	d, err := zfs.ParseDataset(s)
	require.NoError(t, err)
	return d
}

func snapName(t testing.TB, s string) zfs.Snapshot {
	t.Helper()
	n, err := zfs.ParseSnapshot(s)
	require.NoError(t, err)
	return n
}

// mapTo maps src/X to POOL/X.
func mapTo(t testing.TB, pool string) func(zfs.Dataset) (zfs.Dataset, bool) {
	return func(s zfs.Dataset) (zfs.Dataset, bool) {
		rel, ok := s.RelativeTo(ds(t, "src"))
		if !ok || rel == "" {
			return zfs.Dataset{}, false
		}
		d, err := zfs.ParseDataset(pool + "/" + rel)
		return d, err == nil
	}
}

// describe renders a plan in the notation described at the top of this file.
func describe(p *JobPlan) string {
	var lines []string
	for _, d := range p.Datasets {
		rel := strings.TrimPrefix(d.Source.String(), "src/")
		var parts []string
		if d.Target.String() != "dst/"+rel {
			parts = append(parts, "-> "+d.Target.String())
		}
		if d.Type == zfs.TypeVolume {
			parts = append(parts, "vol")
		}
		if d.Encrypted {
			parts = append(parts, "enc")
		}
		if d.SourceEmpty {
			parts = append(parts, "source empty")
		}
		if d.UpToDate {
			parts = append(parts, "up to date")
		}
		if d.Conflict != nil {
			parts = append(parts, "conflict "+d.Conflict.Kind.String())
		}
		if d.Base != nil {
			b := "base " + short(d.Base.Name)
			if d.TargetBase == nil {
				b += " (no TargetBase!)"
			} else if tb := short(d.TargetBase.Name); tb != short(d.Base.Name) {
				b += " (dst " + tb + ")"
			}
			parts = append(parts, b)
		}
		for _, s := range d.Steps {
			switch s.Kind {
			case Full:
				parts = append(parts, "full "+short(s.To.Name))
			case Incremental:
				flag := "-i"
				if s.Intermediates {
					flag = "-I"
				}
				parts = append(parts, fmt.Sprintf("incr %s %s %s", short(s.From.Name), flag, short(s.To.Name)))
			case Resume:
				parts = append(parts, "resume "+s.Token)
			default:
				parts = append(parts, s.Kind.String())
			}
		}
		if d.Replan {
			parts = append(parts, "replan")
		}
		if len(d.Vanished) > 0 {
			var v []string
			for _, s := range d.Vanished {
				v = append(v, short(s.Name))
			}
			parts = append(parts, "vanished "+strings.Join(v, " "))
		}
		lines = append(lines, rel+": "+strings.Join(parts, "; "))
	}
	if len(p.Orphans) > 0 {
		var o []string
		for _, d := range p.Orphans {
			o = append(o, strings.TrimPrefix(d.String(), "dst/"))
		}
		lines = append(lines, "orphans: "+strings.Join(o, " "))
	}
	return strings.Join(lines, "\n")
}

// short drops the pool from a snapshot name.
func short(s zfs.Snapshot) string {
	_, rest, _ := strings.Cut(s.String(), "/")
	return rest
}

func dedent(s string) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

// What the planner counts for the alarms and the flood bound: the snapshots an incremental
// brings into an existing target (New), the snapshots both sides hold (Common), and all the
// snapshots the steps bring (Brings).
func TestPlanCounts(t *testing.T) {
	for _, tc := range []struct {
		name, in                string
		newCount, common, bring int
	}{
		{"first full and -I", "src: a@1 a@2 a@3", 0, 0, 3},
		{"first full, newest only", "src: a@1 a@2 a@3\nopts: newest-only", 0, 0, 1},
		{"incremental", "src: a@1 a@2 a@3 a@4\ndst: a@1 a@2", 2, 2, 2},
		{"incremental, newest only", "src: a@1 a@2 a@3 a@4\ndst: a@1 a@2\nopts: newest-only", 1, 2, 1},
		{"source pruned its oldest", "src: a@3 a@4 a@5\ndst: a@1 a@2 a@3 a@4", 1, 2, 1},
		{"up to date", "src: a@1 a@2\ndst: a@1 a@2", 0, 2, 0},
		{"source wiped", "src: a\ndst: a@1 a@2", 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Plan(parseWorld(t, tc.in))
			require.NoError(t, err)
			require.Len(t, p.Datasets, 1)
			d := p.Datasets[0]
			if len(d.New) != tc.newCount || d.Common != tc.common || d.Brings != tc.bring {
				t.Errorf("new %d, common %d, brings %d; want %d, %d, %d", len(d.New), d.Common, d.Brings, tc.newCount, tc.common, tc.bring)
			}
		})
	}
}
