package serve

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/belltech/vault/policy"
	"github.com/belltech/vault/props"
	"github.com/belltech/vault/shellword"
	"github.com/belltech/vault/zfs"
	"github.com/hashicorp/go-hclog"
)

// DefaultZFS is the zfs binary the gate runs when Gate.ZFS is empty: where
// FreeBSD has it, and where Debian's merged /usr finds it too.
const DefaultZFS = "/sbin/zfs"

// DefaultMaxSkew is how far from the host's clock the date in a snapshot's
// name may be when Gate.MaxSkew is 0; MaxMaxSkew is the most vault serve's
// --max-skew takes.
const (
	DefaultMaxSkew = 5 * time.Minute
	MaxMaxSkew     = time.Hour
)

// Gate decides which command lines a source host runs for the vault, and
// runs them. Check does no I/O; Serve runs the command with Exec.
type Gate struct {
	// Allow are the roots a command may name: each dataset, snapshot and
	// bookmark must be a root or lie below one (whole components: the root
	// "p/jail" allows "p/jail" and "p/jail/x", not "p/jailbreak").
	Allow []zfs.Dataset
	// ZFS is the absolute path of the zfs binary; "" means [DefaultZFS].
	ZFS string
	// HoldPrefix starts every tag a client may hold or release: [TagPrefix]
	// and, to keep one vault's key off another vault's holds, that vault's
	// own name ("vault:rust10:"). "" means [TagPrefix]. See
	// [CheckHoldPrefix].
	HoldPrefix string
	// MaxSkew is how far the date in the name of a snapshot to take may be
	// from the host's clock; 0 means [DefaultMaxSkew].
	MaxSkew time.Duration
	// Now returns the host's clock in its local time zone; nil means
	// time.Now. The gate compares the wall clock it shows with the date in
	// a snapshot's name, which zfsnap2 and vault write in local time.
	Now func() time.Time
	// Exec runs commands: the accepted one, the dry run that verifies a
	// resume token, and the zfs get that tells whether a dataset is
	// encrypted. Nil means a [zfs.Local].
	Exec zfs.Executor
	// Log gets one line for each command refused or accepted, and one for
	// how an accepted command ended. Nil means no logging.
	Log hclog.Logger
}

// RefusedError reports a command line the gate does not run.
type RefusedError struct {
	Reason string // for the client, and the log
	Detail string // for the log only: what the client must not learn
}

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

func refusef(format string, a ...any) *RefusedError {
	return &RefusedError{Reason: fmt.Sprintf(format, a...)}
}

// command is an accepted command line.
type command struct {
	argv   []string    // to run: argv[0] is the gate's zfs binary
	token  string      // for zfs send -t: the resume token, which must be verified before the send
	resume resumeToken // what the token says
	// plain is, for a zfs send without -w, the dataset whose encryption
	// must be off before the send runs.
	plain zfs.Dataset
}

// Check reports whether the gate accepts cmdline, the command a client
// asked for (SSH_ORIGINAL_COMMAND), and returns the argv to run for it:
// the client's words with the first replaced by the absolute path of zfs.
// A refusal is a [*RefusedError]. See the package documentation for the
// grammar.
//
// Check does no I/O; it reads the clock (Gate.Now) for zfs snapshot. A
// `zfs send -t TOKEN` that it accepts still needs the dry run Serve makes
// to learn which snapshot the token names, and a send that is not raw the
// check that its dataset is not encrypted.
func (g *Gate) Check(cmdline string) ([]string, error) {
	c, err := g.check(cmdline)
	if err != nil {
		return nil, err
	}
	return c.argv, nil
}

func (g *Gate) zfsBin() string {
	if g.ZFS == "" {
		return DefaultZFS
	}
	return g.ZFS
}

