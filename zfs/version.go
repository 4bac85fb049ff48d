package zfs

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// Version is an OpenZFS release: 2.4.4 is {2, 4, 4}.
type Version struct{ Major, Minor, Patch int }

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// AtLeast reports whether v is major.minor or later.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

// AppendOnlyReceive reports whether the release has the receive:append permission (OpenZFS 2.4):
// a delegated receive that the kernel refuses to force (-F), measured in the lab.
func (v Version) AppendOnlyReceive() bool { return v.AtLeast(2, 4) }

// Versions are what `zfs version` prints: the userland's and the loaded kernel module's. The
// kernel module is what enforces delegated permissions, so decisions read Kernel.
type Versions struct{ Userland, Kernel Version }

// ParseVersion reads `zfs version`:
//
//	zfs-2.4.4-1~bpo13+1
//	zfs-kmod-2.4.4-1~bpo13+1
//
// (FreeBSD: zfs-2.2.0-FreeBSD_g95785196f and zfs-kmod-2.2.0-FreeBSD_g95785196f). Both lines are
// required: without the kernel module's line (the module is not loaded) nothing can be decided.
func ParseVersion(out string) (Versions, error) {
	var vs Versions
	var user, kern bool
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 4096), maxLine)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "zfs-kmod-"):
			v, err := parseRelease(strings.TrimPrefix(line, "zfs-kmod-"))
			if err != nil {
				return vs, fmt.Errorf("zfs version line %s: %w", quoteTrunc(line, 80), err)
			}
			vs.Kernel, kern = v, true
		case strings.HasPrefix(line, "zfs-"):
			v, err := parseRelease(strings.TrimPrefix(line, "zfs-"))
			if err != nil {
				return vs, fmt.Errorf("zfs version line %s: %w", quoteTrunc(line, 80), err)
			}
			vs.Userland, user = v, true
		default:
			return vs, fmt.Errorf("zfs version line %s: want zfs-X.Y.Z or zfs-kmod-X.Y.Z", quoteTrunc(line, 80))
		}
	}
	if err := sc.Err(); err != nil {
		return vs, fmt.Errorf("zfs version: %w", err)
	}
	switch {
	case !user:
		return vs, fmt.Errorf("zfs version printed no zfs-X.Y.Z line")
	case !kern:
		return vs, fmt.Errorf("zfs version printed no zfs-kmod line: is the zfs kernel module loaded?")
	}
	return vs, nil
}

// parseRelease reads "2.4.4-1~bpo13+1", "2.2.0-FreeBSD_g95785196f" or "2.3.99-1": three
// decimal numbers, then nothing or a '-' and anything.
func parseRelease(s string) (Version, error) {
	num, _, _ := strings.Cut(s, "-")
	f := strings.Split(num, ".")
	if len(f) != 3 {
		return Version{}, fmt.Errorf("release %q is not X.Y.Z", num)
	}
	var v [3]int
	for i, p := range f {
		if p == "" || len(p) > 4 || strings.TrimLeft(p, "0123456789") != "" {
			return Version{}, fmt.Errorf("release %q is not X.Y.Z", num)
		}
		v[i], _ = strconv.Atoi(p)
	}
	return Version{v[0], v[1], v[2]}, nil
}

// Version runs `zfs version`.
func (z *ZFS) Version(ctx context.Context) (Versions, error) {
	argv, err := z.argv("version")
	if err != nil {
		return Versions{}, err
	}
	out, err := z.output(ctx, argv)
	if err != nil {
		return Versions{}, err
	}
	return ParseVersion(out.String())
}
