//go:build lab && linux

// Package systemd runs dist/vault.service under a real systemd in the lab guest: a package of
// its own because one boot serves a whole test package, and this one boots systemd as PID 1
// (the image's vault-lab.target) instead of lab-init. Run it with
//
//	go test -tags lab -run '^TestLabSystemdUnit$' ./e2e/systemd/
package systemd

import (
	"testing"

	"github.com/belltech/vault/lab"
	"github.com/belltech/vault/lab/labtest"
)

func TestMain(m *testing.M) { labtest.MainWith(m, labtest.Options{Init: lab.InitSystemd}) }
