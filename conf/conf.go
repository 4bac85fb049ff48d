package conf

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"time"

	"filippo.io/age"
)

// Config is a resolved configuration: every default filled in, every value checked.
type Config struct {
	User               string `koanf:"user"`
	PruneUser          string `koanf:"prune_user"` // "" when prune runs as User (legacy)
	StateDir           string `koanf:"state_dir"`
	ZFSBinary          string `koanf:"zfs_binary"`
	ZpoolBinary        string `koanf:"zpool_binary"`
	Timezone           string `koanf:"timezone"`
	MaxParallel        int    `koanf:"max_parallel"`
	LogLevel           string `koanf:"log_level"`
	PrometheusTextfile string `koanf:"prometheus_textfile"` // "" when not written
	AgeIdentity        string `koanf:"age_identity"`        // "" when not set
	HoldPrefix         string `koanf:"hold_prefix"`         // holds are HoldPrefix + job name
	// The thresholds of the pools' levels: how full (percent of the pool's size, as zpool list
	// rounds it) and how long since the last completed scrub.
	PoolCapacityWarn int           `koanf:"pool_capacity_warn"`
	PoolCapacityCrit int           `koanf:"pool_capacity_crit"`
	ScrubAgeWarn     time.Duration `koanf:"scrub_age_warn"`
	ScrubAgeCrit     time.Duration `koanf:"scrub_age_crit"`
	SSH              SSH           `koanf:"ssh"`
	Signers          []Signer      `koanf:"signer"`
	Recipients       []Recipient   `koanf:"recipient"`
	Jobs             []Job         `koanf:"job"`

	// Location is Timezone loaded; every Schedule in the configuration is read in it.
	Location *time.Location `koanf:"-"`

	// lines maps key paths to line numbers, for problems found after parsing.
	lines map[string]int
}

// SSH is how the vault connects to source hosts.
type SSH struct {
	Identity       string        `koanf:"identity"`
	KnownHosts     string        `koanf:"known_hosts"`
	ConnectTimeout time.Duration `koanf:"connect_timeout"`
	IOTimeout      time.Duration `koanf:"io_timeout"`
	Keepalive      time.Duration `koanf:"keepalive"`
}

// Signer is an offline host's pinned signing key and the dataset roots it may export.
type Signer struct {
	Name      string   `koanf:"name"`
	PublicKey string   `koanf:"public_key"`
	Datasets  []string `koanf:"datasets"`

	Key ed25519.PublicKey `koanf:"-"` // PublicKey parsed
}

// Recipient is an age recipient that exports are encrypted to.
type Recipient struct {
	Name      string `koanf:"name"`
	PublicKey string `koanf:"public_key"`

	Key *age.X25519Recipient `koanf:"-"` // PublicKey parsed
}

// Job is one source host's datasets and what the vault does with them.
type Job struct {
	Name string `koanf:"name"`
	// Exactly one of Source (a pull job) and MediaSigners (a media job) is set.
	Source         *Remote         `koanf:"source"`
	MediaSigners   []string        `koanf:"media_signers"`
	SourceDatasets []string        `koanf:"source_datasets"`
	Recursive      bool            `koanf:"recursive"`
	Exclude        []string        `koanf:"exclude"`
	Target         string          `koanf:"target"`
	Schedule       Schedule        `koanf:"schedule"` // zero for media jobs
	Jitter         time.Duration   `koanf:"jitter"`
	RPO            time.Duration   `koanf:"rpo"`
	RPOCritical    time.Duration   `koanf:"rpo_critical"`
	BandwidthLimit Size            `koanf:"bandwidth_limit"`  // bytes per second, 0 for no limit
	SnapshotOnPull *SnapshotOnPull `koanf:"snapshot_on_pull"` // nil: take no snapshot
	Receive        Receive         `koanf:"receive"`
	Prune          Prune           `koanf:"prune"`
	Anomaly        Anomaly         `koanf:"anomaly"`
	// Timezone is the source host's time zone, the one its zfsnap2 names are read in; the
	// top-level timezone by default.
	Timezone string `koanf:"timezone"`
	// Quota is set on the job's target by bootstrap: all the job can make the vault store.
	// 0 for none.
	Quota Size `koanf:"quota"`
	// MaxNewSnapshots bounds how many new snapshots one pull receives into an existing copy
	// of a dataset; a pull that would bring more receives nothing for it and alarms.
	MaxNewSnapshots int `koanf:"max_new_snapshots"`

	// Location is Timezone loaded.
	Location *time.Location `koanf:"-"`
}

