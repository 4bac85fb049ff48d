package conf

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	gotoml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// decode parses the TOML and unmarshals it into a Config, without defaults or checks. Unknown
// keys and values of the wrong type are added to ps; ok is false when the file is not TOML
// at all, and then nothing else could be checked. meant lists the key paths that unknown keys
// were probably meant to be (a typo's correction), whose absence is no news.
func decode(data []byte, ps *Problems) (c *Config, raw map[string]any, meant []string, ok bool) {
	// No map in the schema is keyed by user strings, so "." cannot collide with a key that
	// matters; a quoted key with a dot in it is unknown either way.
	k := koanf.New(".")
	if err := k.Load(rawbytes.Provider(data), toml.Parser()); err != nil {
		*ps = append(*ps, syntaxProblem(data, err))
		return nil, nil, nil, false
	}
	raw = k.Raw()

	unknown := map[string]bool{} // paths of the tables that hold unknown keys
	walkUnknown(raw, reflect.TypeOf(Config{}), "", func(table, key string, p Problem, intended string) {
		unknown[table] = true
		*ps = append(*ps, p)
		if intended != "" {
			meant = append(meant, intended)
		}
	})

	c = &Config{}
	err := k.UnmarshalWithConf("", c, koanf.UnmarshalConf{
		Tag: "koanf",
		DecoderConfig: &mapstructure.DecoderConfig{
			DecodeHook:       strictHook,
			ErrorUnused:      true,
			WeaklyTypedInput: false,
			Result:           c,
		},
	})
	for _, e := range leafErrors(err) {
		var de *mapstructure.DecodeError
		if !errors.As(e, &de) {
			ps.add("", e.Error())
			continue
		}
		inner := errors.Unwrap(de)
		if inner == nil {
			inner = de
		}
		if strings.HasPrefix(inner.Error(), "has invalid keys:") && unknown[de.Name()] {
			continue // walkUnknown said it better, key by key
		}
		var te *typeError
		if errors.As(inner, &te) {
			ps.add(de.Name(), te.message(de.Name()))
			continue
		}
		ps.add(de.Name(), inner.Error())
	}
	return c, raw, meant, true
}

// syntaxProblem turns a TOML parse error into a problem with its line and column.
func syntaxProblem(data []byte, err error) Problem {
	var de *gotoml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		return Problem{Line: line, Msg: fmt.Sprintf("invalid TOML at column %d: %s", col, msg)}
	}
	// A key or table defined twice is found after parsing and comes without a position.
	return Problem{Line: failingLine(data), Msg: "invalid TOML: " + strings.TrimPrefix(err.Error(), "toml: ")}
}

// failingLine finds the line of the first top-level expression (key/value or table header)
// at which decoding data fails, by bisecting over the prefixes of the document that end
// before an expression; 0 if there is none. Each prefix is itself a syntactically valid
// document, and once a prefix fails, every longer one does.
func failingLine(data []byte) int {
	var p unstable.Parser
	p.Reset(data)
	var starts []int // byte offset where each expression starts
	var lines []int
	for p.NextExpression() {
		e := p.Expression()
		it := e.Key()
		if !it.Next() || it.Node().Raw.Length == 0 {
			return 0
		}
		sh := p.Shape(it.Node().Raw)
		// Back up to the start of the line, past a table header's brackets.
		off := sh.Start.Offset - (sh.Start.Column - 1)
		starts = append(starts, off)
		lines = append(lines, sh.Start.Line)
	}
	fails := func(i int) bool { // does the document up to and including expression i fail?
		end := len(data)
		if i+1 < len(starts) {
			end = starts[i+1]
		}
		var m map[string]any
		return gotoml.Unmarshal(data[:end], &m) != nil
	}
	i := sort.Search(len(starts), fails)
	if i == len(starts) {
		return 0
	}
	return lines[i]
}

