package main

import (
	"flag"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlagsAfterOperands(t *testing.T) {
	for _, c := range []struct {
		args     []string
		to       string
		newest   bool
		operands []string
	}{
		{[]string{"job", "ds@s", "--to", "h:p/x", "--newest-only"}, "h:p/x", true, []string{"job", "ds@s"}},
		{[]string{"--newest-only", "job", "--to", "h:p/x", "ds"}, "h:p/x", true, []string{"job", "ds"}},
		{[]string{"--to", "h:p/x", "job", "ds"}, "h:p/x", false, []string{"job", "ds"}},
		{[]string{"job", "--", "--to", "x"}, "", false, []string{"job", "--to", "x"}},
		{[]string{"--", "-job"}, "", false, []string{"-job"}},
		{nil, "", false, []string{}},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		to := fs.String("to", "", "")
		newest := fs.Bool("newest-only", false, "")
		done, err := parseFlags(fs, c.args)
		require.NoError(t, err, "%q", c.args)
		assert.False(t, done)
		assert.Equal(t, c.to, *to, "%q", c.args)
		assert.Equal(t, c.newest, *newest, "%q", c.args)
		assert.Equal(t, c.operands, fs.Args(), "%q", c.args)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.String("to", "", "")
	done, err := parseFlags(fs, []string{"job", "--nope"})
	assert.True(t, done)
	assert.Error(t, err)
	done, err = parseFlags(fs, []string{"job", "-h"})
	assert.True(t, done)
	assert.NoError(t, err)
}
