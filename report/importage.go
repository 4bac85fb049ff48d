package report

import (
	"fmt"
	"time"

	"github.com/belltech/vault/conf"
)

// dataStamp is a data time in what vault import prints: UTC, to the second.
const dataStamp = "2006-01-02 15:04:05 UTC"

// ImportDataTime is when the data an import brought was made: the older of the manifest's
// created and the received snapshot's creation (zfs receive keeps the source's). Either alone
// can lie: a manifest re-signed with a fresh created still carries an old snapshot, and a
// snapshot made on a host whose clock runs late is newer than its manifest says. creationErr
// is why the creation could not be read; then the manifest's created stands alone. A time
// after now (a wrong clock on the exporting host, or a forged manifest) counts as now: the data
// never looks newer than the moment it arrived. The warnings, one line each, say what was
// assumed.
func ImportDataTime(created, creation time.Time, creationErr error, now time.Time) (time.Time, []string) {
	var warns []string
	data := created
	switch {
	case creationErr != nil:
		warns = append(warns, fmt.Sprintf("cannot read the creation of the received snapshot (%s); the data's age is the manifest's created, %s",
			oneLine(creationErr.Error()), created.UTC().Format(dataStamp)))
	case creation.IsZero():
		warns = append(warns, fmt.Sprintf("the received snapshot has no creation time; the data's age is the manifest's created, %s", created.UTC().Format(dataStamp)))
	case created.IsZero() || creation.Before(created):
		data = creation
	}
	for _, c := range []struct {
		what string
		t    time.Time
	}{{"the manifest's created", created}, {"the received snapshot's creation", creation}} {
		if c.t.After(now) {
			warns = append(warns, fmt.Sprintf("%s, %s, is %s in the future (a wrong clock where it was made, or a forged manifest); the data is taken to be no newer than now",
				c.what, c.t.UTC().Format(dataStamp), Age(c.t.Sub(now))))
		}
	}
	if data.IsZero() || data.After(now) {
		data = now
	}
	return data.UTC().Truncate(time.Second), warns
}

// StaleImport is the warning for an import whose data is older than its job's rpo, or "" when
// it is not (or the job has no rpo): the import succeeds, and the status will show the dataset
// lagging.
func StaleImport(name string, data, now time.Time, job string, rpo time.Duration) string {
	age := now.Sub(data)
	if rpo <= 0 || age <= rpo {
		return ""
	}
	return fmt.Sprintf("%s holds data from %s (%s old), older than job %q's rpo %s; status will show it lagging",
		name, data.UTC().Format(dataStamp), Age(age), job, conf.FormatDuration(rpo))
}
