package conf

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
)

// validator checks a Config with defaults filled in, key by key and then across keys, and
// sets the derived fields (Location, keys, schedules' time zone).
type validator struct {
	c        *Config
	failed   map[string]bool // paths whose value could not be decoded: already reported
	problems Problems
}

// addf records a problem at a key path, unless the value there already failed to decode
// (its zero value would only add noise).
func (v *validator) addf(path, format string, a ...any) {
	for f := range v.failed {
		if path == f || strings.HasPrefix(path, f+".") || strings.HasPrefix(path, f+"[") {
			return
		}
	}
	v.problems.add(path, fmt.Sprintf(format, a...))
}

var (
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	propertyRE = regexp.MustCompile(`^[a-z][a-z0-9_.:-]*$`)
	// holdPrefixRE: "vault:", then words of letters, digits, "_.-" each ending in ":".
	holdPrefixRE = regexp.MustCompile(`^vault:([A-Za-z0-9][A-Za-z0-9_.-]*:)*$`)
)

var logLevels = []string{"trace", "debug", "info", "warn", "error"}

func (v *validator) run() {
	c := v.c
	v.top()
	v.ssh()
	v.signers()
	v.recipients()
	if len(c.Jobs) == 0 && !v.failed["job"] {
		v.addf("", "no [[job]] is configured; add at least one [[job]] table")
	}
	names := map[string]int{}
	for i := range c.Jobs {
		p := fmt.Sprintf("job[%d]", i)
		j := &c.Jobs[i]
		v.job(p, j)
		if j.Name == "" {
			continue
		}
		if first, dup := names[j.Name]; dup {
			v.addf(p+".name", "job name %q is already used by job[%d]; job names must be unique", j.Name, first)
		} else {
			names[j.Name] = i
		}
	}
	v.landings()
}

func (v *validator) top() {
	c := v.c
	if err := checkUserName(c.User); err != nil {
		v.addf("user", "%v", err)
	} else if c.User == "root" || c.User == "toor" {
		v.addf("user", "the daemon must not run as %q; create an unprivileged user (\"backup\") and name it here", c.User)
	}
	if c.PruneUser != "" {
		switch err := checkUserName(c.PruneUser); {
		case err != nil:
			v.addf("prune_user", "%v", err)
		case c.PruneUser == "root" || c.PruneUser == "toor":
			v.addf("prune_user", "prune must not run as %q; create an unprivileged user (\"vault-prune\") and name it here", c.PruneUser)
		case c.PruneUser == c.User:
			v.addf("prune_user", "prune_user is the pulling user %q: the process that talks to the network would hold destroy; create a user of its own (\"vault-prune\") or remove prune_user", c.User)
		}
	}
	v.absPath("state_dir", c.StateDir)
	if c.StateDir == "/" {
		v.addf("state_dir", "state_dir must not be %q; use a directory of its own, like %q", c.StateDir, "/var/db/vault")
	}
	v.absPath("zfs_binary", c.ZFSBinary)
	v.absPath("zpool_binary", c.ZpoolBinary)
	c.Location = nil
	if c.Timezone == "" {
		v.addf("timezone", "empty time zone; write an IANA name like %q, or %q for the system's", "Europe/Berlin", "Local")
	} else if loc, err := time.LoadLocation(c.Timezone); err != nil {
		v.addf("timezone", "unknown time zone %q; write an IANA name like %q, or %q for the system's", c.Timezone, "Europe/Berlin", "Local")
	} else {
		c.Location = loc
	}
	if c.MaxParallel < 1 {
		v.addf("max_parallel", "max_parallel must be at least 1, not %d", c.MaxParallel)
	}
	if !slices.Contains(logLevels, c.LogLevel) {
		v.addf("log_level", "unknown log level %q; use one of %s", c.LogLevel, strings.Join(logLevels, ", "))
	}
	if c.PrometheusTextfile != "" {
		v.absPath("prometheus_textfile", c.PrometheusTextfile)
		if !strings.HasSuffix(c.PrometheusTextfile, ".prom") {
			v.addf("prometheus_textfile", "%q must end in \".prom\", or node_exporter will not read it", c.PrometheusTextfile)
		}
	}
	if c.AgeIdentity != "" {
		v.absPath("age_identity", c.AgeIdentity)
	}
	if !holdPrefixRE.MatchString(c.HoldPrefix) || len(c.HoldPrefix) > 64 {
		v.addf("hold_prefix", "%q is not a hold prefix; write \"vault:\" and a name for this vault ending in \":\", like %q", c.HoldPrefix, "vault:rust10:")
	}
	v.pools()
}

