package sshx

import (
	"context"
	"io"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/belltech/vault/zfs"
)

func TestExpCPU(t *testing.T) {
	if os.Getenv("EXP") == "" {
		t.Skip()
	}
	s := startSSHD(t)
	n := int64(1 << 30)
	var cpus, rates []float64
	for i := 0; i < 5; i++ {
		r0 := cpuSelf()
		start := time.Now()
		c, err := Dial(context.Background(), s.config())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Run(context.Background(), zfs.Cmd{Argv: []string{"/usr/bin/head", "-c", strconv.FormatInt(n, 10), "/dev/zero"}, Stdout: io.Discard}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		d := time.Since(start)
		cpus = append(cpus, (cpuSelf() - r0).Seconds())
		rates = append(rates, float64(n)/d.Seconds()/1e6)
	}
	sort.Float64s(cpus)
	sort.Float64s(rates)
	t.Logf("%s: cpu/GiB median %.2f (min %.2f max %.2f), MB/s median %.0f max %.0f", os.Getenv("EXP"), cpus[2], cpus[0], cpus[4], rates[2], rates[4])
}
