package operate

import (
	"testing"

	"github.com/belltech/vault/conf"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A media job has no source host: translating it (vault import does) must not need one.
func TestPullerJobOfAMediaJob(t *testing.T) {
	c := &conf.Config{HoldPrefix: "vault:"}
	j := &conf.Job{Name: "m", SourceDatasets: []string{"host09data/vm"}, Target: "rust10/Backups/m", Recursive: true}
	require.True(t, j.IsMedia())
	pj, err := PullerJob(c, j)
	require.NoError(t, err)
	assert.Equal(t, "", pj.Host)
	assert.Equal(t, "host09data/vm", pj.Roots[0].String())
}
