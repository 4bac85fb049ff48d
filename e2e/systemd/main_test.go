//go:build lab && linux

// Package systemd runs dist/vault.service under a real systemd in the lab guest: a package of
// its own because one boot serves a whole test package, and this one boots systemd as PID 1
// (the image's vault-lab.target) instead of lab-init. Run it with
//
//	go test -tags lab -run '^TestLabSystemdUnit$' ./e2e/systemd/
package systemd

import (
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/belltech/vault/lab"
	"github.com/belltech/vault/lab/labtest"
)

func TestMain(m *testing.M) {
	// A -run that selects no test here (make smoke runs ./e2e/... with its own list) boots no
	// guest: a systemd boot costs about a minute.
	flag.Parse()
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
		top, _, _ := strings.Cut(f.Value.String(), "/")
		if re, err := regexp.Compile(top); err == nil && !re.MatchString("TestLabSystemdUnit") {
			os.Exit(m.Run())
		}
	}
	labtest.MainWith(m, labtest.Options{Init: lab.InitSystemd})
}
