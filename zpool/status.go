package zpool

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Status is one pool of `zpool status -p`.
type Status struct {
	Pool  string
	State string // as printed on the " state:" line: ONLINE, DEGRADED, ...
	// Status and Action are zpool's explanation and advice ("status:", "action:"), their
	// continuation lines joined with a space; "" when it printed none (a healthy pool).
	Status, Action string
	See            string // the "see:" URL, or ""
	// Scans are the scan lines in order: the scrub's (or the error scrub's) first, then a
	// resilver's; none for a pool never scanned.
	Scans []Scan
	// Notes are the other lines about the pool's activity (remove:, checkpoint:, expand:,
	// scan warning:), their first lines as printed.
	Notes []string
	// NoConfig: zpool said "The configuration cannot be determined".
	NoConfig bool
	// Vdevs are the rows of the config tree, the pool's own first.
	Vdevs []Vdev
	// Read, Write and Checksum sum the error counters of every row of the tree (the pool's
	// row, its top-level vdevs and their disks): a count of error reports, not of bad blocks;
	// 0 when no vdev saw an error.
	Read, Write, Checksum uint64
	// Errors is the "errors:" line after the label ("No known data errors", "3 data errors,
	// use '-v' for a list"); "" when zpool printed none. DataErrors is its count.
	Errors     string
	DataErrors uint64
}

// NoKnownDataErrors is what zpool prints on the errors: line of a pool without data errors.
const NoKnownDataErrors = "No known data errors"

// Vdev is one row of the config tree.
type Vdev struct {
	Name  string
	Depth int    // 0 for the pool's row, 1 for a top-level vdev (or a class's), 2 below it
	Class string // "" in the main tree, else the section: logs, dedup, special, cache, spares
	State string
	// Counters is false for a row without error counters (spares); Read, Write and Checksum
	// are then 0.
	Counters              bool
	Read, Write, Checksum uint64
	// Note is what zpool printed after the counters: "was /dev/sdc1", "cannot open",
	// "(resilvering)"; "" for none.
	Note string
}

var (
	vdevStates = map[string]bool{"INUSE": true, "AVAIL": true}
	classes    = map[string]bool{"logs": true, "dedup": true, "special": true, "cache": true, "spares": true}
	headerRE   = regexp.MustCompile(`^\tNAME +STATE +READ WRITE CKSUM$`)
	dataErrRE  = regexp.MustCompile(`^([0-9]+) data errors, use '-v' for a list$`)
	labelRE    = regexp.MustCompile(`^ *([a-z]+(?: warning)?): ?(.*)$`)
)

// statusParser is ParseStatus's state.
type statusParser struct {
	loc   *time.Location
	pools []Status
	cur   *Status
	// phase: "" between pools, "head" in the lines before config:, "config" after it until the
	// tree's header, "tree" in the tree, "errors" after the errors: line.
	phase    string
	label    string // the head's last label, which continuation lines extend
	stateCol int    // byte offset of the STATE column in the tree
	class    string
	errFiles bool // the errors: line announced a list of files (zpool status -v)
}

// ParseStatus parses the output of `zpool status -p [POOL...]` (without -v, -x, -D, -s, -t,
// -i, -c or -T, and without color), reading its dates in loc, the zone zpool ran in. Every
// line must have a place in the formats of OpenZFS 2.1 to 2.4; an error names the first that
// has none and quotes it.
func ParseStatus(r io.Reader, loc *time.Location) ([]Status, error) {
	p := &statusParser{loc: loc}
	if err := scanLines(r, "zpool status", p.line); err != nil {
		return nil, err
	}
	if err := p.finish(); err != nil {
		return nil, fmt.Errorf("cannot parse zpool status output: %w", err)
	}
	return p.pools, nil
}

func (p *statusParser) line(line string) error {
	if name, ok := strings.CutPrefix(line, "  pool: "); ok {
		if err := p.finish(); err != nil {
			return err
		}
		if err := CheckPoolName(name); err != nil {
			return err
		}
		for _, s := range p.pools {
			if s.Pool == name {
				return fmt.Errorf("pool %q shown twice", name)
			}
		}
		p.cur, p.phase, p.label = &Status{Pool: name}, "head", ""
		return nil
	}
	switch p.phase {
	case "":
		if line == "" {
			return nil
		}
		return errors.New("expected \"  pool: NAME\"")
	case "head":
		return p.head(line)
	case "config":
		if line == "" {
			return nil
		}
		if !headerRE.MatchString(line) {
			return errors.New("expected the config tree's header (NAME STATE READ WRITE CKSUM)")
		}
		p.stateCol, p.phase, p.class = strings.Index(line, "STATE"), "tree", ""
		return nil
	case "tree":
		if line == "" {
			p.phase = "after-tree"
			return nil
		}
		return p.row(line)
	case "after-tree", "errors":
		return p.errorsLine(line)
	}
	return fmt.Errorf("parser in unknown phase %q", p.phase)
}

