//go:build linux

package lab

import (
	"strings"
	"testing"
)

func TestKernelCmdline(t *testing.T) {
	for _, tc := range []struct {
		init, want, err string
	}{
		{init: "", want: "init=/sbin/lab-init"},
		{init: InitLab, want: "init=/sbin/lab-init"},
		{init: InitSystemd, want: "init=/lib/systemd/systemd systemd.unit=vault-lab.target"},
		{init: "sysvinit", err: `unknown init "sysvinit"`},
	} {
		got, err := kernelCmdline(tc.init)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("kernelCmdline(%q): error %v, want one containing %q", tc.init, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("kernelCmdline(%q): %v", tc.init, err)
			continue
		}
		if !strings.Contains(got, tc.want) || !strings.HasPrefix(got, "root=/dev/vda rw console=ttyS0 ") {
			t.Errorf("kernelCmdline(%q) = %q, want the root disk, the serial console and %q", tc.init, got, tc.want)
		}
		if strings.Count(got, "init=") != 1 {
			t.Errorf("kernelCmdline(%q) = %q: want exactly one init=", tc.init, got)
		}
	}
}
