package privdrop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The drop is tested in a child: the test binary runs itself again, as root, with helperEnv set,
// and only TestHelperDrop; the child drops, looks at itself and prints a report that the parent
// checks. The parent's own credentials never change.

const (
	helperEnv = "VAULT_PRIVDROP_HELPER" // "drop" or "twice"
	secretEnv = "VAULT_PRIVDROP_SECRET" // a root-only (0600) file
	publicEnv = "VAULT_PRIVDROP_PUBLIC" // a world-readable file beside it
)

// testUser has made-up ids, so no account is needed; its supplementary group shows that setgroups
// reached every thread.
var testUser = User{Name: "vault-test", UID: 64101, GID: 64102, Groups: []int{64103, 64102}}

// ids is one thread's view of its own credentials, through per-thread system calls.
type ids struct {
	RUID, EUID, SUID, RGID, EGID, SGID int
	Groups                             []int
	NoNewPrivs                         int
}

type report struct {
	CgoLinked     bool
	Before        ids // the child before the drop: root
	DropErr       string
	Main          ids
	Locked        []ids               // goroutines that sat locked on threads of their own during the drop
	Tasks         []map[string]string // /proc/self/task/*/status
	Setuid0Err    string
	Setgid0Err    string
	SecretErr     string
	PublicErr     string
	ShadowErr     string
	ExecStatus    map[string]string // /proc/self/status of a process started after the drop
	SecondDropErr string
}

func TestHelperDrop(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return // not a child
	}
	b, err := json.Marshal(runHelper(mode))
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.Write(append(append([]byte("REPORT "), b...), '\n'))
}

func runHelper(mode string) report {
	rep := report{CgoLinked: cgoLinked()}

	// Park goroutines on OS threads of their own before the drop. If the drop changed only the
	// thread it ran on, these would still be root.
	var parked []chan chan ids
	var wg sync.WaitGroup
	for range 4 {
		c := make(chan chan ids)
		parked = append(parked, c)
		wg.Add(1)
		go func() {
			runtime.LockOSThread()
			wg.Done()
			for reply := range c {
				reply <- threadIDs()
			}
		}()
	}
	wg.Wait()
	rep.Before = threadIDs()

	rep.DropErr = errString(Drop(testUser))

	for _, c := range parked {
		reply := make(chan ids)
		c <- reply
		rep.Locked = append(rep.Locked, <-reply)
	}
	rep.Main = threadIDs()
	tasks, _ := filepath.Glob("/proc/self/task/[0-9]*")
	for _, task := range tasks {
		if b, err := os.ReadFile(filepath.Join(task, "status")); err == nil {
			rep.Tasks = append(rep.Tasks, parseStatus(b))
		}
	}
	rep.Setuid0Err = errString(unix.Setuid(0))
	rep.Setgid0Err = errString(unix.Setgid(0))
	_, err := os.ReadFile(os.Getenv(secretEnv))
	rep.SecretErr = errString(err)
	_, err = os.ReadFile(os.Getenv(publicEnv))
	rep.PublicErr = errString(err)
	if _, err := os.Stat("/etc/shadow"); err == nil {
		_, err = os.ReadFile("/etc/shadow")
		rep.ShadowErr = errString(err)
	}
	if out, err := exec.Command("/bin/cat", "/proc/self/status").Output(); err == nil {
		rep.ExecStatus = parseStatus(out)
	}
	if mode == "twice" {
		rep.SecondDropErr = errString(Drop(testUser))
	}
	return rep
}

func threadIDs() ids {
	var v ids
	v.RUID, v.EUID, v.SUID = unix.Getresuid()
	v.RGID, v.EGID, v.SGID = unix.Getresgid()
	v.Groups, _ = unix.Getgroups()
	v.NoNewPrivs, _ = unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)
	return v
}

// cgoLinked reports whether this binary links cgo, where AllThreadsSyscall refuses with ENOTSUP.
func cgoLinked() bool {
	_, _, errno := syscall.AllThreadsSyscall(syscall.SYS_GETPID, 0, 0, 0)
	return errno == syscall.ENOTSUP
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to drop privileges (CI runs as root)")
	}
}

// runChild runs bin's TestHelperDrop as a root child in the given mode and returns its report.
func runChild(t *testing.T, bin, mode string) report {
	t.Helper()
	dir, err := os.MkdirTemp("", "privdrop")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The directory is open to all, so only the file's own mode can stop the child.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	secret, public := filepath.Join(dir, "secret"), filepath.Join(dir, "public")
	if err := os.WriteFile(secret, []byte("root only\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(public, []byte("anyone\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run=^TestHelperDrop$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, secretEnv+"="+secret, publicEnv+"="+public)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, out, stderr.Bytes())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "REPORT "); ok {
			var rep report
			if err := json.Unmarshal([]byte(line), &rep); err != nil {
				t.Fatalf("child report: %v", err)
			}
			return rep
		}
	}
	t.Fatalf("child printed no report:\n%s\nstderr:\n%s", out, stderr.Bytes())
	return report{}
}

