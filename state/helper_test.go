package state

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Tests that need a second process run this test binary again with helperEnv set, and only
// TestHelperProcess, which then does the child's part and never returns to the test framework.

const helperEnv = "VAULT_STATE_HELPER" // "lock PATH" or "save DIR"

func TestHelperProcess(t *testing.T) {
	mode, arg, ok := strings.Cut(os.Getenv(helperEnv), " ")
	if !ok {
		return // not a child
	}
	switch mode {
	case "lock":
		helperLock(arg)
	case "save":
		helperSave(arg)
	}
	fmt.Fprintf(os.Stderr, "unknown helper mode %q\n", mode)
	os.Exit(2)
}

// helperLock takes the lock, says so, and holds it until its stdin closes.
func helperLock(path string) {
	l, err := AcquireLock(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("locked %d\n", os.Getpid())
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := l.Release(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// crashState is what the save helper writes, over and over: a payload of random length and its
// checksum, so that any mix of two writes shows.
type crashState struct {
	Seq int    `json:"seq"`
	Pad string `json:"pad"`
	Sum string `json:"sum"`
}

func (c crashState) valid() bool {
	sum := sha256.Sum256([]byte(c.Pad))
	return c.Sum == hex.EncodeToString(sum[:])
}

// helperSave saves the state file "crash" in a loop until it is killed, continuing the sequence
// it finds; it says "ready" after its first save.
func helperSave(dir string) {
	s, err := Open(dir, -1, -1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var st crashState
	if _, err := s.Load("crash", &st); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for first := true; ; first = false {
		st.Seq++
		st.Pad = strings.Repeat(string(rune('a'+st.Seq%26)), 1+rand.IntN(256<<10))
		sum := sha256.Sum256([]byte(st.Pad))
		st.Sum = hex.EncodeToString(sum[:])
		if err := s.Save("crash", st); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if first {
			fmt.Println("ready")
		}
	}
}

// child is a running helper.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Scanner
}

// startHelper starts a helper and waits for its first line of output, which it returns.
func startHelper(t *testing.T, mode string) (*child, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	if !c.out.Scan() {
		t.Fatalf("helper %q said nothing: %v", mode, c.out.Err())
	}
	return c, c.out.Text()
}
