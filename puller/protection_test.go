package puller

import (
	"strings"
	"testing"

	"github.com/belltech/vault/zfs"
)

func TestProtectionOf(t *testing.T) {
	v := func(major, minor, patch int) *zfs.Version {
		return &zfs.Version{Major: major, Minor: minor, Patch: patch}
	}
	for _, tc := range []struct {
		kernel  *zfs.Version
		pruner  bool
		want    Protection
		explain string
	}{
		{v(2, 4, 4), true, ProtectionAppendOnly, "append-only (OpenZFS 2.4.4)"},
		{v(3, 0, 0), true, ProtectionAppendOnly, "append-only"},
		{v(2, 3, 2), true, ProtectionDetected, "receive-implies-rollback (OpenZFS 2.3.2)"},
		{v(2, 1, 11), true, ProtectionDetected, "detected, not prevented"},
		{v(2, 4, 4), false, ProtectionNone, "set prune_user"},
		{nil, false, ProtectionNone, "none (OpenZFS version unknown)"},
		{nil, true, ProtectionUnknown, "unknown (OpenZFS version unknown)"},
	} {
		got := ProtectionOf(tc.kernel, tc.pruner)
		if got != tc.want {
			t.Errorf("ProtectionOf(%v, %v) = %v, want %v", tc.kernel, tc.pruner, got, tc.want)
		}
		version := ""
		if tc.kernel != nil {
			version = tc.kernel.String()
		}
		if e := got.Explain(version); !strings.Contains(e, tc.explain) || !strings.HasPrefix(e, got.String()+" (") {
			t.Errorf("%v.Explain(%q) = %q, want it to start with the level and hold %q", got, version, e, tc.explain)
		}
	}
}