// pools checks the thresholds of the pools' levels.
func (v *validator) pools() {
	c := v.c
	warnOK := c.PoolCapacityWarn >= 1 && c.PoolCapacityWarn <= 99
	if !warnOK {
		v.addf("pool_capacity_warn", "pool_capacity_warn must be a percentage from 1 to 99, like 80, not %d", c.PoolCapacityWarn)
	}
	switch {
	case c.PoolCapacityCrit < 1 || c.PoolCapacityCrit > 100:
		v.addf("pool_capacity_crit", "pool_capacity_crit must be a percentage from 1 to 100, like 90, not %d", c.PoolCapacityCrit)
	case warnOK && c.PoolCapacityCrit <= c.PoolCapacityWarn:
		v.addf("pool_capacity_crit", "pool_capacity_crit (%d) must be above pool_capacity_warn (%d)", c.PoolCapacityCrit, c.PoolCapacityWarn)
	}
	v.positive("scrub_age_warn", c.ScrubAgeWarn)
	v.positive("scrub_age_crit", c.ScrubAgeCrit)
	if c.ScrubAgeWarn > 0 && c.ScrubAgeCrit > 0 && c.ScrubAgeCrit <= c.ScrubAgeWarn {
		v.addf("scrub_age_crit", "scrub_age_crit (%s) must be longer than scrub_age_warn (%s)", FormatDuration(c.ScrubAgeCrit), FormatDuration(c.ScrubAgeWarn))
	}
}

// absPath checks for a clean absolute path.
func (v *validator) absPath(key, p string) {
	switch {
	case p == "":
		v.addf(key, "empty path; write an absolute path")
	case !strings.HasPrefix(p, "/"):
		v.addf(key, "%q is not an absolute path; write it from /", p)
	case hasControl(p):
		v.addf(key, "%q contains a control character", p)
	case path.Clean(p) != p:
		v.addf(key, "%q is not a clean path; write %q", p, path.Clean(p))
	}
}

func (v *validator) ssh() {
	s := &v.c.SSH
	// An empty path is a default that could not be derived from a bad state_dir, which has
	// been reported already.
	stateOK := strings.HasPrefix(v.c.StateDir, "/")
	if s.Identity != "" || stateOK {
		v.absPath("ssh.identity", s.Identity)
	}
	if s.KnownHosts != "" || stateOK {
		v.absPath("ssh.known_hosts", s.KnownHosts)
	}
	v.positive("ssh.connect_timeout", s.ConnectTimeout)
	v.positive("ssh.io_timeout", s.IOTimeout)
	v.positive("ssh.keepalive", s.Keepalive)
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.addf(key, "%s must be a positive duration, like \"30s\"", lastKey(key))
	}
}

// name checks the name of a job, signer or recipient.
func (v *validator) name(key, n string) {
	switch {
	case n == "":
		v.addf(key, "name is required")
	case len(n) > 64:
		v.addf(key, "name %q is longer than 64 characters", n)
	case !nameRE.MatchString(n):
		v.addf(key, "name %q must start with a letter or digit, then letters, digits, \".\", \"_\" or \"-\"", n)
	}
}

func (v *validator) signers() {
	names := map[string]int{}
	keys := map[string]int{}
	for i := range v.c.Signers {
		s := &v.c.Signers[i]
		p := fmt.Sprintf("signer[%d]", i)
		v.name(p+".name", s.Name)
		if first, dup := names[s.Name]; dup && s.Name != "" {
			v.addf(p+".name", "signer name %q is already used by signer[%d]; signer names must be unique", s.Name, first)
		} else {
			names[s.Name] = i
		}
		s.Key = nil
		if s.PublicKey == "" {
			v.addf(p+".public_key", "public_key is required; paste the line `vault keygen` printed on the exporting host")
		} else if k, err := ParseSignerKey(s.PublicKey); err != nil {
			v.addf(p+".public_key", "%v", err)
		} else {
			s.Key = k
			if first, dup := keys[string(k)]; dup {
				v.addf(p+".public_key", "this key is already pinned as signer[%d] (%q); give each host's key once", first, v.c.Signers[first].Name)
			} else {
				keys[string(k)] = i
			}
		}
		if len(s.Datasets) == 0 {
			v.addf(p+".datasets", "a signer needs the datasets it may export; add datasets = [\"pool/data\"]")
		}
		v.datasets(p+".datasets", s.Datasets)
	}
}

