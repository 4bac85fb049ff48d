package conf

import (
	"fmt"
	"io"
	"strings"
)

// Describe prints the resolved configuration for an operator at a console: the daemon's
// settings, then per job what it pulls from where to where, the dataset each source dataset
// lands in, when, its RPO, and its prune rules in words.
func (c *Config) Describe(w io.Writer) { c.DescribeWith(w, "") }

// DescribeWith is Describe with the protection level the running OpenZFS gives (the caller
// asks zfs; "" leaves the line out).
func (c *Config) DescribeWith(w io.Writer, protection string) {
	d := &describer{w: w}
	d.line(0, "vault configuration, with defaults filled in")
	d.line(0, "")
	d.line(0, "daemon")
	d.item(1, "runs as user", c.User)
	d.item(1, "prunes as user", orNone(c.PruneUser, "", c.User+" (no prune_user: the pulling user holds destroy on the targets)"))
	if protection != "" {
		d.item(1, "protection", protection)
	}
	d.item(1, "state directory", c.StateDir)
	d.item(1, "zfs, zpool", c.ZFSBinary+", "+c.ZpoolBinary)
	d.item(1, "time zone", c.Timezone)
	d.item(1, "pulls at once", fmt.Sprintf("at most %d", c.MaxParallel))
	d.item(1, "log level", c.LogLevel)
	d.item(1, "metrics", orNone(c.PrometheusTextfile, "written to ", "none (no prometheus_textfile)"))
	d.item(1, "age identity", orNone(c.AgeIdentity, "", "none: media imports are not possible"))
	d.item(1, "hold prefix", c.HoldPrefix+"JOB (the tag of the holds on each incremental base)")
	d.item(1, "pools", fmt.Sprintf("warn at %d%% full, critical at %d%%; last scrub older than %s warns, %s critical",
		c.PoolCapacityWarn, c.PoolCapacityCrit, FormatDuration(c.ScrubAgeWarn), FormatDuration(c.ScrubAgeCrit)))
	d.line(0, "ssh")
	d.item(1, "identity", c.SSH.Identity)
	d.item(1, "known hosts", c.SSH.KnownHosts+" (host keys pinned, never learned)")
	d.item(1, "timeouts", fmt.Sprintf("connect %s, stalled I/O %s, keepalive every %s",
		FormatDuration(c.SSH.ConnectTimeout), FormatDuration(c.SSH.IOTimeout), FormatDuration(c.SSH.Keepalive)))

	if len(c.Signers) > 0 {
		d.line(0, "")
		d.line(0, "signers (offline hosts whose media the vault accepts)")
		for _, s := range c.Signers {
			d.line(1, fmt.Sprintf("%q %s", s.Name, s.PublicKey))
			d.line(2, "may export "+strings.Join(s.Datasets, ", ")+" and below")
		}
	}
	if len(c.Recipients) > 0 {
		d.line(0, "")
		d.line(0, "recipients (exports are encrypted to them)")
		for _, r := range c.Recipients {
			d.line(1, fmt.Sprintf("%q %s", r.Name, r.PublicKey))
		}
	}
	for i := range c.Jobs {
		d.line(0, "")
		c.describeJob(d, &c.Jobs[i])
	}
}

