//go:build linux

// Package lab builds, caches and boots the real-OpenZFS lab: a Debian 12 (or, for OpenZFS 2.4,
// Debian 13) guest under qemu-system-x86_64 with software emulation, OpenZFS built by DKMS from
// Debian's contrib packages. The e2e tests and `make demo` run the real vault binary inside it. See
// README.md, "The lab", for the recipe's facts and timings.
package lab

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// Track selects the OpenZFS release the guest carries.
type Track string

const (
	// Backports is OpenZFS 2.3.x from bookworm-backports, the default.
	Backports Track = "backports"
	// Bookworm is OpenZFS 2.1.x from bookworm itself.
	Bookworm Track = "bookworm"
	// TrixieBackports is OpenZFS 2.4.x from trixie-backports on Debian 13 (kernel 6.12).
	TrixieBackports Track = "trixie-backports"
)

// ParseTrack accepts the names a person types: "2.3", "backports", "2.1", "bookworm", "2.4",
// "trixie-backports".
func ParseTrack(s string) (Track, error) {
	switch s {
	case "", "2.3", "backports":
		return Backports, nil
	case "2.1", "bookworm":
		return Bookworm, nil
	case "2.4", "trixie-backports":
		return TrixieBackports, nil
	}
	return "", fmt.Errorf("unknown OpenZFS track %q: want 2.3 (backports), 2.1 (bookworm) or 2.4 (trixie-backports)", s)
}

// recipeFiles names the files of lab/image a track's image is built from, the build script
// first. The key hashes exactly these, so the Debian 13 track's script can change without
// invalidating the Debian 12 tracks' cached images, and the other way round.
func recipeFiles(track Track) []string {
	if track == TrixieBackports {
		return []string{"build-trixie.sh", "lab-init", "lab-systemd-boot"}
	}
	return []string{"build.sh", "lab-init", "lab-systemd-boot"}
}

// recipeVersion is bumped when the way the image is assembled changes outside the recipe files.
const recipeVersion = "1"

// minBuildFree is the disk space a build needs in the cache's file system: the root tree
// (about 1.5 GB while packages are installed), the ext4 image and headroom.
const minBuildFree = 6 << 30

// ImageOptions says where the image lives and how to build it.
type ImageOptions struct {
	// CacheDir holds one directory per recipe key; default /var/cache/vault-lab or $VAULT_LAB_CACHE.
	CacheDir string
	// RecipeDir holds build.sh, build-trixie.sh, lab-init and lab-systemd-boot (the repo's lab/image).
	RecipeDir string
	Track     Track
	// Mirror is the Debian mirror; default: the one this machine's apt uses.
	Mirror string
	// Log receives build progress; nil discards it.
	Log io.Writer
}

// Image is a built, cached guest.
type Image struct {
	Dir      string
	Key      string
	Kernel   string
	Initrd   string
	Rootfs   string
	Manifest map[string]string
}

// DefaultCacheDir is where images are cached unless VAULT_LAB_CACHE says otherwise.
func DefaultCacheDir() string {
	if d := os.Getenv("VAULT_LAB_CACHE"); d != "" {
		return d
	}
	return "/var/cache/vault-lab"
}

// RecipeKey hashes what the track's image is built from (recipeFiles), so a change to its recipe
// rebuilds it and a change to another track's does not.
func RecipeKey(recipeDir string, track Track) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "vault-lab %s %s\n", recipeVersion, track)
	for _, name := range recipeFiles(track) {
		b, err := os.ReadFile(filepath.Join(recipeDir, name))
		if err != nil {
			return "", fmt.Errorf("cannot read the lab recipe: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return string(track) + "-" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// EnsureImage returns the cached image for the recipe, building it first if needed. Concurrent
// callers serialise on a lock per key; the build happens in a scratch directory renamed into
// place only when complete, so a failed or killed build never leaves a usable-looking image.
func EnsureImage(ctx context.Context, o ImageOptions) (*Image, error) {
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.Track == "" {
		o.Track = Backports
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	key, err := RecipeKey(o.RecipeDir, o.Track)
	if err != nil {
		return nil, err
	}
	final := filepath.Join(o.CacheDir, key)
	if img, err := openImage(final, key); err == nil {
		fmt.Fprintf(logw, "lab: reusing image %s (%s)\n", final, img.describe())
		return img, nil
	}
	if err := preflightBuild(o.CacheDir); err != nil {
		return nil, err
	}
	lock := flock.New(final + ".lock")
	fmt.Fprintf(logw, "lab: waiting for the image lock %s\n", lock.Path())
	if _, err := lock.TryLockContext(ctx, time.Second); err != nil {
		return nil, fmt.Errorf("cannot lock %s: %w", lock.Path(), err)
	}
	defer lock.Unlock()
	// Another process may have finished the build while we waited.
	if img, err := openImage(final, key); err == nil {
		fmt.Fprintf(logw, "lab: reusing image %s built meanwhile (%s)\n", final, img.describe())
		return img, nil
	}
	mirror := o.Mirror
	if mirror == "" {
		mirror = hostMirror()
	}
	work := final + ".building"
	if err := removeBuildDir(work); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", work, err)
	}
	fmt.Fprintf(logw, "lab: building image %s (OpenZFS track %s, mirror %s); about 15 minutes on 2 cores\n", key, o.Track, mirror)
	start := time.Now()
	cmd := exec.CommandContext(ctx, "/bin/bash", filepath.Join(o.RecipeDir, recipeFiles(o.Track)[0]), work, string(o.Track), mirror)
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	if err := cmd.Run(); err != nil {
		keepLogs(work, final+".failed")
		_ = removeBuildDir(work)
		return nil, fmt.Errorf("cannot build the lab image: %w (logs kept in %s.failed)", err, final)
	}
	if err := os.Rename(work, final); err != nil {
		return nil, fmt.Errorf("cannot move the built image into place: %w", err)
	}
	img, err := openImage(final, key)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logw, "lab: image built in %s (%s)\n", time.Since(start).Round(time.Second), img.describe())
	return img, nil
}

func (img *Image) describe() string {
	return fmt.Sprintf("kernel %s, zfs %s", img.Manifest["kernel"], img.Manifest["zfs"])
}

func openImage(dir, key string) (*Image, error) {
	img := &Image{
		Dir: dir, Key: key,
		Kernel: filepath.Join(dir, "vmlinuz"),
		Initrd: filepath.Join(dir, "initrd.img"),
		Rootfs: filepath.Join(dir, "rootfs.img"),
	}
	m, err := readManifest(filepath.Join(dir, "manifest.txt"))
	if err != nil {
		return nil, err
	}
	img.Manifest = m
	for _, f := range []string{img.Kernel, img.Initrd, img.Rootfs} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("lab image %s is incomplete: %w", dir, err)
		}
	}
	return img, nil
}

