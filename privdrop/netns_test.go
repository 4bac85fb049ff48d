package privdrop

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNoNetwork(t *testing.T) {
	lo := net.Interface{Name: "lo", Flags: net.FlagLoopback}
	for _, tc := range []struct {
		name string
		ifs  []net.Interface
		bad  string
	}{
		{"a new namespace: lo down", []net.Interface{lo}, ""},
		{"nothing at all", nil, ""},
		{"lo up", []net.Interface{{Name: "lo", Flags: net.FlagLoopback | net.FlagUp}}, "lo (up|loopback)"},
		{"an ethernet, even down", []net.Interface{lo, {Name: "eth0", Flags: net.FlagBroadcast}}, "eth0"},
		{"a tunnel up", []net.Interface{lo, {Name: "wg0", Flags: net.FlagUp | net.FlagPointToPoint}}, "wg0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := noNetwork(tc.ifs)
			if tc.bad == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tc.bad)
		})
	}
}
