package zfs

import (
	"errors"
	"strings"
)

// The classifiers of zfs's English stderr below are the one place that matches it (zfs runs
// with LC_ALL=C, see Local): callers ask these instead of matching the text themselves. Each is
// checked against the real stderr of every OpenZFS release the lab runs (testdata/stderr,
// captured by the lab's TestLabStderrGoldens; TestClassifiersOnRealStderr).

// stderrOf gives the stderr of the zfs command err is, or wraps, and whether it is one.
func stderrOf(err error) (string, bool) {
	var ee *ExitError
	if !errors.As(err, &ee) {
		return "", false
	}
	return ee.Stderr, true
}

// IsHoldExists reports a zfs hold that failed because the snapshot already has a hold with
// that tag ("cannot hold snapshot 'pool/fs@s': tag already exists on this dataset").
func IsHoldExists(err error) bool {
	s, ok := stderrOf(err)
	return ok && strings.Contains(s, "tag already exists")
}

// IsHoldMissing reports a zfs release that failed because there is nothing to release: no
// hold with that tag ("cannot release hold from snapshot 'pool/fs@s': no such tag on this
// dataset"), or no such snapshot or dataset ("... does not exist").
func IsHoldMissing(err error) bool {
	s, ok := stderrOf(err)
	return ok && (strings.Contains(s, "no such tag") || strings.Contains(s, "does not exist"))
}

// IsResumeUnusable reports a zfs send -t that failed because the resume token cannot be used:
// zfs's "cannot resume send: ..." family (the snapshot the token was cut from is gone or no
// longer the same, or the token is corrupt). A failed connection is not that.
func IsResumeUnusable(err error) bool {
	s, ok := stderrOf(err)
	return ok && strings.Contains(s, "cannot resume send")
}

// IsQuotaExceeded reports a zfs command that failed for want of space: a quota reached
// ("disk quota exceeded", EDQUOT) or a full pool ("out of space", ENOSPC).
func IsQuotaExceeded(err error) bool {
	var ee *ExitError
	if !errors.As(err, &ee) {
		return false
	}
	s := strings.ToLower(ee.Stderr)
	return strings.Contains(s, "quota exceeded") || strings.Contains(s, "out of space") || strings.Contains(s, "no space left")
}

// IsNotExist reports a zfs command that failed because a dataset it names does not exist
// ("cannot open 'pool/x': dataset does not exist").
func IsNotExist(err error) bool {
	var ee *ExitError
	return errors.As(err, &ee) && strings.Contains(ee.Stderr, "dataset does not exist")
}
