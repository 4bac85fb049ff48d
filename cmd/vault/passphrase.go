package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"

	"golang.org/x/term"

	"github.com/belltech/vault/sneakernet"
)

// passphraseFlags are the ways to give a break-glass passphrase: a file, or the terminal.
// Never a flag's value, which ps and shell history would show.
type passphraseFlags struct {
	file string
	ask  bool
}

func (p *passphraseFlags) register(fs *flag.FlagSet, what string) {
	fs.StringVar(&p.file, "passphrase-file", "", "read the break-glass passphrase "+what+" from `FILE` (one line, mode 0600)")
	fs.BoolVar(&p.ask, "ask-passphrase", false, "ask for the break-glass passphrase "+what+" on the terminal")
}

func (p *passphraseFlags) set() bool { return p.file != "" || p.ask }

// check refuses contradictory flags; commands call it before they do anything else.
func (p *passphraseFlags) check() error {
	if p.file != "" && p.ask {
		return usageErrorf("give --passphrase-file or --ask-passphrase, not both")
	}
	return nil
}

// read returns the passphrase from the file, or asks for it on the terminal (twice if
// confirm). It returns "" if neither flag was given.
func (p *passphraseFlags) read(s *stdio, confirm bool) (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	switch {
	case p.file != "":
		return readPassphraseFile(p.file)
	case p.ask:
		return askPassphrase(s, confirm)
	}
	return "", nil
}

// readPassphraseFile reads a passphrase file: a key file (0600, not readable by others),
// one line, a final newline ignored.
func readPassphraseFile(path string) (string, error) {
	data, err := sneakernet.ReadKeyFile(path)
	if err != nil {
		return "", &exitError{code: exitUsage, err: fmt.Errorf("--passphrase-file: %w", err)}
	}
	line, _ := bytes.CutSuffix(data, []byte("\n"))
	line, _ = bytes.CutSuffix(line, []byte("\r"))
	switch {
	case len(line) == 0:
		return "", usageErrorf("--passphrase-file %s is empty: write the passphrase on its one line", path)
	case bytes.ContainsAny(line, "\r\n"):
		return "", usageErrorf("--passphrase-file %s holds more than one line: write only the passphrase", path)
	}
	return string(line), nil
}

func askPassphrase(s *stdio, confirm bool) (string, error) {
	f, ok := s.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", usageErrorf("--ask-passphrase needs a terminal on standard input; use --passphrase-file FILE (mode 0600) instead")
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(s.err, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(s.err)
		if err != nil {
			return "", fmt.Errorf("cannot read the passphrase: %w", err)
		}
		return string(b), nil
	}
	pass, err := ask("break-glass passphrase: ")
	if err != nil {
		return "", err
	}
	if pass == "" {
		return "", usageErrorf("the passphrase is empty")
	}
	if confirm {
		again, err := ask("the same again: ")
		if err != nil {
			return "", err
		}
		if again != pass {
			return "", usageErrorf("the two passphrases differ; nothing was written")
		}
	}
	return pass, nil
}

// errNoIdentity is what an import without any way to decrypt says.
var errNoIdentity = errors.New("no way to decrypt: the configuration has no age_identity; set it, or give the export's break-glass passphrase (--passphrase-file FILE or --ask-passphrase)")
