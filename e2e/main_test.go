//go:build lab && linux

// Package e2e holds the tests that run the real vault binary against real OpenZFS in the lab
// guest. They are built only with the lab tag: `make e2e` (or `make check`) runs them. One boot
// serves the whole package; every test works in datasets of its own.
package e2e

import (
	"testing"

	"github.com/belltech/vault/lab/labtest"
)

func TestMain(m *testing.M) { labtest.Main(m) }