// leafErrors flattens the tree of wrapped and joined errors that mapstructure returns into
// its *mapstructure.DecodeError leaves.
func leafErrors(err error) []error {
	switch e := err.(type) {
	case nil:
		return nil
	case *mapstructure.DecodeError:
		return []error{e}
	case interface{ Unwrap() []error }:
		var out []error
		for _, x := range e.Unwrap() {
			out = append(out, leafErrors(x)...)
		}
		return out
	case interface{ Unwrap() error }:
		if inner := e.Unwrap(); inner != nil {
			return leafErrors(inner)
		}
	}
	return []error{err}
}

// lastKey gives "min_keep" for "job[0].prune.min_keep" and "grid" for "job[0].prune.grid[2]".
func lastKey(path string) string {
	path = path[strings.LastIndexByte(path, '.')+1:]
	if i := strings.IndexByte(path, '['); i >= 0 {
		path = path[:i]
	}
	return path
}

// Types that the file writes as a string (or, for Size, also as an integer) and that are
// parsed on the way in.
var (
	typeDuration = reflect.TypeOf(time.Duration(0))
	typeSize     = reflect.TypeOf(Size(0))
	typeSchedule = reflect.TypeOf(Schedule{})
	typeGridRule = reflect.TypeOf(GridRule{})
	typeTTL      = reflect.TypeOf(TTL{})
	typeRemote   = reflect.TypeOf(Remote{})
)

// scalarTypes are Go structs that are single values in the file, not tables.
var scalarTypes = map[reflect.Type]bool{typeSchedule: true, typeGridRule: true, typeTTL: true, typeRemote: true}

// strictHook parses the string-valued types and refuses every value whose TOML type does not
// match the field's: mapstructure alone would truncate 7.5 into an int, and an integer into a
// time.Duration as nanoseconds.
func strictHook(from, to reflect.Type, data any) (any, error) {
	if data == nil {
		return data, nil
	}
	s, isString := data.(string)
	switch to {
	case typeDuration:
		if !isString {
			return nil, &typeError{want: "a duration in quotes", example: `"26h"`, got: data}
		}
		d, err := ParseDuration(s)
		if err != nil {
			return nil, err
		}
		return d, nil
	case typeSize:
		if n, ok := data.(int64); ok {
			if n < 0 {
				return nil, fmt.Errorf("size %d is negative", n)
			}
			return Size(n), nil
		}
		if !isString {
			return nil, &typeError{want: "a size", example: `"20MiB"`, got: data}
		}
		return ParseSize(s)
	case typeSchedule:
		if !isString {
			return nil, &typeError{want: "a cron spec in quotes", example: `"15 1 * * *"`, got: data}
		}
		// The time zone is not known yet; the validator sets it.
		return ParseSchedule(s, time.UTC)
	case typeGridRule:
		if !isString {
			return nil, &typeError{want: "a grid rule in quotes", example: `"14 daily"`, got: data}
		}
		return ParseGridRule(s)
	case typeTTL:
		if !isString {
			return nil, &typeError{want: "a zfsnap2 TTL in quotes", example: `"1w"`, got: data}
		}
		return ParseTTL(s)
	case typeRemote:
		if !isString {
			return nil, &typeError{want: "user@host[:port] in quotes", example: `"backup@host05"`, got: data}
		}
		return ParseRemote(s)
	}
	if to.Kind() == reflect.Pointer {
		return data, nil // the element type is checked on the next call
	}
	switch to.Kind() {
	case reflect.String:
		if !isString {
			return nil, &typeError{want: "a string", example: `"..."`, got: data}
		}
	case reflect.Bool:
		if _, ok := data.(bool); !ok {
			return nil, &typeError{want: "true or false", example: "true", got: data}
		}
	case reflect.Int, reflect.Int64:
		if _, ok := data.(int64); !ok {
			return nil, &typeError{want: "a whole number", example: "7", got: data}
		}
	case reflect.Float64:
		switch f := data.(type) {
		case int64:
		case float64:
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%v is not a usable number", f)
			}
		default:
			return nil, &typeError{want: "a number", example: "1.5", got: data}
		}
	case reflect.Slice:
		if _, ok := data.([]any); !ok {
			if to.Elem().Kind() == reflect.Struct && !scalarTypes[to.Elem()] {
				return nil, &typeError{want: "an array of tables", example: "", got: data}
			}
			return nil, &typeError{want: "a list", example: `["..."]`, got: data}
		}
	case reflect.Struct:
		if _, ok := data.(map[string]any); !ok {
			return nil, &typeError{want: "a table", example: "", got: data}
		}
	}
	return data, nil
}

