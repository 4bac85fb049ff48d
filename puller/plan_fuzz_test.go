package puller

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/belltech/vault/zfs"
)

// FuzzPlan builds a random but well-formed pair of listings from the fuzz
// bytes (a small tree of filesystems and a volume; target copies of source
// snapshots in order, with gaps, renames, snapshots of the target's own, name
// reuse, resume tokens, missing and orphaned datasets), plans it, and checks
// the plan's invariants with checkPlan. It also plans the listings reversed
// and wants the same plan.
func FuzzPlan(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x07\x03\x05\x01\x02\x03\x04\x05\x06\x07\x08\x09"))
	f.Add([]byte("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4\xf3\xf2\xf1\xf0"))
	f.Add([]byte("\x1f\x08\x11\x00\x33\x44\x55\x66\x00\x01\x02\x80\x81\x82\x90\xa0\xb0\xc0"))
	f.Add([]byte("the source was rolled back and snapshotted again; the target was not"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzWorld(t, data)
		p, err := Plan(in)
		if err != nil {
			t.Fatalf("well-formed listings, got error %v\nsource:\n%s\ntarget:\n%s", err, dump(in.Source), dump(in.Target))
		}
		checkPlan(t, in, p)

		rev := in
		rev.Source = slices.Clone(in.Source)
		rev.Target = slices.Clone(in.Target)
		slices.Reverse(rev.Source)
		slices.Reverse(rev.Target)
		p2, err := Plan(rev)
		if err != nil {
			t.Fatalf("reversed listings: %v", err)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("reversed listings, other plan:\n%s\nwant\n%s", describe(p2), describe(p))
		}
	})
}

// bytesReader hands out fuzz bytes, then zeros.
type bytesReader struct{ b []byte }