func (v *validator) recipients() {
	names := map[string]int{}
	keys := map[string]int{}
	for i := range v.c.Recipients {
		r := &v.c.Recipients[i]
		p := fmt.Sprintf("recipient[%d]", i)
		v.name(p+".name", r.Name)
		if first, dup := names[r.Name]; dup && r.Name != "" {
			v.addf(p+".name", "recipient name %q is already used by recipient[%d]; recipient names must be unique", r.Name, first)
		} else {
			names[r.Name] = i
		}
		r.Key = nil
		if r.PublicKey == "" {
			v.addf(p+".public_key", "public_key is required; paste an age recipient (\"age1...\")")
		} else if k, err := age.ParseX25519Recipient(r.PublicKey); err != nil {
			v.addf(p+".public_key", "%q is not an age X25519 recipient; paste one like \"age1...\" as `age-keygen -y` or `vault keygen` prints it", r.PublicKey)
		} else {
			r.Key = k
			if first, dup := keys[r.PublicKey]; dup {
				v.addf(p+".public_key", "this key is already listed as recipient[%d] (%q); list each recipient once", first, v.c.Recipients[first].Name)
			} else {
				keys[r.PublicKey] = i
			}
		}
	}
}

// datasets checks a list of dataset roots: valid, no duplicates, none under another.
func (v *validator) datasets(key string, ds []string) {
	for i, d := range ds {
		p := fmt.Sprintf("%s[%d]", key, i)
		if err := checkDataset(d); err != nil {
			v.addf(p, "%v", err)
			continue
		}
		for k, e := range ds[:i] {
			switch {
			case d == e:
				v.addf(p, "%q is listed twice (also at [%d]); remove one", d, k)
			case under(d, e):
				v.addf(p, "%q lies under %q (at [%d]); list only the root", d, e, k)
			case under(e, d):
				v.addf(p, "%q contains %q (at [%d]); list only the root", d, e, k)
			default:
				continue
			}
			break
		}
	}
}