func (g *Gate) check(cmdline string) (*command, error) {
	if cmdline == "" {
		return nil, refusef("no command: an interactive login is not allowed")
	}
	if len(g.Allow) == 0 {
		return nil, refusef("no dataset is allowed (serve has no --allow)")
	}
	if !path.IsAbs(g.zfsBin()) {
		return nil, refusef("the zfs binary %q is not an absolute path", g.zfsBin())
	}
	if err := CheckHoldPrefix(g.holdPrefix()); err != nil {
		return nil, refusef("%v", err)
	}
	words, err := shellword.Split(cmdline)
	if err != nil {
		return nil, refusef("cannot parse the command line: %v", err)
	}
	if prog := words[0]; prog != "zfs" && !slices.Contains(zfsPaths, prog) && prog != g.zfsBin() {
		return nil, refusef("program %s is not zfs", quote(prog))
	}
	if len(words) < 2 {
		return nil, refusef("zfs without a subcommand")
	}
	p := &parser{g: g, sub: words[1], args: words[2:]}
	var c command
	switch p.sub {
	case "list":
		err = p.list()
	case "send":
		c.token, c.plain, err = p.send()
	case "hold", "release":
		err = p.tag()
	case "holds":
		err = p.holds()
	case "snapshot":
		err = p.snapshot()
	case "get":
		err = p.get()
	default:
		return nil, refusef("zfs subcommand %s is not allowed (only list, get, send, hold, release, holds, snapshot)", quote(p.sub))
	}
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		if c.resume, err = decodeToken(c.token); err == nil {
			_, err = g.tokenSnapshot(c.resume)
		}
		if err != nil {
			return nil, tokenRefused(err)
		}
	}
	c.argv = append([]string{g.zfsBin()}, words[1:]...)
	return &c, nil
}

// zfsPaths are the paths of zfs a client may name instead of "zfs"; the
// gate runs its own configured binary whichever it names.
var zfsPaths = []string{"/sbin/zfs", "/usr/sbin/zfs", "/usr/local/sbin/zfs"}

// parser walks the arguments of one zfs subcommand.
type parser struct {
	g    *Gate
	sub  string
	args []string
	i    int
}

// errorf refuses the command, naming the subcommand and the argument
// number (counting from 1 after the subcommand).
func (p *parser) errorf(format string, a ...any) error {
	return refusef("zfs %s: argument %d: %s", p.sub, p.i+1, fmt.Sprintf(format, a...))
}

func (p *parser) done() bool { return p.i == len(p.args) }

func (p *parser) peek() string {
	if p.done() {
		return ""
	}
	return p.args[p.i]
}

// accept consumes word if it is next.
func (p *parser) accept(word string) bool {
	if !p.done() && p.args[p.i] == word {
		p.i++
		return true
	}
	return false
}

// expect consumes word, which must be next.
func (p *parser) expect(word string) error {
	if p.done() {
		return p.errorf("missing, want %q", word)
	}
	if p.args[p.i] != word {
		return p.errorf("got %s, want %q", quote(p.args[p.i]), word)
	}
	p.i++
	return nil
}

// word returns the word under examination, without consuming it: the
// caller checks it (so that a refusal names its position), then moves on.
func (p *parser) word(what string) (string, error) {
	if p.done() {
		return "", p.errorf("missing %s", what)
	}
	return p.args[p.i], nil
}

// end requires that no arguments are left.
func (p *parser) end() error {
	if !p.done() {
		return p.errorf("unexpected %s", quote(p.args[p.i]))
	}
	return nil
}

// names consumes the rest of the arguments, at least one, each checked by
// check.
func (p *parser) names(what string, check func(string) error) error {
	if p.done() {
		return p.errorf("missing %s", what)
	}
	for !p.done() {
		if err := check(p.args[p.i]); err != nil {
			return err
		}
		p.i++
	}
	return nil
}

// allowed reports whether ds is one of the roots or below one.
func (g *Gate) allowed(ds zfs.Dataset) bool {
	for _, root := range g.Allow {
		if ds.HasPrefix(root) {
			return true
		}
	}
	return false
}

func (p *parser) dataset(s string) error {
	ds, err := zfs.ParseDataset(s)
	if err != nil {
		return p.errorf("%v", err)
	}
	return p.under(ds, s)
}