// typeError is a value of the wrong TOML type.
type typeError struct {
	want    string // "a whole number"
	example string // "7", or "" for tables
	got     any
}

func (e *typeError) Error() string { return e.message("") }

// message says what is wrong with the value at the key path and, where it can, how to write
// it.
func (e *typeError) message(path string) string {
	msg := fmt.Sprintf("must be %s, not %s", e.want, describeValue(e.got))
	if path == "" {
		return msg
	}
	key := lastKey(path)
	element := strings.HasSuffix(path, "]") // an entry of a list: no "key =" to show
	switch {
	case e.want == "an array of tables":
		return msg + fmt.Sprintf("; write each entry under its own [[%s]] header", key)
	case e.want == "a table" && element:
		return msg + fmt.Sprintf("; write each entry under its own %s header", tableName(path))
	case e.want == "a table":
		return msg + fmt.Sprintf("; write it as a %s table", tableName(path))
	}
	assign := key + " = "
	if element {
		assign = ""
	}
	if s, ok := e.got.(string); ok {
		unquoted := strings.TrimSpace(s)
		if _, err := strconv.ParseInt(unquoted, 10, 64); err == nil && e.want == "a whole number" {
			return msg + fmt.Sprintf("; write %s%s, without quotes", assign, unquoted)
		}
		if (unquoted == "true" || unquoted == "false") && e.want == "true or false" {
			return msg + fmt.Sprintf("; write %s%s, without quotes", assign, unquoted)
		}
	}
	switch g := e.got.(type) {
	case int64, float64, bool:
		if e.want == "a string" {
			return msg + fmt.Sprintf("; put it in quotes: %s%q", assign, fmt.Sprint(g))
		}
	}
	switch e.want {
	case "a whole number", "a number", "a string":
		return msg
	case "a list":
		return msg + fmt.Sprintf("; write it in brackets, like %s%s", assign, e.example)
	}
	return msg + fmt.Sprintf(", like %s%s", assign, e.example)
}

// describeValue names a TOML value for a message: `the string "7"`, `the number 7.5`.
func describeValue(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", v)
	case int64:
		return fmt.Sprintf("the number %d", v)
	case float64:
		return fmt.Sprintf("the number %v", v)
	case bool:
		return fmt.Sprintf("%v", v)
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a date or time (%v)", v)
}

// fieldsOf maps the koanf key names of a struct type to their fields' types.
func fieldsOf(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("koanf")
		if !f.IsExported() || tag == "" || tag == "-" {
			continue
		}
		m[tag] = f.Type
	}
	return m
}

// tableType gives the struct type that a field of type t holds as a table (or array of
// tables), if it does.
func tableType(t reflect.Type) (reflect.Type, bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t, t.Kind() == reflect.Struct && !scalarTypes[t]
}

