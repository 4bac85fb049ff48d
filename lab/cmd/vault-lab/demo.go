package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/belltech/vault/lab/labtest"
)

// A demo step: what the narrator says, then what runs in the guest. A step whose script exits
// with another status than wantExit (0 unless the step shows a refusal) stops the demo.
type step struct {
	say      string
	user     string // "" is root
	script   string
	wantExit int
}

func demo(ctx context.Context) error {
	start := time.Now()
	g, cleanup, err := labtest.Start(ctx, os.Stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	for i, s := range scenario {
		fmt.Printf("\n\033[1m[%d/%d] %s\033[0m\n", i+1, len(scenario), s.say)
		who := "root"
		if s.user != "" {
			who = s.user
		}
		for _, line := range strings.Split(strings.TrimSpace(s.script), "\n") {
			fmt.Printf("  %s# %s\n", who, line)
		}
		res, err := g.Script(ctx, s.user, s.script)
		if err != nil {
			return err
		}
		out := strings.TrimRight(res.Stdout+res.Stderr, "\n")
		if out != "" {
			fmt.Println("  " + strings.ReplaceAll(out, "\n", "\n  "))
		}
		fmt.Printf("  (exit %d)\n", res.Exit)
		if res.Exit != s.wantExit {
			return fmt.Errorf("demo step %d went wrong: exit %d, want %d", i+1, res.Exit, s.wantExit)
		}
	}
	fmt.Printf("\nDemo finished in %s.\n", time.Since(start).Round(time.Second))
	return nil
}
