package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/belltech/vault/conf"
)

func TestArchiveNames(t *testing.T) {
	j := &conf.Job{Name: "host05", SourceDatasets: []string{"host05data/jail"}, Target: "rust10/Backups/host05", Recursive: true}
	now := time.Date(2026, 12, 7, 18, 30, 5, 0, time.FixedZone("CET", 3600))
	for _, tt := range []struct {
		name, arg, wantTarget, wantDest, wantErr string
	}{
		{"the source's name", "host05data/jail/www", "rust10/Backups/host05/jail/www", "rust10/Archive/Backups_host05_jail_www-20261207T173005Z", ""},
		{"the target's name", "rust10/Backups/host05/jail", "rust10/Backups/host05/jail", "rust10/Archive/Backups_host05_jail-20261207T173005Z", ""},
		{"neither", "tank/other", "", "", `"tank/other" is neither a source dataset of job "host05" nor under its target "rust10/Backups/host05"`},
		{"the target itself", "rust10/Backups/host05", "", "", `"rust10/Backups/host05" is neither a source dataset of job "host05" nor under its target "rust10/Backups/host05"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			td, archive, dest, err := archiveNames(j, tt.arg, now)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			if td.String() != tt.wantTarget || archive.String() != "rust10/Archive" || dest.String() != tt.wantDest {
				t.Errorf("got %s into %s as %s, want %s into rust10/Archive as %s", td, archive, dest, tt.wantTarget, tt.wantDest)
			}
		})
	}
}