// head reads the lines between " state:" and "config:".
func (p *statusParser) head(line string) error {
	s := p.cur
	if line == "" {
		return nil // zpool prints one after a list of unsupported features
	}
	if rest, ok := strings.CutPrefix(line, "\t"); ok {
		return p.continuation(rest)
	}
	m := labelRE.FindStringSubmatch(line)
	if m == nil {
		return errors.New("unexpected line before the config tree")
	}
	label, text := m[1], m[2]
	want := map[string]string{"state": " state: ", "status": "status: ", "action": "action: ", "see": "   see: ",
		"scan": "  scan: ", "scrub": " scrub: ", "remove": "remove: ", "checkpoint": "checkpoint: ",
		"expand": "expand: ", "scan warning": "    scan warning: ", "config": "config:"}
	prefix, known := want[label]
	if !known || !strings.HasPrefix(line, prefix) {
		return fmt.Errorf("unknown label %q", label)
	}
	if label != "state" && s.State == "" {
		return errors.New("expected \" state:\" first")
	}
	p.label = label
	switch label {
	case "state":
		if s.State != "" {
			return errors.New("a second state: line")
		}
		if !poolStates[text] {
			return fmt.Errorf("unknown state %q", text)
		}
		s.State = text
	case "status", "action", "see":
		field := map[string]*string{"status": &s.Status, "action": &s.Action, "see": &s.See}[label]
		if *field != "" || text == "" {
			return fmt.Errorf("a second or empty %s: line", label)
		}
		*field = oneLine(text)
	case "scan", "scrub":
		sc, err := parseScanHead(text, label == "scrub", p.loc)
		if err != nil {
			return err
		}
		if n := len(s.Scans); n > 0 {
			if err := s.Scans[n-1].complete(); err != nil {
				return err
			}
		}
		s.Scans = append(s.Scans, sc)
	case "remove", "checkpoint", "expand", "scan warning":
		s.Notes = append(s.Notes, strings.TrimSpace(line))
	case "config":
		if err := p.endScans(); err != nil {
			return err
		}
		switch text {
		case "":
			p.phase = "config"
		case "The configuration cannot be determined.":
			s.NoConfig, p.phase = true, "after-tree"
		default:
			return errors.New("unexpected text after \"config:\"")
		}
	}
	return nil
}

// continuation takes a line that starts with a tab, which continues the head's last label.
func (p *statusParser) continuation(text string) error {
	s := p.cur
	switch p.label {
	case "status":
		s.Status = oneLine(s.Status + " " + text)
	case "action":
		s.Action = oneLine(s.Action + " " + text)
	case "scan", "scrub":
		return s.Scans[len(s.Scans)-1].addDetail(text, p.loc)
	case "remove", "expand":
		// progress lines of a removal or an expansion: the first line said what it is
	default:
		return errors.New("a continuation line after no label that has them")
	}
	return nil
}

func (p *statusParser) endScans() error {
	if n := len(p.cur.Scans); n > 0 {
		return p.cur.Scans[n-1].complete()
	}
	return nil
}