func (c *Config) describeJob(d *describer, j *Job) {
	if j.Source != nil {
		d.line(0, fmt.Sprintf("job %q: pulls over SSH from %s", j.Name, j.Source))
	} else {
		d.line(0, fmt.Sprintf("job %q: imports from removable media signed by %s", j.Name, quotedList(j.MediaSigners)))
	}
	d.line(1, "datasets (source -> vault)")
	for _, src := range j.SourceDatasets {
		to, _ := j.TargetFor(src)
		tail := "and everything below it"
		if !j.Recursive {
			tail = "this dataset only, not its children"
		}
		d.line(2, fmt.Sprintf("%s -> %s (%s)", src, to, tail))
	}
	for _, x := range j.Exclude {
		d.line(2, fmt.Sprintf("except %s and everything below it", x))
	}
	if j.IsMedia() {
		d.item(1, "schedule", "none: streams arrive with `vault import MANIFEST`")
	} else {
		s := fmt.Sprintf("%q (cron, time zone %s)", j.Schedule.Spec, c.Timezone)
		if j.Jitter > 0 {
			s += fmt.Sprintf(", each pull delayed at random by up to %s", FormatDuration(j.Jitter))
		}
		d.item(1, "schedule", s)
	}
	d.item(1, "source time zone", j.Timezone+" (its zfsnap2 names are read in it)")
	if j.Quota > 0 {
		d.item(1, "quota", fmt.Sprintf("%s on %s, set by vault bootstrap", j.Quota, j.Target))
	} else {
		d.item(1, "quota", "none: the job can fill the pool")
	}
	d.item(1, "new snapshots", fmt.Sprintf("at most %d per dataset per pull; more receives nothing and alarms", j.MaxNewSnapshots))
	d.item(1, "rpo", fmt.Sprintf("warn when the newest copy is older than %s, critical after %s",
		FormatDuration(j.RPO), FormatDuration(j.RPOCritical)))
	if !j.IsMedia() {
		if j.BandwidthLimit > 0 {
			d.item(1, "bandwidth", fmt.Sprintf("at most %s/s", j.BandwidthLimit))
		} else {
			d.item(1, "bandwidth", "unlimited")
		}
		if j.SnapshotOnPull != nil {
			d.item(1, "snapshot", fmt.Sprintf("before each pull the source takes a zfsnap2 snapshot that lives %s (TTL %q)",
				j.SnapshotOnPull.TTL.Words(), j.SnapshotOnPull.TTL.String()))
		} else {
			d.item(1, "snapshot", "none taken: pulls what the source has")
		}
	}
	var args []string
	for _, s := range j.Receive.Set {
		args = append(args, "-o "+s)
	}
	for _, x := range j.Receive.Exclude {
		args = append(args, "-x "+x)
	}
	if len(args) == 0 {
		args = []string{"no property options"}
	}
	d.item(1, "first receive", strings.Join(args, " "))

	p := &j.Prune
	if p.Schedule.IsZero() {
		d.item(1, "prune", fmt.Sprintf("only on demand (`vault prune %s`)", j.Name))
	} else {
		d.item(1, "prune", fmt.Sprintf("%q, and on demand (`vault prune %s`)", p.Schedule.Spec, j.Name))
	}
	if !p.SourceTTL && len(p.Grid) == 0 {
		d.line(2, "no rule lets a snapshot go: nothing is ever pruned")
	} else {
		d.line(2, "a snapshot goes only when every rule lets it go:")
		if p.SourceTTL {
			if p.TTLFactor == 1 {
				d.line(3, "- the TTL in its zfsnap2 name has run out")
			} else {
				d.line(3, fmt.Sprintf("- the TTL in its zfsnap2 name, stretched %v times, has run out", p.TTLFactor))
			}
		}
		if len(p.Grid) > 0 {
			d.line(3, "- the grid does not keep it; the grid keeps")
			for _, g := range p.Grid {
				d.line(4, fmt.Sprintf("%s (%q)", g.Words(), g.String()))
			}
		}
	}
	d.line(2, "always kept, whatever the rules say:")
	d.line(3, fmt.Sprintf("- the newest %s of each dataset, and any younger than %s", pluralNoun(p.MinKeep, "snapshot"), FormatDuration(p.MinAge)))
	d.line(3, "- any with a hold (the replication base too), any with TTL forever")
	if p.KeepUnparsed {
		d.line(3, "- any whose name is not a zfsnap2 name")
	} else {
		d.line(3, "- (keep_unparsed = false: snapshots without a zfsnap2 name are judged by the grid, by creation time)")
	}
	d.line(3, "- everything in a dataset whose last pull failed, diverged or tripped the anomaly alarm")
	d.line(3, fmt.Sprintf("- any whose name's date is off its creation by more than %[1]s, or more than %[1]s earlier than an older snapshot's (and pruning of its dataset stops until vault ack)", FormatDuration(p.DateTolerance)))
	d.line(3, "- everything in a dataset whose source lost what the vault holds, until vault ack")
	d.line(2, fmt.Sprintf("at most %d destroyed per dataset per run", p.MaxDestroy))

	a := &j.Anomaly
	d.item(1, "anomaly", fmt.Sprintf("an incremental over %v times the usual size of the dataset's last %d and over %s",
		a.Factor, a.Window, a.Floor))
	d.line(2, fmt.Sprintf("or over %v of the dataset's referenced data and over %s, or more new snapshots than %v times the usual and over %d,",
		a.RewriteShare, a.RewriteFloor, a.Factor, a.SnapshotFloor))
	d.line(2, fmt.Sprintf("is received and reported, and freezes pruning of that dataset until `vault ack %s`", j.Name))
}

func pluralNoun(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func orNone(s, prefix, none string) string {
	if s == "" {
		return none
	}
	return prefix + s
}

// describer writes indented lines and aligned "label  value" items.
type describer struct {
	w io.Writer
}

func (d *describer) line(indent int, s string) {
	fmt.Fprintf(d.w, "%s%s\n", strings.Repeat("  ", indent), s)
}

func (d *describer) item(indent int, label, value string) {
	fmt.Fprintf(d.w, "%s%-18s%s\n", strings.Repeat("  ", indent), label, value)
}
