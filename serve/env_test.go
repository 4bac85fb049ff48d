package serve

import (
	"strings"
	"testing"
)

func TestEnviron(t *testing.T) {
	sshd := []string{"USER=backup", "HOME=/home/backup", "PATH=/usr/bin:/bin", "SHELL=/bin/sh", "LANG=C.UTF-8",
		"SSH_CLIENT=192.0.2.7 50522 22", "SSH_CONNECTION=192.0.2.7 50522 192.0.2.1 22",
		"SSH_ORIGINAL_COMMAND=zfs list -H -p -o name -t filesystem host05data/jail", "VAULT_CPUPROFILE=/home/backup/.ssh/authorized_keys",
		"VAULT_LOG_LEVEL=trace", "NO_COLOR=1", "LD_PRELOAD=/tmp/x.so"}
	kept := "SSH_CLIENT=192.0.2.7 50522 22|SSH_CONNECTION=192.0.2.7 50522 192.0.2.1 22|SSH_ORIGINAL_COMMAND=zfs list -H -p -o name -t filesystem host05data/jail"
	for _, tc := range []struct {
		name    string
		environ []string
		env     string // joined with '|'
		reexec  bool
		err     string
	}{
		{"what sshd passes", sshd, kept, false, ""},
		{"nothing", nil, "", false, ""},
		{"first of two", []string{"SSH_ORIGINAL_COMMAND=zfs a", "SSH_ORIGINAL_COMMAND=zfs b"}, "SSH_ORIGINAL_COMMAND=zfs a", false, ""},
		{"GOGC", append(sshd, "GOGC=off"), kept + "|" + ReexecMark + "=1", true, ""},
		{"GODEBUG", append([]string{"GODEBUG=madvdontneed=0"}, sshd...), kept + "|" + ReexecMark + "=1", true, ""},
		{"GOMAXPROCS", append(sshd, "GOMAXPROCS=64"), kept + "|" + ReexecMark + "=1", true, ""},
		{"GOMEMLIMIT", append(sshd, "GOMEMLIMIT=1"), kept + "|" + ReexecMark + "=1", true, ""},
		{"GOTRACEBACK", append(sshd, "GOTRACEBACK=crash"), kept + "|" + ReexecMark + "=1", true, ""},
		{"TZ", append(sshd, "TZ=Pacific/Kiritimati"), kept + "|" + ReexecMark + "=1", true, ""},
		{"ZONEINFO", append(sshd, "ZONEINFO=/tmp/zones"), kept + "|" + ReexecMark + "=1", true, ""},
		{"empty GOGC", append(sshd, "GOGC="), kept + "|" + ReexecMark + "=1", true, ""},
		{"executed again", []string{"SSH_ORIGINAL_COMMAND=zfs a", ReexecMark + "=1"}, "SSH_ORIGINAL_COMMAND=zfs a", false, ""},
		{"marked by the client", append(sshd, ReexecMark+"=1", "GOGC=off", "TZ=UTC"), "", false, "GOGC, TZ set although VAULT_SERVE_REEXEC says"},
	} {
		env, reexec, err := Environ(tc.environ)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got error %v, want one with %q", tc.name, err, tc.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case strings.Join(env, "|") != tc.env || reexec != tc.reexec:
			t.Errorf("%s: got %q, reexec %v; want %q, %v", tc.name, env, reexec, tc.env, tc.reexec)
		}
	}
}
