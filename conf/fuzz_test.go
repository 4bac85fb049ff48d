package conf

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that every failure is a *Problems, and
// that what parses can be described and validates again.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*.toml", "testdata/invalid/*.toml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("job = [{}]\n"))
	f.Add([]byte("[[job]]\n[[job.prune]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := parse("fuzz.toml", data, host{goos: "linux", name: "rust10.example.org"})
		if err != nil {
			var ps *Problems
			if !errors.As(err, &ps) || len(*ps) == 0 {
				t.Fatalf("got %T %v, want a non-empty *Problems", err, err)
			}
			_ = err.Error()
			return
		}
		c.Describe(io.Discard)
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed, but does not validate again: %v", err)
		}
	})
}
