package zfs

import (
	"slices"
	"strings"
	"testing"
)

func TestSendArgv(t *testing.T) {
	snap := func(s string) Snapshot { return mustSnapshot(t, s) }
	bm, err := ParseBookmark("tank/a#b1")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		o    SendOptions
		want string // space-joined argv after the binary, or "error"
	}{
		{"full", SendOptions{Snapshot: snap("tank/a@2")}, "send -L -c tank/a@2"},
		{"raw full", SendOptions{Snapshot: snap("tank/a@2"), Raw: true}, "send -L -c -w tank/a@2"},
		{"incremental -i", SendOptions{Snapshot: snap("tank/a@2"), FromSnapshot: snap("tank/a@1")}, "send -L -c -i tank/a@1 tank/a@2"},
		{"incremental -I", SendOptions{Snapshot: snap("tank/a@2"), FromSnapshot: snap("tank/a@1"), Intermediates: true}, "send -L -c -I tank/a@1 tank/a@2"},
		{"from bookmark", SendOptions{Snapshot: snap("tank/a@2"), FromBookmark: bm}, "send -L -c -i tank/a#b1 tank/a@2"},
		{"dry run", SendOptions{Snapshot: snap("tank/a@2"), FromSnapshot: snap("tank/a@1"), DryRun: true}, "send -n -P -L -c -i tank/a@1 tank/a@2"},
		{"resume", SendOptions{Token: "1-e604ea4bf-e0-789c63a2"}, "send -t 1-e604ea4bf-e0-789c63a2"},
		{"resume dry run", SendOptions{Token: "1-e604ea4bf-e0-789c63a2", DryRun: true}, "send -n -P -t 1-e604ea4bf-e0-789c63a2"},
		{"nothing", SendOptions{}, "error"},
		{"foreign base", SendOptions{Snapshot: snap("tank/a@2"), FromSnapshot: snap("tank/b@1")}, "error"},
		{"-I from bookmark", SendOptions{Snapshot: snap("tank/a@2"), FromBookmark: bm, Intermediates: true}, "error"},
		{"token and snapshot", SendOptions{Snapshot: snap("tank/a@2"), Token: "1-abc"}, "error"},
		{"token with a shell", SendOptions{Token: "1-abc;rm"}, "error"},
		{"token as an option", SendOptions{Token: "-R"}, "error"},
	}
	for _, tt := range tests {
		argv, err := testZFS.sendArgv(tt.o)
		got := "error"
		if err == nil {
			got = strings.Join(argv[1:], " ")
			if argv[0] != "/sbin/zfs" {
				t.Errorf("%s: argv[0] = %q, want /sbin/zfs", tt.name, argv[0])
			}
		}
		if got != tt.want {
			t.Errorf("%s: got %q (err %v), want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestReceiveArgv(t *testing.T) {
	ds := mustDataset(t, "rust10/Backups/host05/jail")
	argv, err := testZFS.receiveArgv(ReceiveOptions{Target: ds})
	if err != nil || !slices.Equal(argv, []string{"/sbin/zfs", "receive", "-s", "-u", "rust10/Backups/host05/jail"}) {
		t.Errorf("plain receive: got %q, %v", argv, err)
	}
	argv, err = testZFS.receiveArgv(ReceiveOptions{Target: ds,
		Set: []PropSetting{{"canmount", "noauto"}, {"readonly", "on"}}, Exclude: []string{"atime"}})
	want := []string{"/sbin/zfs", "receive", "-s", "-u", "-o", "canmount=noauto", "-o", "readonly=on", "-x", "atime", "rust10/Backups/host05/jail"}
	if err != nil || !slices.Equal(argv, want) {
		t.Errorf("first receive: got %q, %v; want %q", argv, err, want)
	}
	for _, o := range []ReceiveOptions{
		{},
		{Target: ds, Set: []PropSetting{{"-F", "x"}}},
		{Target: ds, Set: []PropSetting{{"readonly", "on\nx"}}},
		{Target: ds, Exclude: []string{"bad name"}},
	} {
		if argv, err := testZFS.receiveArgv(o); err == nil {
			t.Errorf("receiveArgv(%+v) = %q, want an error", o, argv)
		}
	}
}

func TestParseSendSize(t *testing.T) {
	tests := []struct {
		out  string
		want int64
		ok   bool
	}{
		{"full\ttank/a@2\t1234\nsize\t1234\n", 1234, true},
		{"incremental\ttank/a@1\ttank/a@2\t99\nincremental\ttank/a@2\ttank/a@3\t1\nsize\t100\n", 100, true},
		{"resume token contents:\nnvlist version: 0\n\ttoname = tank/a@2\nfull\ttank/a@2\t5\nsize\t5\n", 5, true},
		{"full\ttank/a@2\t1234\n", 0, false},
		{"size\t-1\n", 0, false},
		{"size\tlots\n", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSendSize([]byte(tt.out))
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSendSize(%q) = %d, %v; want %d, ok=%v", tt.out, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseSendSize(f *testing.F) {
	f.Add([]byte("full\ttank/a@2\t1234\nsize\t1234\n"))
	f.Add([]byte("size\t\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := ParseSendSize(b)
		if err == nil && n < 0 {
			t.Fatalf("ParseSendSize(%q) = %d: negative size accepted", b, n)
		}
	})
}

func TestReceiveArgvNotResumable(t *testing.T) {
	argv, err := testZFS.receiveArgv(ReceiveOptions{Target: mustDataset(t, "rust10/x"), NotResumable: true})
	if err != nil || !slices.Equal(argv, []string{"/sbin/zfs", "receive", "-u", "rust10/x"}) {
		t.Errorf("got %q, %v", argv, err)
	}
}
