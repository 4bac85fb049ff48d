package daemon

import (
	"errors"
	"testing"

	"github.com/belltech/vault/puller"
	"github.com/stretchr/testify/assert"
)

func TestRunSummary(t *testing.T) {
	r := &puller.Report{Datasets: []puller.DatasetReport{
		{Outcome: puller.OK, Bytes: 100}, {Outcome: puller.UpToDate}, {Outcome: puller.OK, Bytes: 23},
		{Outcome: puller.Conflicted},
	}}
	assert.Equal(t, []any{"datasets", 4, "bytes", int64(123), "ok", 2, "up-to-date", 1, "conflict", 1}, runSummary(r))
	assert.Equal(t, []any{"datasets", 0, "bytes", int64(0), "error", "cannot connect"},
		runSummary(&puller.Report{Err: errors.New("cannot connect")}))
	assert.Nil(t, runSummary(nil))
}