func (v *validator) job(p string, j *Job) {
	c := v.c
	v.name(p+".name", j.Name)

	hasSource := j.Source != nil || v.failed[p+".source"]
	hasMedia := j.MediaSigners != nil || v.failed[p+".media_signers"]
	switch {
	case hasSource && hasMedia:
		v.addf(p, "both source and media_signers are set; a job pulls over SSH (source) or imports from media (media_signers), so remove one")
	case !hasSource && !hasMedia:
		v.addf(p, "neither source nor media_signers is set; add source = \"user@host\" to pull over SSH, or media_signers = [\"signer\"] to import from media")
	}

	if j.Source != nil && (j.Source.User == "root" || j.Source.User == "toor") {
		v.addf(p+".source", "do not pull as %q; log in as a delegated user (zfs allow send,snapshot,hold) with vault serve as its forced command", j.Source.User)
	}

	if j.MediaSigners != nil {
		v.mediaSigners(p, j)
	}

	if len(j.SourceDatasets) == 0 {
		v.addf(p+".source_datasets", "source_datasets is required; list the datasets to back up, like [\"pool/data\"]")
	}
	v.datasets(p+".source_datasets", j.SourceDatasets)
	v.excludes(p, j)

	if j.Target == "" {
		v.addf(p+".target", "target is required; name the dataset on the vault to receive into, like \"rust10/Backups/host05\"")
	} else if err := checkDataset(j.Target); err != nil {
		v.addf(p+".target", "%v", err)
	}
	seen := map[string]int{}
	for i, d := range j.SourceDatasets {
		if checkDataset(d) != nil {
			continue
		}
		last := lastComponent(d)
		if first, dup := seen[last]; dup && j.SourceDatasets[first] != d {
			v.addf(fmt.Sprintf("%s.source_datasets[%d]", p, i), "%q and %q would both land at %q; split them into two jobs with different targets", j.SourceDatasets[first], d, j.Target+"/"+last)
		} else {
			seen[last] = i
		}
	}

	j.Location = nil
	switch {
	case j.Timezone == "":
		v.addf(p+".timezone", "empty time zone; write the source host's IANA time zone, like %q", "America/Chicago")
	case j.Timezone == c.Timezone:
		j.Location = c.Location
	default:
		if l, err := time.LoadLocation(j.Timezone); err != nil {
			v.addf(p+".timezone", "unknown time zone %q; write the source host's IANA time zone, like %q", j.Timezone, "America/Chicago")
		} else {
			j.Location = l
		}
	}
	if j.Quota < 0 {
		v.addf(p+".quota", "quota must be positive, like \"2TiB\", or left out for none")
	}
	if j.MaxNewSnapshots < 1 {
		v.addf(p+".max_new_snapshots", "max_new_snapshots must be at least 1, not %d", j.MaxNewSnapshots)
	}

	// Schedules are read in the configuration's time zone.
	loc := c.Location
	if loc == nil {
		loc = time.UTC
	}
	if !j.Schedule.IsZero() {
		j.Schedule.loc = loc
	}
	if !j.Prune.Schedule.IsZero() {
		j.Prune.Schedule.loc = loc
	}

	if j.IsMedia() {
		// Media jobs run when someone runs vault import: nothing here would take effect.
		for _, k := range []struct {
			key string
			set bool
		}{
			{"schedule", !j.Schedule.IsZero()},
			{"jitter", j.Jitter != 0},
			{"bandwidth_limit", j.BandwidthLimit != 0},
			{"snapshot_on_pull", j.SnapshotOnPull != nil},
		} {
			if k.set && hasMedia && !hasSource {
				v.addf(p+"."+k.key, "%s does not apply to a media job (media_signers): its streams arrive with `vault import`; remove it", k.key)
			}
		}
		if c.AgeIdentity == "" && hasMedia && !hasSource {
			v.addf(p+".media_signers", "a media job needs the vault's age identity to decrypt imports; set the top-level age_identity")
		}
	} else {
		if j.Schedule.IsZero() {
			v.addf(p+".schedule", "schedule is required for a pull job; add a cron spec like schedule = \"15 1 * * *\" (01:15 daily)")
		}
		if j.BandwidthLimit < 0 {
			v.addf(p+".bandwidth_limit", "bandwidth_limit must be positive")
		}
	}

	if j.SnapshotOnPull != nil && j.SnapshotOnPull.TTL == (TTL{}) {
		v.addf(p+".snapshot_on_pull.ttl", "ttl is required: how long the snapshot taken before each pull lives, like ttl = \"1w\"")
	}
	if j.Jitter < 0 {
		v.addf(p+".jitter", "jitter must not be negative")
	}
	gap := j.Schedule.longestGap() // 0 without a schedule
	if j.RPO <= 0 {
		v.addf(p+".rpo", "rpo is required: how old the newest copy may get before status warns, like rpo = \"26h\"")
	} else {
		if j.RPOCritical <= j.RPO {
			v.addf(p+".rpo_critical", "rpo_critical (%s) must be longer than rpo (%s)", FormatDuration(j.RPOCritical), FormatDuration(j.RPO))
		}
		if gap > 0 && j.RPO <= gap+j.Jitter {
			v.addf(p+".rpo", "rpo (%s) is not longer than the %s between scheduled pulls (%q) plus jitter; status would warn before every pull, so raise rpo", FormatDuration(j.RPO), FormatDuration(gap), j.Schedule.Spec)
		}
	}
	if gap > 0 && j.Jitter >= gap {
		v.addf(p+".jitter", "jitter (%s) must be shorter than the %s between scheduled pulls (%q)", FormatDuration(j.Jitter), FormatDuration(gap), j.Schedule.Spec)
	}

	v.receive(p+".receive", &j.Receive)
	v.prune(p+".prune", &j.Prune)
	v.anomaly(p+".anomaly", &j.Anomaly)
}