func readManifest(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			m[k] = v
		}
	}
	return m, sc.Err()
}

// preflightBuild checks what a build needs and says what is missing and how to get it.
func preflightBuild(cacheDir string) error {
	if os.Geteuid() != 0 {
		return errors.New("building the lab image needs root (debootstrap and chroot): run `make lab` as root once; booting it does not")
	}
	var missing []string
	for _, bin := range []string{"debootstrap", "mkfs.ext4", "chroot"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("cannot build the lab image: %s not found; install with `apt-get install debootstrap e2fsprogs`", strings.Join(missing, ", "))
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return fmt.Errorf("cannot create the lab cache %s: %w", cacheDir, err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(cacheDir, &st); err != nil {
		return fmt.Errorf("cannot check free space in %s: %w", cacheDir, err)
	}
	if free := st.Bavail * uint64(st.Bsize); free < minBuildFree {
		return fmt.Errorf("cannot build the lab image: %s has %d MiB free, the build needs %d MiB; free some space or set VAULT_LAB_CACHE to a roomier directory",
			cacheDir, free>>20, minBuildFree>>20)
	}
	return nil
}

// hostMirror returns the Debian mirror this machine's apt uses, so the guest is built from the
// same source (the only one reachable here).
func hostMirror() string {
	if m := os.Getenv("VAULT_LAB_MIRROR"); m != "" {
		return m
	}
	files, _ := filepath.Glob("/etc/apt/sources.list.d/*.sources")
	files = append(files, "/etc/apt/sources.list")
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			var uri string
			switch {
			case len(fields) >= 2 && fields[0] == "URIs:":
				uri = fields[1]
			case len(fields) >= 3 && fields[0] == "deb" && !strings.HasPrefix(fields[1], "["):
				uri = fields[1]
			}
			if strings.HasSuffix(strings.TrimSuffix(uri, "/"), "/debian") {
				return strings.TrimSuffix(uri, "/")
			}
		}
	}
	return "http://deb.debian.org/debian"
}

// removeBuildDir deletes an unfinished build, first detaching anything still mounted inside it
// (a killed build can leave the chroot's /dev, /proc and /sys bind mounts behind, and a plain
// recursive delete would then walk into the host's /dev).
func removeBuildDir(dir string) error {
	if _, err := os.Lstat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	for range 3 {
		mounts, err := mountsUnder(dir)
		if err != nil {
			return err
		}
		if len(mounts) == 0 {
			return os.RemoveAll(dir)
		}
		for i := len(mounts) - 1; i >= 0; i-- {
			_ = syscall.Unmount(mounts[i], syscall.MNT_DETACH)
		}
	}
	return fmt.Errorf("refusing to delete %s: file systems are still mounted inside it", dir)
}

func mountsUnder(dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		return nil, fmt.Errorf("cannot read the mount table: %w", err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		mp := strings.ReplaceAll(f[1], `\040`, " ")
		if mp == abs || strings.HasPrefix(mp, abs+"/") {
			out = append(out, mp)
		}
	}
	sort.Strings(out)
	return out, nil
}

func keepLogs(work, dest string) {
	_ = os.RemoveAll(dest)
	_ = os.MkdirAll(dest, 0o755)
	logs, _ := filepath.Glob(filepath.Join(work, "*.log"))
	for _, l := range logs {
		if b, err := os.ReadFile(l); err == nil {
			_ = os.WriteFile(filepath.Join(dest, filepath.Base(l)), b, 0o644)
		}
	}
}
