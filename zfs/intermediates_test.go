package zfs

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestIntermediates(t *testing.T) {
	// name guid createtxg, as zfs list -H -p -o name,guid,createtxg -t snapshot,bookmark -r
	// prints them (children and other order included).
	const listing = `tank/d@a	11	100
tank/d#a	11	100
tank/d@c	13	300
tank/d@b	12	200
tank/d/child@x	21	250
tank/d@d	14	400
tank/d@e	15	500
tank/other@q	31	350
`
	cols := []Column{ColName, ColGUID, ColCreateTXG}
	entries, err := ParseList(strings.NewReader(listing), cols)
	require.NoError(t, err)
	snap := func(s string) Snapshot { x, err := ParseSnapshot(s); require.NoError(t, err); return x }
	book := func(s string) Bookmark { x, err := ParseBookmark(s); require.NoError(t, err); return x }

	for _, tt := range []struct {
		name    string
		entries []Entry
		from    Name
		to      Snapshot
		want    string // names, space separated
		wantErr string
	}{
		{"three between, out of listing order", entries, snap("tank/d@a"), snap("tank/d@e"), "tank/d@b tank/d@c tank/d@d", ""},
		{"none between", entries, snap("tank/d@b"), snap("tank/d@c"), "", ""},
		{"one between", entries, snap("tank/d@b"), snap("tank/d@d"), "tank/d@c", ""},
		{"from a bookmark", entries, book("tank/d#a"), snap("tank/d@c"), "tank/d@b", ""},
		{"from newer than to", entries, snap("tank/d@d"), snap("tank/d@b"), "", `incremental source "tank/d@d" is not older than "tank/d@b" (createtxg 400, 200)`},
		{"from is to", entries, snap("tank/d@d"), snap("tank/d@d"), "", "is not older than"},
		{"from missing", entries, snap("tank/d@zz"), snap("tank/d@e"), "", `incremental source "tank/d@zz" is not in the listing`},
		{"to missing", entries, snap("tank/d@a"), snap("tank/d@zz"), "", `snapshot "tank/d@zz" is not in the listing`},
		{"from of another dataset", entries, snap("tank/other@q"), snap("tank/d@e"), "", `incremental source "tank/other@q" is not of "tank/d"`},
		{"same createtxg", append(entries[:len(entries):len(entries)], Entry{Name: "tank/d@c2", GUID: 16, CreateTXG: 300, snapshot: snap("tank/d@c2")}),
			snap("tank/d@a"), snap("tank/d@e"), "", `snapshots "tank/d@c" and "tank/d@c2" have the same createtxg 300`},
		{"no createtxg column", append(entries[:len(entries):len(entries)], Entry{Name: "tank/d@f", GUID: 16, snapshot: snap("tank/d@f")}),
			snap("tank/d@a"), snap("tank/d@e"), "", `snapshot "tank/d@f" is listed without its guid or createtxg`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Intermediates(tt.entries, tt.from, tt.to)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var names []string
			for _, e := range got {
				names = append(names, e.Name)
			}
			require.Equal(t, tt.want, strings.Join(names, " "), "got %v, want %s", names, tt.want)
		})
	}
}