func (v *validator) mediaSigners(p string, j *Job) {
	key := p + ".media_signers"
	if len(j.MediaSigners) == 0 {
		v.addf(key, "media_signers is empty; name at least one [[signer]]")
		return
	}
	var known []*Signer
	for i, n := range j.MediaSigners {
		s, ok := v.c.Signer(n)
		switch {
		case !ok:
			if best, d := closest(n, signerNames(v.c)); d <= max(1, len(n)/4) {
				v.addf(fmt.Sprintf("%s[%d]", key, i), "no [[signer]] is named %q; did you mean %q?", n, best)
			} else {
				v.addf(fmt.Sprintf("%s[%d]", key, i), "no [[signer]] is named %q; add one or fix the name (signers: %s)", n, quotedList(signerNames(v.c)))
			}
		case slices.Contains(j.MediaSigners[:i], n):
			v.addf(fmt.Sprintf("%s[%d]", key, i), "signer %q is listed twice; remove one", n)
		default:
			known = append(known, s)
		}
	}
	if len(known) == 0 {
		return
	}
	// Each source dataset must be one some listed signer may export, and each listed signer
	// must be able to export something of this job's.
	for i, d := range j.SourceDatasets {
		ok := false
		for _, s := range known {
			ok = ok || coveredBy(d, s.Datasets)
		}
		if !ok {
			v.addf(fmt.Sprintf("%s.source_datasets[%d]", p, i), "no signer of this job may export %q; add it (or a parent) to the datasets of signer %q", d, known[0].Name)
		}
	}
	for i, n := range j.MediaSigners {
		s, ok := v.c.Signer(n)
		if !ok || slices.Contains(j.MediaSigners[:i], n) {
			continue
		}
		useful := false
		for _, d := range j.SourceDatasets {
			useful = useful || coveredBy(d, s.Datasets)
		}
		if !useful && len(j.SourceDatasets) > 0 {
			v.addf(fmt.Sprintf("%s[%d]", key, i), "signer %q may export none of this job's source_datasets; remove it here or widen its datasets", s.Name)
		}
	}
}

func coveredBy(d string, roots []string) bool {
	for _, r := range roots {
		if under(d, r) {
			return true
		}
	}
	return false
}

func (v *validator) excludes(p string, j *Job) {
	for i, x := range j.Exclude {
		key := fmt.Sprintf("%s.exclude[%d]", p, i)
		if err := checkDataset(x); err != nil {
			v.addf(key, "%v", err)
			continue
		}
		if slices.Contains(j.Exclude[:i], x) {
			v.addf(key, "%q is listed twice; remove one", x)
			continue
		}
		root := ""
		for _, r := range j.SourceDatasets {
			if under(x, r) {
				root = r
			}
		}
		switch {
		case root == "":
			v.addf(key, "%q is not under any of source_datasets; exclude only datasets below them", x)
		case root == x:
			v.addf(key, "%q is a source dataset itself; remove it from source_datasets instead", x)
		case !j.Recursive:
			v.addf(key, "the job is not recursive (recursive = false), so %q is not pulled anyway; remove it", x)
		}
	}
}

func (v *validator) receive(p string, r *Receive) {
	props := map[string]int{}
	for i, s := range r.Set {
		key := fmt.Sprintf("%s.set[%d]", p, i)
		name, val, ok := strings.Cut(s, "=")
		switch {
		case !ok || val == "":
			v.addf(key, "%q must be property=value, like \"readonly=on\"", s)
			continue
		case !propertyRE.MatchString(name):
			v.addf(key, "%q is not a ZFS property name", name)
			continue
		case hasControl(val):
			v.addf(key, "the value of %q contains a control character", name)
			continue
		}
		if first, dup := props[name]; dup {
			v.addf(key, "property %q is already set at set[%d]; set it once", name, first)
		} else {
			props[name] = i
		}
	}
	for i, name := range r.Exclude {
		key := fmt.Sprintf("%s.exclude[%d]", p, i)
		switch {
		case !propertyRE.MatchString(name):
			v.addf(key, "%q is not a ZFS property name", name)
		case slices.Contains(r.Exclude[:i], name):
			v.addf(key, "%q is listed twice; remove one", name)
		default:
			if _, set := props[name]; set {
				v.addf(key, "property %q is both set and excluded; keep one", name)
			}
		}
	}
}

