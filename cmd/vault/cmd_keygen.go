package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"time"

	"filippo.io/age"

	"github.com/belltech/vault/conf"
	"github.com/belltech/vault/sneakernet"
)

func init() {
	register(command{name: "keygen", summary: "make the vault's age identity, or a signing key (an exporting host's, or the vault's own for restore exports)", run: runKeygen})
}

const keygenUsage = "usage: vault keygen --age FILE | --signing FILE"

func runKeygen(_ context.Context, s *stdio, args []string) error {
	fs := newFlags(s, "keygen", keygenUsage,
		"\n--age FILE writes an age X25519 identity (the format of age-keygen) for the vault, and prints\nits recipient for the exporting hosts. --signing FILE writes an ed25519 signing key and prints\nits public key: for an exporting host (vault export --signing-key), the public_key line for\nthe vault's [[signer]]; for the vault itself (vault restore export --signing-key), the\n--signer-key of vault import --to on the host being restored (keep it with the runbook, off\nthe vault). Files are written 0600 and never replaced.")
	ageFile := fs.String("age", "", "write an age identity to `FILE`")
	signFile := fs.String("signing", "", "write a signing key to `FILE`")
	if done, err := parseFlags(fs, args); done {
		return err
	}
	if fs.NArg() > 0 || (*ageFile == "") == (*signFile == "") {
		return usageErrorf("give exactly one of --age FILE and --signing FILE; %s", keygenUsage)
	}
	now := time.Now()
	if *ageFile != "" {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return err
		}
		if err := sneakernet.WriteKeyFile(*ageFile, sneakernet.MarshalIdentity(id, now)); err != nil {
			return err
		}
		fmt.Fprintf(s.out, "wrote %s\nrecipient (for vault export --recipient on the exporting hosts): %s\n", *ageFile, id.Recipient())
		return nil
	}
	k, err := sneakernet.GenerateSigningKey()
	if err != nil {
		return err
	}
	if err := sneakernet.WriteKeyFile(*signFile, sneakernet.MarshalSigningKey(k, now)); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "wrote %s\npublic key, for the vault's [[signer]] table (an exporting host's key), or for vault import --to --signer-key (the vault's own key):\npublic_key = %q\n", *signFile, conf.FormatSignerKey(k.Public().(ed25519.PublicKey)))
	return nil
}