// row reads one row of the config tree: "\t" + two spaces a level + name, padded to the
// STATE column, then the state, the three counters (not for spares) and a note.
func (p *statusParser) row(line string) error {
	s := p.cur
	if !strings.HasPrefix(line, "\t") {
		return errors.New("expected a row of the config tree")
	}
	if c := strings.TrimSuffix(line[1:], "\t"); classes[c] {
		if c == p.class || len(s.Vdevs) == 0 {
			return fmt.Errorf("unexpected section %q", c)
		}
		p.class = c
		return nil
	}
	if len(line) <= p.stateCol || line[p.stateCol-2:p.stateCol] != "  " {
		return errors.New("a row not aligned on the header's STATE column")
	}
	namePart := line[1 : p.stateCol-2]
	indent := len(namePart) - len(strings.TrimLeft(namePart, " "))
	name := strings.TrimRight(namePart[indent:], " ")
	if name == "" || indent%2 != 0 {
		return errors.New("a row without a name, or indented by an odd number of spaces")
	}
	v := Vdev{Name: name, Depth: indent / 2, Class: p.class}
	switch {
	case len(s.Vdevs) == 0 && (v.Depth != 0 || name != s.Pool):
		return fmt.Errorf("the tree's first row is %q, not the pool %q", name, s.Pool)
	case len(s.Vdevs) > 0 && v.Depth == 0:
		return errors.New("a second row at the pool's level")
	case len(s.Vdevs) > 0 && v.Depth > s.Vdevs[len(s.Vdevs)-1].Depth+1:
		return errors.New("a row indented deeper than a child of the row above")
	}
	fields := strings.Fields(line[p.stateCol:])
	if len(fields) == 0 || !poolStates[fields[0]] && !(vdevStates[fields[0]] && p.class == "spares") {
		return errors.New("a row without a known state")
	}
	v.State, fields = fields[0], fields[1:]
	if p.class != "spares" {
		if len(fields) < 3 {
			return errors.New("a row without its READ, WRITE and CKSUM counters")
		}
		var err error
		for i, dst := range []*uint64{&v.Read, &v.Write, &v.Checksum} {
			if *dst, err = parseUint(fields[i]); err != nil {
				return fmt.Errorf("counter %s (run zpool status with -p)", err)
			}
		}
		v.Counters, fields = true, fields[3:]
		s.Read, s.Write, s.Checksum = addSat(s.Read, v.Read), addSat(s.Write, v.Write), addSat(s.Checksum, v.Checksum)
	}
	v.Note = strings.Join(fields, " ")
	s.Vdevs = append(s.Vdevs, v)
	return nil
}

// errorsLine reads what follows the tree: the errors: line, and with -v the files it lists.
func (p *statusParser) errorsLine(line string) error {
	s := p.cur
	if text, ok := strings.CutPrefix(line, "errors: "); ok && p.phase == "after-tree" {
		s.Errors, p.phase = text, "errors"
		switch {
		case text == NoKnownDataErrors:
		case dataErrRE.MatchString(text):
			n, err := strconv.ParseUint(dataErrRE.FindStringSubmatch(text)[1], 10, 64)
			if err != nil || n == 0 {
				return errors.New("a data error count that is not a positive number")
			}
			s.DataErrors = n
		case text == "Permanent errors have been detected in the following files:":
			p.errFiles = true
		default:
			return errors.New("an errors: line of unknown form")
		}
		return nil
	}
	if line == "" {
		return nil
	}
	if f, ok := strings.CutPrefix(line, "        "); ok && p.errFiles && strings.TrimSpace(f) != "" {
		s.DataErrors++
		return nil
	}
	return errors.New("unexpected line after the config tree")
}

// finish checks the pool being read, if any, and keeps it.
func (p *statusParser) finish() error {
	s := p.cur
	if s == nil {
		return nil
	}
	switch p.phase {
	case "head", "config":
		return fmt.Errorf("pool %q: output ends before its config tree", s.Pool)
	case "tree":
		if len(s.Vdevs) == 0 {
			return fmt.Errorf("pool %q: a config tree without rows", s.Pool)
		}
	}
	if !s.NoConfig && len(s.Vdevs) == 0 {
		return fmt.Errorf("pool %q: a config tree without rows", s.Pool)
	}
	// The state line can say SUSPENDED or FAULTED over a root vdev that looks ONLINE; never
	// the other way round.
	if len(s.Vdevs) > 0 && s.State == "ONLINE" && s.Vdevs[0].State != "ONLINE" {
		return fmt.Errorf("pool %q: state ONLINE, but its row in the tree says %s", s.Pool, s.Vdevs[0].State)
	}
	if p.errFiles && s.DataErrors == 0 {
		return fmt.Errorf("pool %q: permanent errors announced, no file listed", s.Pool)
	}
	p.pools = append(p.pools, *s)
	p.cur, p.phase, p.errFiles = nil, "", false
	return nil
}

// addSat adds without wrapping around.
func addSat(a, b uint64) uint64 {
	if a+b < a {
		return ^uint64(0)
	}
	return a + b
}

// oneLine folds runs of spaces and tabs into one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