// SnapshotOnPull asks the source to take a zfsnap2 snapshot right before each pull.
type SnapshotOnPull struct {
	TTL TTL `koanf:"ttl"`
}

// Receive holds the properties the first full receive sets and excludes.
type Receive struct {
	Set     []string `koanf:"set"`     // "prop=value", passed as -o
	Exclude []string `koanf:"exclude"` // property names, passed as -x
}

// Prune is when and how the vault prunes what it holds for a job.
type Prune struct {
	Schedule     Schedule      `koanf:"schedule"` // zero: prune only on demand
	SourceTTL    bool          `koanf:"source_ttl"`
	TTLFactor    float64       `koanf:"ttl_factor"`
	Grid         []GridRule    `koanf:"grid"`
	MinKeep      int           `koanf:"min_keep"`
	MinAge       time.Duration `koanf:"min_age"`
	MaxDestroy   int           `koanf:"max_destroy"`
	KeepUnparsed bool          `koanf:"keep_unparsed"`
	// DateTolerance is how far the date in a zfsnap2 name may be from the snapshot's
	// creation before the name is taken for a lie.
	DateTolerance time.Duration `koanf:"date_tolerance"`
}

// Anomaly is the tripwire for an incremental far larger than the dataset's history.
type Anomaly struct {
	Factor float64 `koanf:"factor"`
	Floor  Size    `koanf:"floor"`
	Window int     `koanf:"window"`
	// RewriteShare trips the alarm when an incremental is larger than this share of the
	// dataset's referenced data, and larger than RewriteFloor, whatever its history.
	RewriteShare float64 `koanf:"rewrite_share"`
	RewriteFloor Size    `koanf:"rewrite_floor"`
	// SnapshotFloor: a pull that brings more new snapshots of a dataset than Factor times
	// the usual count, and more than this, trips the alarm.
	SnapshotFloor int `koanf:"snapshot_floor"`
}

// IsMedia reports whether the job's streams arrive on removable media instead of over SSH.
func (j *Job) IsMedia() bool { return j.Source == nil }

// Includes reports whether the job replicates the source dataset ds: ds is one of the
// source datasets, or (when the job is recursive) below one, and not under an exclude.
func (j *Job) Includes(ds string) bool {
	_, ok := j.TargetFor(ds)
	return ok
}

// TargetFor gives the dataset on the vault where the source dataset ds lands: a source
// dataset "a/b/c" lands at "<target>/c" and its descendant "a/b/c/d" at "<target>/c/d". It
// returns false for a dataset the job does not replicate (outside every source dataset, below
// one when the job is not recursive, or excluded).
func (j *Job) TargetFor(ds string) (string, bool) {
	for _, x := range j.Exclude {
		if under(ds, x) {
			return "", false
		}
	}
	for _, root := range j.SourceDatasets {
		if !under(ds, root) || (!j.Recursive && ds != root) {
			continue
		}
		return j.Target + "/" + lastComponent(root) + ds[len(root):], true
	}
	return "", false
}

// Job gives the job with the given name.
func (c *Config) Job(name string) (*Job, bool) {
	for i := range c.Jobs {
		if c.Jobs[i].Name == name {
			return &c.Jobs[i], true
		}
	}
	return nil, false
}

// Signer gives the signer with the given name.
func (c *Config) Signer(name string) (*Signer, bool) {
	for i := range c.Signers {
		if c.Signers[i].Name == name {
			return &c.Signers[i], true
		}
	}
	return nil, false
}