// checkDropped asserts everything a drop promises, in the child's report. nnp says whether
// no_new_privs must be set (it cannot be in a cgo-linked binary, where Drop fails at that step).
func checkDropped(t *testing.T, rep report, nnp bool) {
	t.Helper()
	u := testUser
	if rep.Before.EUID != 0 || rep.Before.RUID != 0 {
		t.Fatalf("child was not root before the drop: %+v", rep.Before)
	}
	wantNNP := 0
	if nnp {
		wantNNP = 1
	}
	for i, v := range append([]ids{rep.Main}, rep.Locked...) {
		if v.RUID != u.UID || v.EUID != u.UID || v.SUID != u.UID {
			t.Errorf("thread view %d: got uids %d/%d/%d, want all %d", i, v.RUID, v.EUID, v.SUID, u.UID)
		}
		if v.RGID != u.GID || v.EGID != u.GID || v.SGID != u.GID {
			t.Errorf("thread view %d: got gids %d/%d/%d, want all %d", i, v.RGID, v.EGID, v.SGID, u.GID)
		}
		if !sameSet(v.Groups, []int{64102, 64103}) {
			t.Errorf("thread view %d: got groups %v, want [64102 64103]", i, v.Groups)
		}
		if v.NoNewPrivs != wantNNP {
			t.Errorf("thread view %d: got no_new_privs %d, want %d", i, v.NoNewPrivs, wantNNP)
		}
	}
	if len(rep.Tasks) < 5 {
		t.Errorf("got %d threads in /proc/self/task, want at least the 4 parked ones and main", len(rep.Tasks))
	}
	uids, gids := strings.Repeat(strconv.Itoa(u.UID)+" ", 4), strings.Repeat(strconv.Itoa(u.GID)+" ", 4)
	for i, st := range append(rep.Tasks, rep.ExecStatus) {
		for key, want := range map[string]string{
			"Uid":        strings.TrimSpace(uids),
			"Gid":        strings.TrimSpace(gids),
			"Groups":     "64102 64103",
			"CapPrm":     "0000000000000000",
			"CapEff":     "0000000000000000",
			"CapAmb":     "0000000000000000",
			"NoNewPrivs": strconv.Itoa(wantNNP),
		} {
			if got := st[key]; got != want {
				t.Errorf("status %d (the last is the exec'd child): got %s %q, want %q", i, key, got, want)
			}
		}
	}
	if rep.Setuid0Err == "" {
		t.Errorf("setuid(0) after the drop: got success, want EPERM")
	}
	if rep.Setgid0Err == "" {
		t.Errorf("setgid(0) after the drop: got success, want EPERM")
	}
	if !strings.Contains(rep.SecretErr, "permission denied") {
		t.Errorf("reading a root-only file: got error %q, want permission denied", rep.SecretErr)
	}
	if rep.PublicErr != "" {
		t.Errorf("reading a world-readable file: got error %q, want none", rep.PublicErr)
	}
	if _, err := os.Stat("/etc/shadow"); err == nil && !strings.Contains(rep.ShadowErr, "permission denied") {
		t.Errorf("reading /etc/shadow: got error %q, want permission denied", rep.ShadowErr)
	}
}

func TestDrop(t *testing.T) {
	requireRoot(t)
	rep := runChild(t, os.Args[0], "drop")
	if rep.CgoLinked {
		// Everything but no_new_privs took; that step fails closed. TestDropStatic covers it.
		if !strings.Contains(rep.DropErr, "CGO_ENABLED=0") {
			t.Errorf("Drop in a cgo-linked binary: got error %q, want the no_new_privs refusal", rep.DropErr)
		}
		checkDropped(t, rep, false)
		return
	}
	if rep.DropErr != "" {
		t.Fatalf("Drop: %s", rep.DropErr)
	}
	checkDropped(t, rep, true)
}

// TestDropStatic builds this package's tests with CGO_ENABLED=0, as vault itself is built, when
// the running test binary links cgo (go test's default where a C compiler exists, and always
// under -race), so that the full drop, no_new_privs included, is proven in every run.
func TestDropStatic(t *testing.T) {
	requireRoot(t)
	if !cgoLinked() {
		t.Skip("this test binary is static: TestDrop covered no_new_privs")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go command to build a static test binary: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "privdrop.static.test")
	build := exec.Command(goBin, "test", "-c", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c: %v\n%s", err, out)
	}
	rep := runChild(t, bin, "drop")
	if rep.CgoLinked {
		t.Fatalf("the CGO_ENABLED=0 build links cgo")
	}
	if rep.DropErr != "" {
		t.Fatalf("Drop: %s", rep.DropErr)
	}
	checkDropped(t, rep, true)
}

// TestDropTwice: once unprivileged, a second Drop fails cleanly, with a reason.
func TestDropTwice(t *testing.T) {
	requireRoot(t)
	rep := runChild(t, os.Args[0], "twice")
	if !strings.Contains(rep.SecondDropErr, "not running as root") {
		t.Fatalf("second Drop: got error %q, want not running as root", rep.SecondDropErr)
	}
}

func TestParseStatus(t *testing.T) {
	st := parseStatus([]byte("Name:\tx\nUid:\t34\t34\t34\t34\nGroups:\t34 100 \nNoNewPrivs:\t1\n"))
	for key, want := range map[string]string{"Uid": "34 34 34 34", "Groups": "34 100", "NoNewPrivs": "1"} {
		if got := st[key]; got != want {
			t.Errorf("%s: got %q, want %q", key, got, want)
		}
	}
}