func (p *parser) snapshotName(s string) error {
	snap, err := zfs.ParseSnapshot(s)
	if err != nil {
		return p.errorf("%v", err)
	}
	return p.under(snap.Dataset(), s)
}

func (p *parser) under(ds zfs.Dataset, name string) error {
	if !p.g.allowed(ds) {
		return p.errorf("%s is not under an allowed root (%s)", quote(name), p.g.roots())
	}
	return nil
}

func (g *Gate) roots() string {
	s := make([]string, len(g.Allow))
	for i, r := range g.Allow {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// listColumns are the properties zfs list -o may ask for: those the vault
// lists on a source (puller: datasets with name, type, guid, createtxg,
// encryption; snapshots with name, guid, createtxg, userrefs), and no more.
var listColumns = set("name", "type", "guid", "createtxg", "encryption", "userrefs")

// listTypes are the types zfs list -t may ask for: the vault lists no
// bookmarks.
var listTypes = set("filesystem", "volume", "snapshot")

func set(words ...string) map[string]bool {
	m := make(map[string]bool, len(words))
	for _, w := range words {
		m[w] = true
	}
	return m
}

// commaList checks a comma-separated list of distinct words from allowed.
func (p *parser) commaList(what, s string, allowed map[string]bool) error {
	seen := map[string]bool{}
	for w := range strings.SplitSeq(s, ",") {
		switch {
		case !allowed[w]:
			return p.errorf("%s %s is not allowed in %s", what, quote(w), quote(s))
		case seen[w]:
			return p.errorf("%s %q given twice", what, w)
		}
		seen[w] = true
	}
	return nil
}

// list: zfs list -H -p -o COLS -t TYPES [-r] DATASET...
func (p *parser) list() error {
	for _, f := range []string{"-H", "-p", "-o"} {
		if err := p.expect(f); err != nil {
			return err
		}
	}
	cols, err := p.word("columns")
	if err != nil {
		return err
	}
	if err := p.commaList("column", cols, listColumns); err != nil {
		return err
	}
	p.i++
	if err := p.expect("-t"); err != nil {
		return err
	}
	types, err := p.word("types")
	if err != nil {
		return err
	}
	if err := p.commaList("type", types, listTypes); err != nil {
		return err
	}
	p.i++
	p.accept("-r")
	return p.names("dataset", p.dataset)
}

// get: zfs get -H -p -s local -o name,property,value -t filesystem,volume all [-r] DATASET...
// (props.GetArgs): the properties set locally on datasets under the roots, which the vault keeps
// for a restore. Every word but -r and the names is fixed: no other source (a received or
// inherited value says nothing of the host's own settings), columns, types (no snapshots or
// bookmarks) or property list.
func (p *parser) get() error {
	for _, w := range props.GetArgs[1:] {
		if err := p.expect(w); err != nil {
			return err
		}
	}
	p.accept("-r")
	return p.names("dataset", p.dataset)
}

// send: zfs send [-n -P] [-L] [-c] [-w] [-i FROM | -I FROM] SNAP
// or zfs send [-n -P] -t TOKEN. It returns the token of the second form,
// and for the first without -w the dataset sent, whose encryption must be
// off.
func (p *parser) send() (token string, plain zfs.Dataset, err error) {
	if p.accept("-n") {
		if err := p.expect("-P"); err != nil {
			return "", zfs.Dataset{}, err
		}
	}
	if p.accept("-t") {
		token, err := p.word("resume token")
		if err != nil {
			return "", zfs.Dataset{}, err
		}
		if r := checkToken(token); r != "" {
			return "", zfs.Dataset{}, p.errorf("resume token %s", r)
		}
		p.i++
		return token, zfs.Dataset{}, p.end()
	}
	p.accept("-L")
	p.accept("-c")
	raw := p.accept("-w")
	var from zfs.Snapshot
	if f := p.peek(); f == "-i" || f == "-I" {
		p.i++
		if from, err = p.incrementalSource(); err != nil {
			return "", zfs.Dataset{}, err
		}
		p.i++
	}
	s, err := p.word("snapshot")
	if err != nil {
		return "", zfs.Dataset{}, err
	}
	if strings.HasPrefix(s, "-") {
		return "", zfs.Dataset{}, p.errorf("option %s is not allowed here (the order is [-n -P] [-L] [-c] [-w] [-i FROM | -I FROM] SNAPSHOT)", quote(s))
	}
	snap, err := zfs.ParseSnapshot(s)
	if err != nil {
		return "", zfs.Dataset{}, p.errorf("%v", err)
	}
	if err := p.under(snap.Dataset(), s); err != nil {
		return "", zfs.Dataset{}, err
	}
	if !from.IsZero() && from.Dataset() != snap.Dataset() {
		return "", zfs.Dataset{}, p.errorf("incremental source %s is not of the same dataset as %s", quote(from.String()), quote(s))
	}
	p.i++
	if !raw {
		plain = snap.Dataset()
	}
	return "", plain, p.end()
}

// incrementalSource checks the word after -i or -I: a snapshot under an
// allowed root. The vault never sends from a bookmark.
func (p *parser) incrementalSource() (zfs.Snapshot, error) {
	s, err := p.word("incremental source")
	if err != nil {
		return zfs.Snapshot{}, err
	}
	if strings.IndexByte(s, '@') < 0 {
		return zfs.Snapshot{}, p.errorf("incremental source %s is not a full snapshot name (dataset@snapshot)", quote(s))
	}
	snap, err := zfs.ParseSnapshot(s)
	if err != nil {
		return zfs.Snapshot{}, p.errorf("%v", err)
	}
	return snap, p.under(snap.Dataset(), s)
}

// MaxTokenLen is the longest resume token the gate passes on, the limit
// zfs.CheckResumeToken applies too.
const MaxTokenLen = 8192

// checkToken returns why token is not a receive_resume_token as zfs prints
// it ("1-" and lowercase hex and '-'), or "".
func checkToken(token string) string {
	switch {
	case len(token) > MaxTokenLen:
		return fmt.Sprintf("is %d bytes long, more than %d", len(token), MaxTokenLen)
	case len(token) < 3 || token[0] < '0' || token[0] > '9' || token[1] != '-':
		return fmt.Sprintf("%s does not start with a digit and '-'", quote(token))
	}
	for i := 0; i < len(token); i++ {
		if b := token[i]; !('0' <= b && b <= '9' || 'a' <= b && b <= 'f' || b == '-') {
			return "contains " + describeByte(b)
		}
	}
	return ""
}

// TagPrefix starts every hold tag vault makes, and every tag the gate lets a
// client hold or release: a stolen key cannot release the operator's holds.
// Gate.HoldPrefix narrows it to one vault's tags.
const TagPrefix = "vault:"

// maxHoldPrefixLen bounds a hold prefix, as the configuration's hold_prefix.
const maxHoldPrefixLen = 64

// CheckHoldPrefix reports whether prefix can be a Gate.HoldPrefix: the
// shape of the configuration's hold_prefix, [TagPrefix] and then words of
// letters, digits, '_', '.' and '-', each ending in ':' ("vault:",
// "vault:rust10:"), at most 64 bytes.
func CheckHoldPrefix(prefix string) error {
	rest, ok := strings.CutPrefix(prefix, TagPrefix)
	switch {
	case !ok:
		return fmt.Errorf("hold prefix %q does not start with %q", prefix, TagPrefix)
	case len(prefix) > maxHoldPrefixLen:
		return fmt.Errorf("hold prefix %q is longer than %d bytes", prefix, maxHoldPrefixLen)
	}
	for w := range strings.SplitAfterSeq(rest, ":") {
		if w == "" {
			continue
		}
		ok := w[len(w)-1] == ':' && len(w) > 1 && isAlnum(w[0])
		for i := 1; ok && i < len(w)-1; i++ {
			ok = isAlnum(w[i]) || w[i] == '_' || w[i] == '.' || w[i] == '-'
		}
		if !ok {
			return fmt.Errorf("hold prefix %q is not %q and names ending in ':' (such as %q)", prefix, TagPrefix, "vault:rust10:")
		}
	}
	return nil
}

func isAlnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

func (g *Gate) holdPrefix() string {
	if g.HoldPrefix == "" {
		return TagPrefix
	}
	return g.HoldPrefix
}

// tag: zfs hold TAG SNAP... and zfs release TAG SNAP...
func (p *parser) tag() error {
	tag, err := p.word("hold tag")
	if err != nil {
		return err
	}
	if r := checkTag(tag, p.g.holdPrefix()); r != "" {
		return p.errorf("hold tag %s %s", quote(tag), r)
	}
	p.i++
	return p.names("snapshot", p.snapshotName)
}

// checkTag returns why tag is not a hold tag the gate passes on, or "".
func checkTag(tag, prefix string) string {
	rest, ok := strings.CutPrefix(tag, prefix)
	switch {
	case !ok && prefix == TagPrefix:
		return fmt.Sprintf("does not start with %q: vault only touches its own holds", prefix)
	case !ok:
		return fmt.Sprintf("does not start with %q (--hold-prefix): this key only touches its own vault's holds", prefix)
	case rest == "":
		return fmt.Sprintf("has nothing after %q", prefix)
	case len(tag) > zfs.MaxTagLen:
		return fmt.Sprintf("is longer than %d bytes", zfs.MaxTagLen)
	}
	for i := 0; i < len(tag); i++ {
		if b := tag[i]; b <= ' ' || b > '~' {
			return "contains " + describeByte(b)
		}
	}
	return ""
}

// holds: zfs holds -H [-p] SNAP...
func (p *parser) holds() error {
	if err := p.expect("-H"); err != nil {
		return err
	}
	p.accept("-p")
	return p.names("snapshot", p.snapshotName)
}

// snapshot: zfs snapshot DATASET@ZFSNAP2NAME... (zfs takes the snapshots
// of one command at once, atomically: the puller's snapshot-on-pull names
// every dataset of a job in one command).
func (p *parser) snapshot() error {
	return p.names("snapshot", func(s string) error {
		snap, err := zfs.ParseSnapshot(s)
		if err != nil {
			return p.errorf("%v", err)
		}
		if err := p.under(snap.Dataset(), s); err != nil {
			return err
		}
		// In UTC, the name's date is its wall clock as written.
		n, ok := policy.ParseName(snap.Short(), time.UTC)
		if !ok {
			return p.errorf("snapshot name %s is not a zfsnap2 name (such as 2022-04-08_16.49.48--1w)", quote(snap.Short()))
		}
		if r := p.g.checkDate(n.Created); r != "" {
			return p.errorf("snapshot %s %s", quote(s), r)
		}
		return nil
	})
}

// checkDate returns why a snapshot dated wall, the wall clock its name
// shows (as a time in UTC), is not one to take now, or "". zfsnap2, and
// vault for a source in its job's time zone, write the host's local time,
// so the date is compared with the wall clock of Now in its own zone: wall
// clock with wall clock, never converted to an instant, so that a time a
// DST switch shows twice, or skips, cannot be read an hour off.
func (g *Gate) checkDate(wall time.Time) string {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	t := now()
	clock := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	skew := g.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	d := wall.Sub(clock)
	if -skew <= d && d <= skew {
		return ""
	}
	way := "ahead of"
	if d < 0 {
		way, d = "behind", -d
	}
	return fmt.Sprintf("is dated %s, %s %s this host's clock (%s): more than --max-skew %s; only snapshots of now are taken",
		wall.Format(time.DateTime), d, way, t.Format("2006-01-02 15:04:05 MST"), skew)
}

// describeByte describes b for a message: 'x' if it is printable ASCII,
// else its value.
func describeByte(b byte) string {
	if b >= ' ' && b <= '~' {
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("byte %#x", b)
}

// quote quotes s for a message, cut short if long.
func quote(s string) string {
	const max = 100
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:max], len(s))
}
