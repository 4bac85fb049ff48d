package shellword

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The shells Join's output is tried on, where they are installed. sshd runs
// a command with the user's shell as `shell -c COMMAND`, which is what these
// tests do. (scripts/deps.sh may install zsh and tcsh; the tests skip the
// shells that are missing.)
var shells = []string{"/bin/sh", "/bin/dash", "/bin/bash", "/bin/zsh", "/usr/bin/zsh", "/bin/ksh", "/bin/mksh", "/bin/tcsh", "/usr/bin/tcsh", "/bin/csh", "/usr/bin/csh"}

// zshOptions are the zsh options that make more of a word special; zsh is
// also tried with them set.
var zshOptions = []string{"-o", "magicequalsubst", "-o", "extendedglob", "-o", "rcquotes", "-o", "kshglob"}

// availableShells returns the shells found, each as the argv that precedes
// "-c SCRIPT".
func availableShells(t *testing.T) [][]string {
	t.Helper()
	var found [][]string
	seen := map[string]bool{}
	for _, sh := range shells {
		fi, err := os.Stat(sh)
		if err != nil || fi.IsDir() {
			continue
		}
		real, err := filepath.EvalSymlinks(sh)
		if err != nil || seen[real] {
			continue
		}
		seen[real] = true
		found = append(found, []string{sh})
		if strings.HasSuffix(real, "/zsh") {
			found = append(found, append([]string{sh}, zshOptions...))
		}
	}
	if len(found) == 0 {
		t.Skip("no shell installed")
	}
	return found
}

// sep is what the scripts print between the output of two commands. Join
// refuses control characters, so no word contains it.
const sep = "\x01"

// runShell runs, in one shell, `printf '%s\0' JOINED` for each argv, and
// returns the words each printed; and also each argv as a whole command
// line, with printf and a format in front of it.
func runShell(t *testing.T, sh []string, argvs [][]string) (viaArgs, viaCommand [][]string) {
	t.Helper()
	var args, commands []string
	for _, argv := range argvs {
		joined, err := Join(argv)
		if err != nil {
			t.Fatalf("Join(%q): %v", argv, err)
		}
		// Every shell here has printf, a builtin or /usr/bin/printf; %s
		// prints each argument as it is.
		args = append(args, `printf '%s\0' `+joined)
		cmdline, err := Join(append([]string{"printf", `%s\0`}, argv...))
		if err != nil {
			t.Fatalf("Join: %v", err)
		}
		commands = append(commands, cmdline)
	}
	between := `; printf '\001'; `
	return shellWords(t, sh, strings.Join(args, between)), shellWords(t, sh, strings.Join(commands, between))
}

func shellWords(t *testing.T, sh []string, script string) [][]string {
	t.Helper()
	cmd := exec.Command(sh[0], append(sh[1:], "-c", script)...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "LC_ALL=C"}
	cmd.Dir = t.TempDir()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%q -c %q: %v: %s", sh, script, err, stderr.String())
	}
	var words [][]string
	for out := range strings.SplitSeq(stdout.String(), sep) {
		if !strings.HasSuffix(out, "\x00") {
			t.Fatalf("%q -c %q printed %q, want NUL-terminated words", sh, script, out)
		}
		words = append(words, strings.Split(strings.TrimSuffix(out, "\x00"), "\x00"))
	}
	return words
}

// TestJoinRealShells gives Join's output to real shells and checks that they
// read back exactly the argv.
func TestJoinRealShells(t *testing.T) {
	if testing.Short() {
		t.Skip("runs shells")
	}
	argvs := [][]string{}
	for _, a := range trickyArgvs() {
		if len(a) > 1 {
			argvs = append(argvs, a[1:])
		}
	}
	// Random words of the bytes that matter, and of any byte Join takes.
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := " '\\\"$`;|&<>(){}[]*?~#^=%:@,+-._/aZ0\t"
	for range 100 {
		var argv []string
		for range 1 + r.IntN(5) {
			var b []byte
			for range r.IntN(12) {
				if r.IntN(8) == 0 {
					b = append(b, byte(0x20+r.IntN(0xe0)))
				} else {
					b = append(b, alphabet[r.IntN(len(alphabet))])
				}
			}
			w := string(b)
			w = strings.NewReplacer("\t", "", "!", "", "\x7f", "").Replace(w)
			argv = append(argv, w)
		}
		argvs = append(argvs, argv)
	}
	for _, sh := range availableShells(t) {
		t.Run(strings.Join(sh, " "), func(t *testing.T) {
			viaArgs, viaCommand := runShell(t, sh, argvs)
			if len(viaArgs) != len(argvs) || len(viaCommand) != len(argvs) {
				t.Fatalf("%q printed %d and %d commands' words, want %d", sh, len(viaArgs), len(viaCommand), len(argvs))
			}
			for i, argv := range argvs {
				if !slices.Equal(viaArgs[i], argv) {
					t.Errorf("%q read the arguments %q back as %q", sh, argv, viaArgs[i])
				}
				if !slices.Equal(viaCommand[i], argv) {
					t.Errorf("%q read the command line of %q back as %q", sh, argv, viaCommand[i])
				}
			}
		})
	}
}

// TestJoinFirstWordIsNotAnAssignment checks that a first word with '=' is
// run as a command (and not found), not taken as a variable assignment
// (which succeeds silently).
func TestJoinFirstWordIsNotAnAssignment(t *testing.T) {
	if testing.Short() {
		t.Skip("runs shells")
	}
	joined, err := Join([]string{"VAULT_TEST=1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, sh := range availableShells(t) {
		cmd := exec.Command(sh[0], append(sh[1:], "-c", joined)...)
		cmd.Env = []string{"PATH=/nonexistent"}
		cmd.Dir = t.TempDir()
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("%q -c %q succeeded (%q): the word was taken as an assignment", sh, joined, out)
		}
	}
}

// TestBangInTcsh shows why Join refuses '!': tcsh expands history inside
// single quotes even in `tcsh -c`, so no quoting carries it.
func TestBangInTcsh(t *testing.T) {
	if testing.Short() {
		t.Skip("runs shells")
	}
	tcsh := ""
	for _, p := range []string{"/bin/tcsh", "/usr/bin/tcsh"} {
		if _, err := os.Stat(p); err == nil {
			tcsh = p
			break
		}
	}
	if tcsh == "" {
		t.Skip("no tcsh")
	}
	out, err := exec.Command(tcsh, "-c", `printf '%s' 'a!b'`).CombinedOutput()
	if err == nil && string(out) == "a!b" {
		t.Errorf("tcsh printed 'a!b' as it is: Join could allow '!' in quotes")
	}
	if _, err := Join([]string{"printf", "a!b"}); err == nil {
		t.Errorf("Join accepted '!'")
	}
}
