package serve

import (
	"fmt"
	"slices"
	"strings"
)

// keptEnv are the variables vault serve keeps of those sshd gives it: the
// command, and the client's address for the log. See the package
// documentation, Environment.
var keptEnv = []string{"SSH_ORIGINAL_COMMAND", "SSH_CLIENT", "SSH_CONNECTION"}

// startupEnv are variables read before main runs, or that may have been
// read by then: the Go runtime's, and the time package's zone. Dropping
// them takes executing the program again.
var startupEnv = []string{"GODEBUG", "GOGC", "GOMAXPROCS", "GOMEMLIMIT", "GOTRACEBACK", "TZ", "ZONEINFO"}

// ReexecMark is set in the environment of vault serve executed again by
// itself with a clean environment, so that it does not do so twice.
const ReexecMark = "VAULT_SERVE_REEXEC"

// Environ decides the environment of vault serve from environ, the one it
// was started with (os.Environ()). env holds only the variables serve
// reads (the first of each, as os.Getenv reads it). If reexec, some
// variable the process already read as it started is set: the process
// must execute itself again with env, which then carries [ReexecMark].
// Otherwise it replaces its environment with env and goes on. The error
// reports such a variable in an environment that has the mark: a second
// time means the client set the mark itself, and serve refuses.
func Environ(environ []string) (env []string, reexec bool, err error) {
	var started []string
	marked := false
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case slices.Contains(keptEnv, k) && !slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, k+"=") }):
			env = append(env, kv)
		case slices.Contains(startupEnv, k):
			started = append(started, k)
		case k == ReexecMark:
			marked = true
		}
	}
	switch {
	case len(started) == 0:
		return env, false, nil
	case marked:
		return nil, false, fmt.Errorf("%s set although %s says the environment was cleaned", strings.Join(started, ", "), ReexecMark)
	}
	return append(env, ReexecMark+"=1"), true, nil
}
