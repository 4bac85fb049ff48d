package operate

import (
	"testing"

	"github.com/belltech/vault/conf"
)

// A media job has no source host: translating it (vault import does) must not need one.
func TestPullerJobOfAMediaJob(t *testing.T) {
	j := &conf.Job{Name: "m", SourceDatasets: []string{"host09data/vm"}, Target: "rust10/Backups/m", Recursive: true}
	if !j.IsMedia() {
		t.Fatal("a job without a source is not a media job")
	}
	pj, err := PullerJob(&conf.Config{HoldPrefix: "vault:"}, j)
	if err != nil {
		t.Fatal(err)
	}
	if pj.Host != "" || len(pj.Roots) != 1 || pj.Roots[0].String() != "host09data/vm" {
		t.Errorf("got host %q, roots %v; want no host, host09data/vm", pj.Host, pj.Roots)
	}
}