func (r *bytesReader) next() byte {
	if len(r.b) == 0 {
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func fuzzWorld(t *testing.T, data []byte) Input {
	r := &bytesReader{b: data}
	tree := []string{"a", "a/b", "a/b/c", "a/vm", "a/d"}
	flags := r.next()
	in := Input{
		Sources:    []zfs.Dataset{ds(t, "src/a")},
		Recursive:  flags&1 == 0,
		NewestOnly: flags&2 != 0,
		TargetFor:  mapTo(t, "dst"),
	}
	if flags&4 != 0 {
		in.Exclude = []zfs.Dataset{ds(t, "src/a/b/c")}
	}
	if flags&8 != 0 {
		in.Sources = append(in.Sources, ds(t, "src/a/d"))
	}
	var src, dst strings.Builder
	fmt.Fprintf(&dst, "dst\tfilesystem\t1\t1\t1\t-\toff\n")
	srcTXG, dstTXG := uint64(10), uint64(10)
	guid := uint64(1000)
	for i, name := range tree {
		present := r.next()
		typ := "filesystem"
		if name == "a/vm" {
			typ = "volume"
		}
		enc := "off"
		if present&0x80 != 0 {
			enc = "aes-256-gcm"
		}
		// The root and a/d (maybe a root too) are always on the source.
		onSource := i == 0 || name == "a/d" || present&1 != 0
		onTarget := present&2 != 0
		if onSource {
			fmt.Fprintf(&src, "src/%s\t%s\t%d\t2\t2\t-\t%s\n", name, typ, 10+i, enc)
		}
		type ssnap struct {
			short string
			guid  uint64
		}
		var snaps []ssnap
		if onSource {
			n := int(r.next() % 9)
			used := map[string]bool{}
			for k := 0; k < n; k++ {
				short := fmt.Sprintf("s%d", r.next()%12)
				if used[short] {
					continue
				}
				used[short] = true
				guid++
				srcTXG++
				snaps = append(snaps, ssnap{short, guid})
				fmt.Fprintf(&src, "src/%s@%s\tsnapshot\t%d\t%d\t%d\t-\t%s\n", name, short, guid, srcTXG, 3000-srcTXG, enc)
			}
		}
		if !onTarget {
			continue
		}
		tok := "-"
		if present&4 != 0 && r.next()%4 == 0 {
			tok = "1-tok" + name[:1]
		}
		fmt.Fprintf(&dst, "dst/%s\t%s\t%d\t2\t2\t%s\t%s\n", name, typ, 50+i, tok, enc)
		// The target receives source snapshots in order, with gaps, renamed
		// or not, and may get snapshots of its own, named like the source's.
		ops := int(r.next() % 10)
		next := 0
		used := map[string]bool{}
		for k := 0; k < ops; k++ {
			op := r.next()
			var short string
			var g uint64
			switch {
			case op%4 != 0 && next < len(snaps):
				next += int(op/4) % 3 // skip some
				if next >= len(snaps) {
					continue
				}
				short, g = snaps[next].short, snaps[next].guid
				if op&0x40 != 0 {
					short = "r" + short
				}
				next++
			default:
				short, g = fmt.Sprintf("s%d", op%12), 1<<40+uint64(op) // never a source GUID
			}
			if used[short] {
				continue
			}
			used[short] = true
			dstTXG++
			fmt.Fprintf(&dst, "dst/%s@%s\tsnapshot\t%d\t%d\t%d\t-\t%s\n", name, short, g, dstTXG, 3000-dstTXG, enc)
		}
	}
	if flags&16 != 0 {
		fmt.Fprintf(&dst, "dst/a/gone\tfilesystem\t77\t2\t2\t-\toff\ndst/a/gone@x\tsnapshot\t78\t3\t3\t-\toff\n")
	}
	in.Source = parseList(t, src.String())
	in.Target = parseList(t, dst.String())
	return in
}

func dump(es []zfs.Entry) string {
	var b strings.Builder
	for _, e := range es {
		fmt.Fprintf(&b, "%s\t%s\t%d\t%d\t%q\n", e.Name, e.Type, e.GUID, e.CreateTXG, e.ResumeToken)
	}
	return b.String()
}

// checkPlan checks what holds for every plan, against the input's listings:
// every dataset plan's steps form a valid chain of sends that ends at the
// source's newest snapshot, and nothing else.
func checkPlan(t testing.TB, in Input, p *JobPlan) {
	t.Helper()
	type side struct {
		exists map[zfs.Dataset]bool
		token  map[zfs.Dataset]string
		snaps  map[zfs.Dataset]map[uint64]SnapRef
		newest map[zfs.Dataset]SnapRef
	}
	load := func(es []zfs.Entry) side {
		s := side{map[zfs.Dataset]bool{}, map[zfs.Dataset]string{}, map[zfs.Dataset]map[uint64]SnapRef{}, map[zfs.Dataset]SnapRef{}}
		for i := range es {
			d, sn, err := entryName(&es[i])
			if err != nil {
				t.Fatalf("entry %q: %v", es[i].Name, err)
			}
			switch {
			case !d.IsZero():
				s.exists[d] = true
				s.token[d] = es[i].ResumeToken
			case !sn.IsZero():
				d := sn.Dataset()
				if s.snaps[d] == nil {
					s.snaps[d] = map[uint64]SnapRef{}
				}
				ref := SnapRef{Name: sn, GUID: es[i].GUID, CreateTXG: es[i].CreateTXG}
				s.snaps[d][ref.GUID] = ref
				if ref.CreateTXG > s.newest[d].CreateTXG {
					s.newest[d] = ref
				}
			}
		}
		return s
	}
	src, dst := load(in.Source), load(in.Target)

	at := map[zfs.Dataset]int{}
	for i, d := range p.Datasets {
		if _, dup := at[d.Target]; dup {
			t.Fatalf("target %s planned twice", d.Target)
		}
		at[d.Target] = i
	}
	fail := func(d DatasetPlan, format string, args ...any) {
		t.Helper()
		t.Errorf("%s -> %s: %s\nplan:\n%s", d.Source, d.Target, fmt.Sprintf(format, args...), describe(p))
	}
	for i, d := range p.Datasets {
		if parent, ok := d.Target.Parent(); ok {
			if j, planned := at[parent]; planned && j > i {
				fail(d, "planned before its parent %s", parent)
			}
		}
		if !src.exists[d.Source] {
			fail(d, "source not listed")
		}
		ss, ts := src.snaps[d.Source], dst.snaps[d.Target]
		exists := dst.exists[d.Target]
		if d.TargetExists != exists {
			fail(d, "TargetExists %v, listing says %v", d.TargetExists, exists)
		}
		if d.SourceEmpty != (len(ss) == 0) {
			fail(d, "SourceEmpty %v with %d source snapshots", d.SourceEmpty, len(ss))
		}
		if d.Conflict != nil && (len(d.Steps) > 0 || d.UpToDate) {
			fail(d, "a conflict with steps or up to date")
		}
		if d.Conflict != nil && d.Conflict.Error() == "" {
			fail(d, "a conflict without a message")
		}
		outcomes := 0
		for _, o := range []bool{d.Conflict != nil, len(d.Steps) > 0, d.UpToDate, d.SourceEmpty} {
			if o {
				outcomes++
			}
		}
		if outcomes != 1 {
			fail(d, "not exactly one of conflict, steps, up to date, source empty")
		}
		isSource := func(r SnapRef) bool {
			got, ok := ss[r.GUID]
			return ok && got == r
		}
		var prev *SnapRef
		for k, s := range d.Steps {
			switch s.Kind {
			case Full:
				if k != 0 || exists || s.From != nil {
					fail(d, "step %d: full into an existing target or not first", k)
				}
			case Resume:
				if k != 0 || len(d.Steps) != 1 || !exists || s.Token == "" || s.Token != dst.token[d.Target] || !d.Replan {
					fail(d, "step %d: resume not alone, not first, or not the target's token", k)
				}
				continue
			case Incremental:
				switch {
				case s.From == nil:
					fail(d, "step %d: incremental without From", k)
					continue
				case !isSource(*s.From):
					fail(d, "step %d: From %v is not a source snapshot", k, *s.From)
				case k == 0:
					if _, ok := ts[s.From.GUID]; !ok {
						fail(d, "step 0: From %s is not on the target", s.From.Name)
					}
				case prev == nil || *s.From != *prev:
					fail(d, "step %d: From %s is not the previous step's To", k, s.From.Name)
				}
				if s.To.CreateTXG <= s.From.CreateTXG {
					fail(d, "step %d: To %s is not newer than From %s", k, s.To.Name, s.From.Name)
				}
				if _, ok := ts[s.To.GUID]; ok {
					fail(d, "step %d: the target already has To %s", k, s.To.Name)
				}
			default:
				fail(d, "step %d: kind %v", k, s.Kind)
				continue
			}
			if !isSource(s.To) {
				fail(d, "step %d: To %v is not a source snapshot", k, s.To)
			}
			if prev != nil && s.To.CreateTXG <= prev.CreateTXG {
				fail(d, "step %d: To's createtxg does not increase", k)
			}
			to := s.To
			prev = &to
		}
		if d.Replan != (len(d.Steps) == 1 && d.Steps[0].Kind == Resume) {
			fail(d, "Replan %v without exactly one resume step", d.Replan)
		}
		// Liveness: a dataset that can proceed ends at the source's newest.
		if d.Conflict == nil && !d.SourceEmpty && !d.Replan {
			newest := src.newest[d.Source]
			switch {
			case d.UpToDate:
				if d.Base == nil || d.Base.GUID != newest.GUID || d.TargetBase.GUID != dst.newest[d.Target].GUID {
					fail(d, "up to date, but the target's newest is not the source's newest")
				}
			case len(d.Steps) == 0:
				fail(d, "no conflict, no steps, not up to date")
			case d.Steps[len(d.Steps)-1].To != newest:
				fail(d, "the last step does not reach the source's newest %s", newest.Name)
			}
			if in.NewestOnly && len(d.Steps) > 0 && (len(d.Steps) != 1 || d.Steps[0].Intermediates) {
				fail(d, "newest only, but not one step without intermediates")
			}
		}
		if (d.Base == nil) != (d.TargetBase == nil) {
			fail(d, "Base and TargetBase not both set")
		}
		if d.Base != nil {
			if !isSource(*d.Base) {
				fail(d, "Base %v is not a source snapshot", *d.Base)
			}
			if got, ok := ts[d.TargetBase.GUID]; !ok || got != *d.TargetBase || d.TargetBase.GUID != d.Base.GUID {
				fail(d, "TargetBase %v is not the target's copy of the base", *d.TargetBase)
			}
		}
		var last uint64
		for _, v := range d.Vanished {
			if _, ok := ss[v.GUID]; ok {
				fail(d, "vanished %s is on the source", v.Name)
			}
			if got, ok := ts[v.GUID]; !ok || got != v {
				fail(d, "vanished %v is not a target snapshot", v)
			}
			if v.CreateTXG <= last {
				fail(d, "vanished not in createtxg order")
			}
			last = v.CreateTXG
		}
		nv := 0
		for g := range ts {
			if _, ok := ss[g]; !ok {
				nv++
			}
		}
		if nv != len(d.Vanished) {
			fail(d, "%d target snapshots not on the source, %d vanished", nv, len(d.Vanished))
		}
	}
	for _, o := range p.Orphans {
		if _, planned := at[o]; planned || !dst.exists[o] {
			t.Errorf("orphan %s is planned or not on the target", o)
		}
	}
}