// walkUnknown reports every key of raw that has no field in the struct type t, recursing
// into tables and arrays of tables. report gets the table's path, the key and the problem.
func walkUnknown(raw map[string]any, t reflect.Type, path string, report func(table, key string, p Problem, intended string)) {
	fields := fieldsOf(t)
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := joinPath(path, k)
		ft, ok := fields[k]
		if !ok {
			msg, intended := unknownKeyMessage(t, path, k)
			report(path, k, Problem{Path: p, Msg: msg}, intended)
			continue
		}
		st, isTable := tableType(ft)
		if !isTable {
			continue
		}
		switch v := raw[k].(type) {
		case map[string]any:
			walkUnknown(v, st, p, report)
		case []any:
			for i, e := range v {
				if m, ok := e.(map[string]any); ok {
					walkUnknown(m, st, fmt.Sprintf("%s[%d]", p, i), report)
				}
			}
		}
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// unknownKeyMessage says a key is unknown and how to fix it: the key it is probably a typo
// for, or the table it belongs in (keys written after a [job.prune] header land in that
// table, a classic TOML trap). intended is the key path the key was probably meant to be.
func unknownKeyMessage(t reflect.Type, path, key string) (msg, intended string) {
	fields := fieldsOf(t)
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	here := "in " + tableName(path)
	if path == "" {
		here = "at the top level"
	}
	if best, d := closest(key, names); d <= max(1, len(key)/4) {
		return fmt.Sprintf("unknown key %q %s; did you mean %q?", key, here, best), joinPath(path, best)
	}
	if where := homeOf(key); where != "" && where != tableName(path) {
		switch {
		case where == tableName(""):
			return fmt.Sprintf("unknown key %q %s; it is a top-level key: move it above the first table header", key, here), key
		case where == tableName(parentPath(path)):
			return fmt.Sprintf("unknown key %q %s; it belongs in %s: move it above the %s header", key, here, where, tableName(path)), joinPath(parentPath(path), key)
		}
		return fmt.Sprintf("unknown key %q %s; it belongs in %s", key, here, where), ""
	}
	return fmt.Sprintf("unknown key %q %s; remove it (keys here: %s)", key, here, strings.Join(names, ", ")), ""
}

// parentPath gives the path of the table that holds the table at path: "job[0]" for
// "job[0].prune", "" for "job[0]" and "ssh".
func parentPath(path string) string {
	if strings.HasSuffix(path, "]") {
		path = path[:strings.LastIndexByte(path, '[')]
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// tableName names the table at a key path for a message: "the top level", "[ssh]",
// "[[job]]", "[job.prune]".
func tableName(path string) string {
	if path == "" {
		return "the top level"
	}
	if strings.HasSuffix(path, "]") && !strings.Contains(path, ".") {
		return "[[" + path[:strings.IndexByte(path, '[')] + "]]"
	}
	var b strings.Builder
	for i := 0; i < len(path); i++ {
		if path[i] == '[' {
			for i < len(path) && path[i] != ']' {
				i++
			}
			continue
		}
		b.WriteByte(path[i])
	}
	return "[" + b.String() + "]"
}

// homeOf gives the table where key is valid, when it is valid in exactly one table.
func homeOf(key string) string {
	var homes []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for name, ft := range fieldsOf(t) {
			if name == key {
				homes = append(homes, tableName(path))
			}
			if st, ok := tableType(ft); ok {
				p := joinPath(path, name)
				if ft.Kind() == reflect.Slice {
					p += "[0]"
				}
				walk(st, p)
			}
		}
	}
	walk(reflect.TypeOf(Config{}), "")
	if len(homes) == 1 {
		return homes[0]
	}
	return ""
}

// closest gives the candidate with the smallest edit distance to s, ignoring case.
func closest(s string, candidates []string) (string, int) {
	best, bestD := "", math.MaxInt
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best, bestD
}

// editDistance is the Levenshtein distance, with a transposition counted as one edit.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return math.MaxInt / 2
	}
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// lookup reports whether the key path exists in the parsed TOML.
func lookup(raw map[string]any, path string) bool {
	var cur any = raw
	for _, part := range strings.Split(path, ".") {
		name, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			n, err := strconv.Atoi(part[i+1 : len(part)-1])
			if err != nil {
				return false
			}
			name, idx = part[:i], n
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[name]; !ok {
			return false
		}
		if idx >= 0 {
			l, ok := cur.([]any)
			if !ok || idx >= len(l) {
				return false
			}
			cur = l[idx]
		}
	}
	return true
}
