package zpool

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ScanKind is what a scan line reports.
type ScanKind string

// The kinds of scan.
const (
	ScanScrub      ScanKind = "scrub"
	ScanResilver   ScanKind = "resilver"    // healing resilver, or a sequential one of Scan.Vdev
	ScanErrorScrub ScanKind = "error-scrub" // zpool scrub -e (OpenZFS 2.2 and later)
)

// ScanState is where a scan stands.
type ScanState string

// The states of a scan.
const (
	ScanFinished ScanState = "finished"
	ScanCanceled ScanState = "canceled"
	ScanRunning  ScanState = "in-progress"
	ScanPaused   ScanState = "paused" // scrubs only
)

// Scan is one scan line of `zpool status` ("  scan: ..." or, for an error scrub, " scrub: ...")
// with the lines that continue it.
type Scan struct {
	Kind  ScanKind
	State ScanState
	// Vdev is the top-level vdev of a sequential resilver (zpool attach -s, "resilvered
	// (mirror-0) ..."); "" for a healing resilver and for scrubs.
	Vdev string
	// Thorough: a thorough scrub (zpool scrub -t, OpenZFS after 2.4).
	Thorough bool
	Start    time.Time // running or paused: when it started; zero otherwise
	End      time.Time // finished or canceled: when it ended; zero otherwise
	Paused   time.Time // paused: since when
	// Processed is what a finished or running scrub repaired, or a resilver resilvered, as
	// zpool prints it ("0B", "1.50M": never exact, -p or not); ProcessedBytes reads it back,
	// exact for 0 and within 1% otherwise.
	Processed      string
	ProcessedBytes uint64
	// Errors a finished scrub or resilver could not repair.
	Errors uint64
	// ErrorBlocks an error scrub examined.
	ErrorBlocks uint64
	// Percent done of a running or paused scan; -1 when zpool printed nan (a scan just started).
	Percent float64
	// Text is the scan's first line as printed, after the label.
	Text string
}

// InProgress reports whether the scan is running or paused.
func (s Scan) InProgress() bool { return s.State == ScanRunning || s.State == ScanPaused }

// ctimeLayout is ctime(3) in the C locale, without its newline.
const ctimeLayout = "Mon Jan _2 15:04:05 2006"

const (
	reDate = `([A-Z][a-z]{2} [A-Z][a-z]{2} [ 1-3][0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4,})`
	reDHMS = `((?:[0-9]+ days )?[0-9]{2}:[0-9]{2}:[0-9]{2})`
	reNice = `([0-9]+(?:\.[0-9]{1,2})?[BKMGTPE])`
	reVdev = `\(([^()]+)\)`
	rePct  = `([0-9]+\.[0-9]{2}|-?nan|-?inf)`
)

var (
	scanFinishedRE      = regexp.MustCompile(`^(thorough )?scrub repaired ` + reNice + ` in ` + reDHMS + ` with ([0-9]+) errors on ` + reDate + `$`)
	resilverFinishedRE  = regexp.MustCompile(`^resilvered (?:` + reVdev + ` )?` + reNice + ` in ` + reDHMS + ` with ([0-9]+) errors on ` + reDate + `$`)
	scrubCanceledRE     = regexp.MustCompile(`^(thorough )?scrub canceled on ` + reDate + `$`)
	resilverCanceledRE  = regexp.MustCompile(`^resilver (?:` + reVdev + ` )?canceled on ` + reDate + `$`)
	scrubRunningRE      = regexp.MustCompile(`^(thorough )?scrub (in progress|paused) since ` + reDate + `$`)
	resilverRunningRE   = regexp.MustCompile(`^resilver (?:` + reVdev + ` )?in progress since ` + reDate + `$`)
	errScrubFinishedRE  = regexp.MustCompile(`^scrubbed ([0-9]+) error blocks in ` + reDHMS + ` on ` + reDate + `$`)
	errScrubCanceledRE  = regexp.MustCompile(`^error scrub canceled on ` + reDate + `$`)
	errScrubRunningRE   = regexp.MustCompile(`^error scrub (in progress|paused) since ` + reDate + `$`)
	startedOnRE         = regexp.MustCompile(`^(?:thorough |error )?scrub started on ` + reDate + `$`)
	rate                = `(?: at ` + reNice + `/s)?`
	progress21RE        = regexp.MustCompile(`^` + reNice + ` scanned(?: at ` + reNice + `/s)?, ` + reNice + ` issued(?: (?:at )?` + reNice + `/s)?, ` + reNice + ` total$`)
	progress22RE        = regexp.MustCompile(`^` + reNice + ` / ` + reNice + ` scanned` + rate + `, ` + reNice + ` / ` + reNice + ` issued` + rate + `$`)
	doneRE              = regexp.MustCompile(`^` + reNice + ` (repaired|resilvered), ` + rePct + `% done(?:, no estimated completion time|, ` + reDHMS + ` to go)?$`)
	errScrubDoneRE      = regexp.MustCompile(`^` + rePct + `% done, issued I/O for ([0-9]+) error blocks$`)
	errNoScanLine       = errors.New("not a scan line")
	errUnexpectedDetail = errors.New("unexpected line in a scan")
)

