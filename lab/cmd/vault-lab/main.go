// Command vault-lab drives the real-OpenZFS lab from the Makefile:
//
//	vault-lab image   build the guest image, or reuse the cached one (make lab)
//	vault-lab demo    boot the lab and narrate a scenario on real pools (make demo)
//	vault-lab run -- SCRIPT   boot, set up, run one bash script as root, print its output
//
// VAULT_LAB_ZFS=2.1 selects OpenZFS 2.1 (bookworm) and VAULT_LAB_ZFS=2.4 OpenZFS 2.4 (Debian 13,
// trixie-backports) instead of 2.3 (bookworm-backports);
// VAULT_LAB_CACHE moves the image cache from /var/cache/vault-lab.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/belltech/vault/lab"
	"github.com/belltech/vault/lab/labtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: vault-lab image|demo|run -- SCRIPT")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "image":
		err = image(ctx)
	case "demo":
		err = demo(ctx)
	case "run":
		err = runScript(ctx, strings.Join(os.Args[2:], " "))
	default:
		fmt.Fprintf(os.Stderr, "vault-lab: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "vault-lab:", err)
		os.Exit(1)
	}
}

func image(ctx context.Context) error {
	repo, err := lab.RepoRoot()
	if err != nil {
		return err
	}
	track, err := lab.ParseTrack(os.Getenv("VAULT_LAB_ZFS"))
	if err != nil {
		return err
	}
	start := time.Now()
	img, err := lab.EnsureImage(ctx, lab.ImageOptions{RecipeDir: filepath.Join(repo, "lab", "image"), Track: track, Log: os.Stderr})
	if err != nil {
		return err
	}
	fmt.Printf("lab image %s ready in %s: kernel %s, OpenZFS %s\n", img.Dir, time.Since(start).Round(time.Second), img.Manifest["kernel"], img.Manifest["zfs"])
	return nil
}

func runScript(ctx context.Context, script string) error {
	script = strings.TrimPrefix(strings.TrimSpace(script), "-- ")
	g, cleanup, err := labtest.Start(ctx, os.Stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	res, err := g.Script(ctx, "", script)
	if err != nil {
		return err
	}
	fmt.Print(res.Stdout)
	fmt.Fprint(os.Stderr, res.Stderr)
	if res.Exit != 0 {
		return fmt.Errorf("script exited %d", res.Exit)
	}
	return nil
}