// DefaultPath is where vault looks for its configuration file on this system.
func DefaultPath() string { return defaultPath(runtime.GOOS) }

func defaultPath(goos string) string {
	if goos == "freebsd" {
		return "/usr/local/etc/vault.toml"
	}
	return "/etc/vault/vault.toml"
}

func defaultStateDir(goos string) string {
	if goos == "freebsd" {
		return "/var/db/vault"
	}
	return "/var/lib/vault"
}

// maxFileSize bounds what Load reads: a configuration is a few kilobytes.
const maxFileSize = 1 << 20

// Load reads the configuration file at path and parses it. Problems with the contents come
// as *Problems naming the file; a file that cannot be read is a plain error.
func Load(path string) (*Config, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, err
	}
	return parse(path, data, host{goos: runtime.GOOS, name: hostname()})
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read configuration %q: %w", path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read configuration %q: %w", path, err)
	}
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("configuration %q is larger than %d bytes; is it the right file?", path, maxFileSize)
	}
	return data, nil
}

// Parse parses, fills in defaults and checks a configuration. Every problem found is
// reported, as *Problems.
func Parse(data []byte) (*Config, error) {
	return parse("", data, host{goos: runtime.GOOS, name: hostname()})
}

// host is what defaults depend on: the operating system and the host's name.
type host struct {
	goos string
	name string // "" when unknown
}

// hostname is this host's name, "" when it has none.
func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

// parse does the work of Parse for a file name (for messages) and a host (for its defaults).
func parse(name string, data []byte, h host) (*Config, error) {
	var ps Problems
	c, raw, meant, ok := decode(data, &ps)
	if !ok {
		return nil, ps.withFile(name)
	}
	c.lines = lineIndex(data)
	failed := map[string]bool{}
	for _, p := range ps {
		failed[p.Path] = true
	}
	for _, p := range meant {
		failed[p] = true
	}
	c.applyDefaults(raw, h)
	v := &validator{c: c, failed: failed}
	v.run()
	ps = append(ps, v.problems...)
	if len(ps) > 0 {
		for i := range ps {
			ps[i].Line = c.lineOf(ps[i].Path)
		}
		ps.sort()
		return nil, ps.withFile(name)
	}
	return c, nil
}

// Validate checks a resolved configuration again, for a caller that built or changed one.
// Derived fields (Location, signer and recipient keys, schedules' time zone) are set again.
func (c *Config) Validate() error {
	v := &validator{c: c, failed: map[string]bool{}}
	v.run()
	if len(v.problems) == 0 {
		return nil
	}
	for i := range v.problems {
		v.problems[i].Line = c.lineOf(v.problems[i].Path)
	}
	v.problems.sort()
	return &v.problems
}

