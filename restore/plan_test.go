package restore

import (
	"errors"
	"strings"
	"testing"
)

// ds builds a vault dataset from "rel:a,b,c" (snapshot short names; guid = position+1 plus a
// per-name offset so that equal names have equal guids across sides).
func ds(spec string) VaultDataset {
	rel, snaps, _ := strings.Cut(spec, ":")
	d := VaultDataset{Rel: rel}
	for _, s := range strings.Split(snaps, ",") {
		if s != "" {
			d.Snapshots = append(d.Snapshots, Snap{Short: s, GUID: guid(s)})
		}
	}
	return d
}

func guid(s string) uint64 {
	var g uint64 = 1469598103934665603
	for i := 0; i < len(s); i++ {
		g = (g ^ uint64(s[i])) * 1099511628211
	}
	return g
}

// hostOf builds the host's listing from "rel:a,b" and "rel!TOKEN" specs.
func hostOf(specs ...string) map[string]HostDataset {
	h := map[string]HostDataset{}
	for _, spec := range specs {
		if rel, tok, ok := strings.Cut(spec, "!"); ok {
			h[rel] = HostDataset{Token: tok}
			continue
		}
		d := ds(spec)
		h[d.Rel] = HostDataset{Snapshots: d.Snapshots}
	}
	return h
}

func steps(p *Plan) string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, s.String())
	}
	return strings.Join(out, "; ")
}

func TestMakePlan(t *testing.T) {
	vm := []VaultDataset{ds("disk0:a,b,c"), ds(":a,b,c"), ds("disk0/x:b,c")}
	tests := []struct {
		name  string
		vault []VaultDataset
		host  map[string]HostDataset
		o     Options
		want  string // steps, or "error: substring"
	}{
		{"history, parent first", vm, nil, Options{},
			".: full @a; .: incremental -I @a @c; disk0: full @a; disk0: incremental -I @a @c; disk0/x: full @b; disk0/x: incremental -I @b @c"},
		{"newest only", vm, nil, Options{NewestOnly: true}, ".: full @c; disk0: full @c; disk0/x: full @c"},
		{"a named snapshot", vm, nil, Options{Snap: "b"}, ".: full @a; .: incremental -I @a @b; disk0: full @a; disk0: incremental -I @a @b; disk0/x: full @b"},
		{"a child without the snapshot", vm, nil, Options{Snap: "a"}, "error: disk0/x: the vault's copy has no snapshot @a"},
		{"no such snapshot", vm, nil, Options{Snap: "z"}, "error: no snapshot @z of the dataset"},
		{"no snapshot at all", []VaultDataset{ds(":")}, nil, Options{}, "error: holds no snapshot"},
		{"no root", []VaultDataset{ds("x:a")}, nil, Options{}, "error: no root"},
		{"target exists", vm, hostOf(":a"), Options{}, "error: the target exists"},
		{"resume a cut full of the root", vm, hostOf("!1-abc"), Options{Resume: true},
			".: resume a cut receive; disk0: full @a; disk0: incremental -I @a @c; disk0/x: full @b; disk0/x: incremental -I @b @c"},
		{"resume mid-way", vm, hostOf(":a,b,c", "disk0:a", "disk0/x!1-ff"), Options{Resume: true},
			"disk0: incremental -I @a @c; disk0/x: resume a cut receive"},
		{"resume, newest only, -i", vm, hostOf(":a,b,c", "disk0:a"), Options{Resume: true, NewestOnly: true},
			"disk0: incremental -i @a @c; disk0/x: full @c"},
		{"all done", vm, hostOf(":a,b,c", "disk0:a,b,c", "disk0/x:b,c"), Options{Resume: true}, ""},
		{"resume with nothing there", vm, hostOf(), Options{Resume: true, NewestOnly: true}, ".: full @c; disk0: full @c; disk0/x: full @c"},
		{"host diverged", vm, hostOf(":a,zz"), Options{Resume: true}, "error: the target: the host's newest snapshot @zz is not one of the vault's"},
		{"host newer than SNAP", vm, hostOf(":a,b,c"), Options{Resume: true, Snap: "b"}, "error: the host has @c, newer than @b"},
		{"host dataset without snapshots", vm, hostOf(":"), Options{Resume: true}, "error: exists on the host with no snapshot"},
		{"host lists children but not the target", vm, hostOf("disk0:a"), Options{Resume: true}, "error: not the target itself"},
		{"encrypted goes raw", []VaultDataset{{Rel: "", Encrypted: true, Snapshots: []Snap{{"a", 1}}}}, nil, Options{}, ".: full @a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := MakePlan(tt.vault, tt.host, tt.o)
			if want, ok := strings.CutPrefix(tt.want, "error: "); ok {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("got error %v, want one containing %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want %q", err, tt.want)
			}
			if got := steps(p); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestMakePlanRawAndDone(t *testing.T) {
	vault := []VaultDataset{{Rel: "", Encrypted: true, Snapshots: []Snap{{"a", 1}}}, {Rel: "c", Snapshots: []Snap{{"a", 2}}}}
	p, err := MakePlan(vault, map[string]HostDataset{"": {Snapshots: []Snap{{"a", 1}}}}, Options{Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Done) != 1 || p.Done[0] != "" || len(p.Steps) != 1 || p.Steps[0].Raw || p.Steps[0].Rel != "c" {
		t.Errorf("got done %q, steps %+v; want the root done and a plain full send of c", p.Done, p.Steps)
	}
	p, _ = MakePlan(vault, nil, Options{})
	if !p.Steps[0].Raw {
		t.Errorf("an encrypted dataset's step is not raw: %+v", p.Steps[0])
	}
	if _, err := MakePlan(vault, map[string]HostDataset{"": {Snapshots: []Snap{{"a", 1}}}}, Options{}); !errors.Is(err, ErrExists) {
		t.Errorf("got %v, want ErrExists", err)
	}
}
