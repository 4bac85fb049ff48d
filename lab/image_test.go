//go:build linux

package lab

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseTrack(t *testing.T) {
	for in, want := range map[string]Track{
		"": Backports, "2.3": Backports, "backports": Backports,
		"2.1": Bookworm, "bookworm": Bookworm,
		"2.4": TrixieBackports, "trixie-backports": TrixieBackports,
	} {
		if got, err := ParseTrack(in); err != nil || got != want {
			t.Errorf("ParseTrack(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	_, err := ParseTrack("2.2")
	if err == nil {
		t.Fatal("ParseTrack(2.2) accepted an unknown track")
	}
	for _, name := range []string{"2.1 (bookworm)", "2.3 (backports)", "2.4 (trixie-backports)"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("the error %q does not name %s", err, name)
		}
	}
}

// Each track's key covers its own build script, lab-init and lab-systemd-boot, and nothing of the other tracks'
// scripts: a change to the Debian 13 script must not throw away the Debian 12 images, nor the
// other way round.
func TestRecipeKeyCoversOnlyTheTracksRecipe(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"build.sh", "build-trixie.sh", "lab-init", "lab-systemd-boot"} {
		b, err := os.ReadFile(filepath.Join("image", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tracks := []Track{Backports, Bookworm, TrixieBackports}
	keys := func() map[Track]string {
		m := map[Track]string{}
		for _, tr := range tracks {
			k, err := RecipeKey(dir, tr)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(k, string(tr)+"-") {
				t.Errorf("key %s does not start with its track %s", k, tr)
			}
			m[tr] = k
		}
		return m
	}
	touch := func(name string) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString("# changed\n"); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		file    string
		changed []Track
	}{
		{"build-trixie.sh", []Track{TrixieBackports}},
		{"build.sh", []Track{Backports, Bookworm}},
		{"lab-init", tracks},
		{"lab-systemd-boot", tracks},
	} {
		before := keys()
		touch(c.file)
		after := keys()
		for _, tr := range tracks {
			want := false
			for _, ch := range c.changed {
				want = want || ch == tr
			}
			if got := before[tr] != after[tr]; got != want {
				t.Errorf("changing %s: the %s key changed = %v, want %v", c.file, tr, got, want)
			}
		}
	}
}