func (v *validator) prune(p string, r *Prune) {
	if r.TTLFactor < 1 {
		v.addf(p+".ttl_factor", "ttl_factor must be at least 1 (it can only stretch the source's TTL), not %v", r.TTLFactor)
	}
	units := map[string]int{}
	for i, g := range r.Grid {
		if first, dup := units[g.Unit]; dup {
			v.addf(fmt.Sprintf("%s.grid[%d]", p, i), "there is already a %q rule at grid[%d]; one rule per unit", g.Unit, first)
		} else {
			units[g.Unit] = i
		}
	}
	if r.MinKeep < 1 {
		v.addf(p+".min_keep", "min_keep must be at least 1, not %d: the newest snapshot is never pruned", r.MinKeep)
	}
	if r.MinAge <= 0 {
		v.addf(p+".min_age", "min_age must be a positive duration, like \"24h\"")
	}
	if r.DateTolerance <= 0 || r.DateTolerance > time.Hour {
		v.addf(p+".date_tolerance", "date_tolerance must be positive and at most 1h (a wrong time zone is off by hours), not %s", FormatDuration(r.DateTolerance))
	}
	if r.MaxDestroy < 1 {
		v.addf(p+".max_destroy", "max_destroy must be at least 1, not %d; to stop pruning, remove the prune schedule and the rules", r.MaxDestroy)
	}
}

func (v *validator) anomaly(p string, a *Anomaly) {
	if a.Factor <= 1 {
		v.addf(p+".factor", "factor must be greater than 1, not %v", a.Factor)
	}
	if a.Floor < 0 {
		v.addf(p+".floor", "floor must not be negative")
	}
	if a.Window < 3 {
		v.addf(p+".window", "window must be at least 3 runs, not %d", a.Window)
	}
	if !(a.RewriteShare > 0 && a.RewriteShare <= 1) {
		v.addf(p+".rewrite_share", "rewrite_share must be a share of the dataset above 0 and at most 1, like 0.5, not %v", a.RewriteShare)
	}
	if a.RewriteFloor < 0 {
		v.addf(p+".rewrite_floor", "rewrite_floor must not be negative")
	}
	if a.SnapshotFloor < 1 {
		v.addf(p+".snapshot_floor", "snapshot_floor must be at least 1, not %d", a.SnapshotFloor)
	}
}

// landings checks that no two source datasets, in one job or two, land on the same dataset
// of the vault, or inside another's recursive tree.
func (v *validator) landings() {
	type landing struct {
		at        string // dataset on the vault
		path      string // key path of the source dataset
		job       int
		recursive bool
	}
	var all []landing
	for i := range v.c.Jobs {
		j := &v.c.Jobs[i]
		if j.Target == "" || checkDataset(j.Target) != nil {
			continue
		}
		for k, d := range j.SourceDatasets {
			if checkDataset(d) != nil {
				continue
			}
			all = append(all, landing{
				at:        j.Target + "/" + lastComponent(d),
				path:      fmt.Sprintf("job[%d].source_datasets[%d]", i, k),
				job:       i,
				recursive: j.Recursive,
			})
		}
	}
	for b := range all {
		for a := range all[:b] {
			x, y := all[a], all[b]
			if x.job == y.job {
				continue // the same job's collisions are reported with its source_datasets
			}
			n := len(v.problems)
			switch {
			case x.at == y.at:
				v.addf(y.path, "lands at %q, like %s (%s); give one of the jobs another target", y.at, x.path, v.jobName(x.job))
			case x.recursive && under(y.at, x.at):
				v.addf(y.path, "lands at %q, inside the tree %s (%s) receives at %q; give one of the jobs another target", y.at, x.path, v.jobName(x.job), x.at)
			case y.recursive && under(x.at, y.at):
				v.addf(y.path, "lands at %q, whose tree contains where %s (%s) lands, %q; give one of the jobs another target", y.at, x.path, v.jobName(x.job), x.at)
			}
			if len(v.problems) > n {
				break // one collision per source dataset is enough to act on
			}
		}
	}
}

func (v *validator) jobName(i int) string {
	if v.c.Jobs[i].Name != "" {
		return fmt.Sprintf("job %q", v.c.Jobs[i].Name)
	}
	return fmt.Sprintf("job[%d]", i)
}

func signerNames(c *Config) []string {
	var n []string
	for _, s := range c.Signers {
		n = append(n, s.Name)
	}
	return n
}

func quotedList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// hasControl reports whether s holds a control character, which has no place in a path or a
// property and could play tricks on a terminal.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}