// parseScanHead parses the first line of a scan (the text after "scan: ", or after "scrub: "
// when errScrub) with dates in loc.
func parseScanHead(text string, errScrub bool, loc *time.Location) (Scan, error) {
	s := Scan{Text: text, Percent: -1}
	date := func(v string) (time.Time, error) {
		t, err := time.ParseInLocation(ctimeLayout, v, loc)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad date %q", v)
		}
		return t, nil
	}
	var err error
	if errScrub {
		s.Kind = ScanErrorScrub
		switch {
		case match(errScrubFinishedRE, text) != nil:
			m := match(errScrubFinishedRE, text)
			s.State = ScanFinished
			s.ErrorBlocks, err = strconv.ParseUint(m[1], 10, 64)
			if err == nil {
				s.End, err = date(m[3])
			}
		case match(errScrubCanceledRE, text) != nil:
			s.State = ScanCanceled
			s.End, err = date(match(errScrubCanceledRE, text)[1])
		case match(errScrubRunningRE, text) != nil:
			m := match(errScrubRunningRE, text)
			s.State = ScanRunning
			if m[1] == "paused" {
				s.State = ScanPaused
				s.Paused, err = date(m[2])
			} else {
				s.Start, err = date(m[2])
			}
		default:
			return Scan{}, errNoScanLine
		}
		return s, err
	}
	if m := match(scanFinishedRE, text); m != nil {
		s.Kind, s.State, s.Thorough, s.Processed = ScanScrub, ScanFinished, m[1] != "", m[2]
		s.Errors, err = strconv.ParseUint(m[4], 10, 64)
		if err == nil {
			s.End, err = date(m[5])
		}
	} else if m := match(resilverFinishedRE, text); m != nil {
		s.Kind, s.State, s.Vdev, s.Processed = ScanResilver, ScanFinished, m[1], m[2]
		s.Errors, err = strconv.ParseUint(m[4], 10, 64)
		if err == nil {
			s.End, err = date(m[5])
		}
	} else if m := match(scrubCanceledRE, text); m != nil {
		s.Kind, s.State, s.Thorough = ScanScrub, ScanCanceled, m[1] != ""
		s.End, err = date(m[2])
	} else if m := match(resilverCanceledRE, text); m != nil {
		s.Kind, s.State, s.Vdev = ScanResilver, ScanCanceled, m[1]
		s.End, err = date(m[2])
	} else if m := match(scrubRunningRE, text); m != nil {
		s.Kind, s.State, s.Thorough = ScanScrub, ScanRunning, m[1] != ""
		if m[2] == "paused" {
			s.State = ScanPaused
			s.Paused, err = date(m[3])
		} else {
			s.Start, err = date(m[3])
		}
	} else if m := match(resilverRunningRE, text); m != nil {
		s.Kind, s.State, s.Vdev = ScanResilver, ScanRunning, m[1]
		s.Start, err = date(m[2])
	} else {
		return Scan{}, errNoScanLine
	}
	if err != nil {
		return Scan{}, err
	}
	if s.Processed != "" {
		if s.ProcessedBytes, err = parseNiceBytes(s.Processed); err != nil {
			return Scan{}, err
		}
	}
	return s, nil
}

// addDetail takes a line that continues a scan (after its tab).
func (s *Scan) addDetail(text string, loc *time.Location) error {
	if !s.InProgress() {
		return errUnexpectedDetail
	}
	if m := match(startedOnRE, text); m != nil && s.State == ScanPaused && s.Start.IsZero() {
		t, err := time.ParseInLocation(ctimeLayout, m[1], loc)
		if err != nil {
			return fmt.Errorf("bad date %q", m[1])
		}
		s.Start = t
		return nil
	}
	if s.Kind == ScanErrorScrub {
		m := match(errScrubDoneRE, text)
		if m == nil {
			return errUnexpectedDetail
		}
		s.Percent = parsePercent(m[1])
		n, err := strconv.ParseUint(m[2], 10, 64)
		s.ErrorBlocks = n
		return err
	}
	if match(progress21RE, text) != nil || match(progress22RE, text) != nil {
		return nil
	}
	if m := match(doneRE, text); m != nil {
		if (m[2] == "resilvered") != (s.Kind == ScanResilver) {
			return errUnexpectedDetail
		}
		n, err := parseNiceBytes(m[1])
		if err != nil {
			return err
		}
		s.Processed, s.ProcessedBytes, s.Percent = m[1], n, parsePercent(m[3])
		return nil
	}
	return errUnexpectedDetail
}

// complete checks what a scan's lines must have said once they are all read.
func (s *Scan) complete() error {
	if s.State == ScanPaused && s.Start.IsZero() {
		return errors.New("a paused scrub without the line saying when it started")
	}
	if s.InProgress() && s.Processed == "" && s.Kind != ScanErrorScrub {
		return fmt.Errorf("a %s %s without its %% done line", s.Kind, s.State)
	}
	return nil
}

func match(re *regexp.Regexp, s string) []string { return re.FindStringSubmatch(s) }

// parsePercent reads zpool's "%.2f": -1 for nan or inf (a scan with nothing to examine yet).
func parsePercent(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return -1
	}
	return f
}

// parseNiceBytes reads zfs_nicebytes back: "0B", "512B", "1.50K", "12.3M", powers of 1024.
func parseNiceBytes(s string) (uint64, error) {
	if len(s) < 2 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	exp := strings.IndexByte("BKMGTPE", s[len(s)-1])
	if exp < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	f, err := strconv.ParseFloat(s[:len(s)-1], 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	v := f * math.Pow(1024, float64(exp))
	if v >= math.MaxUint64 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return uint64(v), nil
}