// lineOf gives the line of the key path, or failing that of its nearest ancestor that has one
// (a missing key is reported on the line of its table's header), or 0.
func (c *Config) lineOf(path string) int {
	for path != "" {
		if n, ok := c.lines[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// applyDefaults fills in every key the file leaves out. raw is the parsed TOML, which tells a
// key set to its zero value from an absent one.
func (c *Config) applyDefaults(raw map[string]any, h host) {
	goos := h.goos
	has := func(path string) bool { return lookup(raw, path) }
	if !has("user") {
		c.User = "backup"
	}
	if !has("state_dir") {
		c.StateDir = defaultStateDir(goos)
	}
	if !has("zfs_binary") {
		c.ZFSBinary = "/sbin/zfs"
	}
	if !has("zpool_binary") {
		c.ZpoolBinary = "/sbin/zpool"
	}
	if !has("timezone") {
		c.Timezone = "Local"
	}
	if !has("max_parallel") {
		c.MaxParallel = 2
	}
	if !has("log_level") {
		c.LogLevel = "info"
	}
	if !has("hold_prefix") {
		c.HoldPrefix = defaultHoldPrefix(h.name)
	}
	// 80% and 90%: OpenZFS slows down as a pool fills (it hunts for free space), and a backup
	// pool grows by every pull; 35 and 60 days: a monthly scrub is late after 35 days and has
	// been missed twice after 60.
	if !has("pool_capacity_warn") {
		c.PoolCapacityWarn = 80
	}
	if !has("pool_capacity_crit") {
		c.PoolCapacityCrit = 90
	}
	if !has("scrub_age_warn") {
		c.ScrubAgeWarn = 35 * 24 * time.Hour
	}
	if !has("scrub_age_crit") {
		c.ScrubAgeCrit = 60 * 24 * time.Hour
	}
	if !has("ssh.identity") && strings.HasPrefix(c.StateDir, "/") {
		c.SSH.Identity = strings.TrimSuffix(c.StateDir, "/") + "/ssh/id_ed25519"
	}
	if !has("ssh.known_hosts") && strings.HasPrefix(c.StateDir, "/") {
		c.SSH.KnownHosts = strings.TrimSuffix(c.StateDir, "/") + "/ssh/known_hosts"
	}
	if !has("ssh.connect_timeout") {
		c.SSH.ConnectTimeout = 30 * time.Second
	}
	if !has("ssh.io_timeout") {
		c.SSH.IOTimeout = 10 * time.Minute
	}
	if !has("ssh.keepalive") {
		c.SSH.Keepalive = 30 * time.Second
	}
	for i := range c.Jobs {
		j, p := &c.Jobs[i], fmt.Sprintf("job[%d].", i)
		if !has(p + "recursive") {
			j.Recursive = true
		}
		if !has(p+"rpo_critical") && j.RPO > 0 && j.RPO <= 1<<62 {
			j.RPOCritical = 2 * j.RPO
		}
		if !has(p + "receive.set") {
			j.Receive.Set = []string{"canmount=noauto", "readonly=on"}
		}
		if !has(p + "receive.exclude") {
			j.Receive.Exclude = []string{"atime"}
		}
		if !has(p + "prune.source_ttl") {
			j.Prune.SourceTTL = true
		}
		if !has(p + "timezone") {
			j.Timezone = c.Timezone
		}
		if !has(p + "max_new_snapshots") {
			j.MaxNewSnapshots = 500
		}
		if !has(p + "prune.ttl_factor") {
			j.Prune.TTLFactor = 2
		}
		if !has(p + "prune.min_keep") {
			j.Prune.MinKeep = 7
		}
		if !has(p + "prune.date_tolerance") {
			j.Prune.DateTolerance = 15 * time.Minute
		}
		if !has(p + "prune.min_age") {
			j.Prune.MinAge = 24 * time.Hour
		}
		if !has(p + "prune.max_destroy") {
			j.Prune.MaxDestroy = 20
		}
		if !has(p + "prune.keep_unparsed") {
			j.Prune.KeepUnparsed = true
		}
		if !has(p + "anomaly.factor") {
			j.Anomaly.Factor = 10
		}
		if !has(p + "anomaly.floor") {
			j.Anomaly.Floor = 1 << 30
		}
		if !has(p + "anomaly.window") {
			j.Anomaly.Window = 10
		}
		if !has(p + "anomaly.rewrite_share") {
			j.Anomaly.RewriteShare = 0.5
		}
		if !has(p + "anomaly.rewrite_floor") {
			j.Anomaly.RewriteFloor = 64 << 20
		}
		if !has(p + "anomaly.snapshot_floor") {
			j.Anomaly.SnapshotFloor = 48
		}
	}
}

// defaultHoldPrefix is "vault:" and the host's short name and ":" ("vault:rust10:"), so that
// each vault's holds on a shared source are its own; "vault:" when the host has no usable name.
func defaultHoldPrefix(h string) string {
	h, _, _ = strings.Cut(h, ".")
	if !holdPrefixRE.MatchString("vault:" + h + ":") {
		return "vault:"
	}
	return "vault:" + h + ":"
}

// HoldTag is the tag of the hold a job keeps on its incremental base, on both sides.
func (c *Config) HoldTag(job string) string { return c.HoldPrefix + job }
