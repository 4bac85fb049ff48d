package privdrop

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

const netnsEnv = "VAULT_PRIVDROP_NETNS"

// A child cloned with IsolatedAttr sees no network (CheckNoNetwork passes) and cannot open a
// connection to anywhere; this process, in the host's namespace, fails the check (its lo is up).
// Needs root (CLONE_NEWNET).
func TestIsolatedChild(t *testing.T) {
	if os.Getenv(netnsEnv) != "" {
		if err := CheckNoNetwork(); err != nil {
			os.Stdout.WriteString("check: " + err.Error() + "\n")
			os.Exit(1)
		}
		// Nothing to route to: a connect fails at once.
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		if err == nil {
			err = syscall.Connect(fd, &syscall.SockaddrInet4{Port: 22, Addr: [4]byte{192, 0, 2, 1}})
		}
		if err == nil {
			os.Stdout.WriteString("connected\n")
			os.Exit(1)
		}
		os.Stdout.WriteString("isolated: " + err.Error() + "\n")
		os.Exit(0)
	}
	require.Error(t, CheckNoNetwork(), "the test process itself sees the host's network")
	if os.Geteuid() != 0 {
		t.Skip("cloning a network namespace needs root")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestIsolatedChild$")
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	cmd.SysProcAttr = IsolatedAttr()
	out, err := cmd.CombinedOutput()
	if errors.Is(err, syscall.EPERM) {
		t.Skip("this machine refuses new network namespaces (a container without CAP_SYS_ADMIN)")
	}
	require.NoError(t, err, "%s", out)
	require.True(t, strings.HasPrefix(string(out), "isolated: "), "%s", out)
	require.Contains(t, string(out), "network is unreachable")
}

func TestArmParentDeath(t *testing.T) {
	// The setting belongs to the calling thread: read it back on the same one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := ArmParentDeath(os.Getppid()); err != nil {
		t.Fatalf("ArmParentDeath(parent): %v", err)
	}
	var got int32
	if _, _, e := unix.Syscall(unix.SYS_PRCTL, unix.PR_GET_PDEATHSIG, uintptr(unsafe.Pointer(&got)), 0); e != 0 {
		t.Fatalf("PR_GET_PDEATHSIG: %v", e)
	}
	if got != int32(unix.SIGKILL) {
		t.Errorf("parent-death signal %d, want SIGKILL", got)
	}
	if err := ArmParentDeath(os.Getppid() + 1<<22); err == nil {
		t.Error("ArmParentDeath of a pid that is not the parent: no error")
	}
}
