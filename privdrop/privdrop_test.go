package privdrop

import (
	"os"
	"os/user"
	"slices"
	"strings"
	"testing"
)

func TestLookupRefusesRoot(t *testing.T) {
	_, err := Lookup("root")
	if err == nil || !strings.Contains(err.Error(), "uid 0 is root") {
		t.Fatalf("Lookup(root): got error %v, want a refusal naming uid 0", err)
	}
}

func TestLookupUnknownUser(t *testing.T) {
	_, err := Lookup("vault-no-such-user")
	if err == nil || !strings.Contains(err.Error(), `"vault-no-such-user": no such user`) {
		t.Fatalf("Lookup: got error %v, want no such user", err)
	}
	if _, err := Lookup(""); err == nil {
		t.Fatalf("Lookup(\"\"): got no error, want one")
	}
}

func TestLookupNobody(t *testing.T) {
	pw, err := user.Lookup("nobody")
	if err != nil {
		t.Skipf("no user nobody here: %v", err)
	}
	u, err := Lookup("nobody")
	if err != nil {
		t.Fatalf("Lookup(nobody): %v", err)
	}
	if got := u.Name; got != "nobody" {
		t.Errorf("got name %q, want nobody", got)
	}
	if u.UID <= 0 || u.GID <= 0 || pw.Uid == "0" {
		t.Errorf("got uid %d gid %d, want both > 0", u.UID, u.GID)
	}
	if !slices.Contains(u.Groups, u.GID) {
		t.Errorf("got groups %v, want them to include the primary gid %d", u.Groups, u.GID)
	}
	if u.Home != pw.HomeDir {
		t.Errorf("got home %q, want %q", u.Home, pw.HomeDir)
	}
}

func TestTargetGroups(t *testing.T) {
	for _, tc := range []struct {
		name    string
		u       User
		want    []int
		wantErr string
	}{
		{"primary only", User{UID: 34, GID: 34}, []int{34}, ""},
		{"primary first, sorted, deduplicated", User{UID: 34, GID: 34, Groups: []int{900, 34, 12, 900}}, []int{34, 12, 900}, ""},
		{"root uid", User{Name: "root", UID: 0, GID: 34}, nil, "uid 0 is root"},
		{"root gid", User{UID: 34, GID: 0}, nil, "gid 0"},
		{"member of group 0", User{UID: 34, GID: 34, Groups: []int{0}}, nil, "member of group 0"},
		{"negative uid", User{UID: -1, GID: 34}, nil, "uid -1 is out of range"},
		{"uid (uid_t)-1 means unchanged", User{UID: 1<<32 - 1, GID: 34}, nil, "out of range"},
		{"gid (gid_t)-1 means unchanged", User{UID: 34, GID: 1<<32 - 1}, nil, "out of range"},
		{"bad supplementary gid", User{UID: 34, GID: 34, Groups: []int{-5}}, nil, "supplementary gid -5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.u.targetGroups()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDropRefusesRootUser runs in this process: the refusal comes before any system call, so
// nothing about the test process changes.
func TestDropRefusesRootUser(t *testing.T) {
	uid, euid := os.Getuid(), os.Geteuid()
	for _, u := range []User{{Name: "root", UID: 0, GID: 0}, {Name: "x", UID: 34, GID: 0}} {
		if err := Drop(u); err == nil {
			t.Fatalf("Drop(%+v): got no error, want a refusal", u)
		}
	}
	if os.Getuid() != uid || os.Geteuid() != euid {
		t.Fatalf("ids changed after refused drops: uid %d euid %d, want %d %d", os.Getuid(), os.Geteuid(), uid, euid)
	}
}
