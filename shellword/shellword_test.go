package shellword

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestJoin(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"zfs"}, "zfs"},
		{[]string{"zfs", "list", "-H", "-p", "-o", "name,guid", "-t", "snapshot", "pool/a"}, "zfs list -H -p -o name,guid -t snapshot pool/a"},
		{[]string{"zfs", "send", "-i", "pool/a@x", "pool/a#y"}, "zfs send -i pool/a@x 'pool/a#y'"},
		{[]string{"zfs", "hold", "vault:job.1", "p/my ds@2022-04-08_16.49.48--1w"}, "zfs hold vault:job.1 'p/my ds@2022-04-08_16.49.48--1w'"},
		{[]string{"a", ""}, "a ''"},
		{[]string{"a", "it's"}, `a 'it'\''s'`},
		{[]string{"a", "'"}, `a ''\'''`},
		{[]string{"a", "''"}, `a ''\'''\'''`},
		{[]string{"a", "-"}, "a -"},
		{[]string{"a", "--"}, "a --"},
		{[]string{"a", "-x=1"}, "a -x=1"},
		{[]string{"a", "k=v"}, "a k=v"},
		{[]string{"a", "k=v=w"}, "a k=v=w"},
		{[]string{"a", "=ls"}, "a '=ls'"},
		{[]string{"a", "k==ls"}, "a 'k==ls'"},
		{[]string{"a", "k=a:=ls"}, "a 'k=a:=ls'"},
		{[]string{"a", "%1"}, "a '%1'"},
		{[]string{"a", "50%"}, "a 50%"},
		{[]string{"A=b", "c"}, "'A=b' c"},
		{[]string{"%1"}, "'%1'"},
		{[]string{"a", "~"}, "a '~'"},
		{[]string{"a", "~root"}, "a '~root'"},
		{[]string{"a", "#x"}, "a '#x'"},
		{[]string{"a", "x#"}, "a 'x#'"},
		{[]string{"a", "$HOME"}, "a '$HOME'"},
		{[]string{"a", "`id`"}, "a '`id`'"},
		{[]string{"a", "$(id)"}, "a '$(id)'"},
		{[]string{"a", `\`}, `a '\'`},
		{[]string{"a", `"`}, `a '"'`},
		{[]string{"a", "*"}, "a '*'"},
		{[]string{"a", "[a]"}, "a '[a]'"},
		{[]string{"a", "{a,b}"}, "a '{a,b}'"},
		{[]string{"a", "^x"}, "a '^x'"},
		{[]string{"a", "a b"}, "a 'a b'"},
		{[]string{"a", ";", "&", "|", "<", ">", "(", ")"}, "a ';' '&' '|' '<' '>' '(' ')'"},
		{[]string{"a", "é"}, "a 'é'"},
		{[]string{"a", "\xff"}, "a '\xff'"},
	}
	for _, tt := range tests {
		got, err := Join(tt.argv)
		if err != nil {
			t.Errorf("Join(%q): %v", tt.argv, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Join(%q) = %s, want %s", tt.argv, got, tt.want)
		}
	}
}

func TestJoinRefuses(t *testing.T) {
	tests := []struct {
		argv []string
		want string // in the error
	}{
		{nil, "empty command"},
		{[]string{}, "empty command"},
		{[]string{"a", "x\x00y"}, `control character '\x00' at byte 1`},
		{[]string{"a", "x\ny"}, `control character '\n'`},
		{[]string{"a", "\r"}, `control character '\r'`},
		{[]string{"a", "\t"}, `control character '\t'`},
		{[]string{"a", "\x1b[1m"}, `control character '\x1b'`},
		{[]string{"a", "\x7f"}, `control character '\x7f'`},
		{[]string{"a", "b!"}, `'!'`},
		{[]string{"a", strings.Repeat("x", MaxLen)}, "longer than"},
	}
	for _, tt := range tests {
		got, err := Join(tt.argv)
		if err == nil {
			t.Errorf("Join(%q) = %s, want an error", tt.argv, got)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Join(%q): error %q, want it to contain %q", tt.argv, err, tt.want)
		}
	}
	// Exactly MaxLen bytes is fine.
	long := []string{"a", strings.Repeat("x", MaxLen-2)}
	if _, err := Join(long); err != nil {
		t.Errorf("Join of %d bytes: %v", MaxLen, err)
	}
}

func TestSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"zfs", []string{"zfs"}},
		{"zfs list -H -p -o name,guid pool/a", []string{"zfs", "list", "-H", "-p", "-o", "name,guid", "pool/a"}},
		{"a ''", []string{"a", ""}},
		{`a 'it'\''s'`, []string{"a", "it's"}},
		{`a ''\'''`, []string{"a", "'"}},
		{`a ''\'''\'''`, []string{"a", "''"}},
		{"a 'p/my ds@x'", []string{"a", "p/my ds@x"}},
		// Not what Join makes, but in the grammar: runs concatenated.
		{"a p/'my ds'@x", []string{"a", "p/my ds@x"}},
		{"'zfs' 'list'", []string{"zfs", "list"}},
		{"a ''''", []string{"a", ""}},
		{"a k=v -x=1 50% a:b", []string{"a", "k=v", "-x=1", "50%", "a:b"}},
		{"a '=ls' '%1' 'A=b'", []string{"a", "=ls", "%1", "A=b"}},
		{"'A=b'", []string{"A=b"}},
		{"a '$`\"\\;|&<>()*?~# é'", []string{"a", "$`\"\\;|&<>()*?~# é"}},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if err != nil {
			t.Errorf("Split(%s): %v", tt.in, err)
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Split(%s) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitRefuses(t *testing.T) {
	tests := []struct {
		in     string
		offset int
		reason string // in the error
	}{
		{"", 0, "empty command line"},
		{" ", 0, "leading space"},
		{" a", 0, "leading space"},
		{"a ", 2, "trailing space"},
		{"a  b", 2, "more than one space"},
		{"a\tb", 1, `control character '\t'`},
		{"a\nb", 1, `control character '\n'`},
		{"a\rb", 1, `control character '\r'`},
		{"a\x00b", 1, `control character '\x00'`},
		{"a '\x00'", 3, `control character '\x00' in quotes`},
		{"a 'x\ny'", 4, `control character '\n' in quotes`},
		{"a 'x\x7f'", 4, `control character '\x7f' in quotes`},
		{"a '!'", 3, "'!'"},
		{"a !", 2, `unquoted '!'`},
		{`a "b"`, 2, "double quote"},
		{`a \b`, 2, "backslash"},
		{`a b\`, 3, "backslash"},
		{`a 'b'\'c`, 5, "backslash"},
		{`a \'`, 2, "backslash"},
		{`a 'b'\`, 5, "backslash"},
		{"a 'b", 2, "unterminated single quote"},
		{"a '", 2, "unterminated single quote"},
		{`a 'b'\''`, 2, "unterminated single quote"},
		{"a $HOME", 2, `unquoted '$'`},
		{"a `id`", 2, "unquoted '`'"},
		{"a;b", 1, `unquoted ';'`},
		{"a |b", 2, `unquoted '|'`},
		{"a&", 1, `unquoted '&'`},
		{"a >x", 2, `unquoted '>'`},
		{"a <x", 2, `unquoted '<'`},
		{"a *", 2, `unquoted '*'`},
		{"a ?", 2, `unquoted '?'`},
		{"a (b)", 2, `unquoted '('`},
		{"a b)", 3, `unquoted ')'`},
		{"a ~", 2, `unquoted '~'`},
		{"a #", 2, `unquoted '#'`},
		{"a {a,b}", 2, `unquoted '{'`},
		{"a [a]", 2, `unquoted '['`},
		{"a ^x", 2, `unquoted '^'`},
		{"a é", 2, "non-ASCII byte 0xc3"},
		{"a =ls", 2, "bare '=' at the start of a word"},
		{"a ''=ls", 4, "bare '=' at the start of a word"},
		{"a k==ls", 4, "bare '=' after '='"},
		{"a k'='=ls", 6, "bare '=' after '='"},
		{"a k=a:=ls", 6, "bare '=' after ':'"},
		{"A=b c", 1, "bare '=' in the first word"},
		{"a %1", 2, "bare '%' at the start of a word"},
		{"a " + strings.Repeat("x", MaxLen), MaxLen, "longer than"},
	}
	for _, tt := range tests {
		got, err := Split(tt.in)
		if err == nil {
			t.Errorf("Split(%q) = %q, want an error", tt.in, got)
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Split(%q): error %v is a %T, want a *SyntaxError", tt.in, err, err)
			continue
		}
		if se.Offset != tt.offset || !strings.Contains(se.Reason, tt.reason) {
			t.Errorf("Split(%q): error %q, want %q at byte %d", tt.in, err, tt.reason, tt.offset)
		}
	}
}

// TestJoinSplitTable checks that every argv of TestJoin survives the round
// trip.
func TestJoinSplitTable(t *testing.T) {
	for _, argv := range trickyArgvs() {
		s, err := Join(argv)
		if err != nil {
			t.Fatalf("Join(%q): %v", argv, err)
		}
		got, err := Split(s)
		if err != nil {
			t.Errorf("Split(Join(%q)) = Split(%s): %v", argv, s, err)
			continue
		}
		if !slices.Equal(got, argv) {
			t.Errorf("Split(Join(%q)) = %q", argv, got)
		}
	}
}

// trickyArgvs are words that are easy to quote wrong, as argvs whose first
// word is a plain command name.
func trickyArgvs() [][]string {
	words := []string{
		"", " ", "  ", "a b", "'", "''", "'''", "a'b", "'a", "a'", `'\''`, `\`, `\\`, `\'`, `a\`,
		`"`, `""`, `"a b"`, "$", "$HOME", "${HOME}", "$(id)", "`id`", "$'x'", `$"x"`,
		";", "a;b", "&", "&&", "|", "||", "<", ">", ">>", "<<EOF", "2>&1", "(", ")", "()", "{", "}",
		"{a,b}", "a{b,c}d", "{1..3}", "[", "]", "[a]", "*", "?", "a*", "*.go", "**",
		"~", "~root", "a~", "a:~", "x=~", "~+", "#", "#x", "a#b", "^", "^x", "a^b",
		"=", "=ls", "==", "a=b", "a==ls", "a=:=ls", "a:=ls", "-o", "-", "--", "-n", "-e", "-E", "--help",
		"%", "%1", "%%", "%+", "a%b", "@", "@(a)", "+(a)", "?(a)", "!", "x@y", ":", ":x", ",", "+", ".", "..", "/",
		"pool/my ds@2022-04-08_16.49.48--1w", "pool/a#b", "vault:job", "name,guid,createtxg",
		"é", "日本", "\x80", "\xff\xfe", "a\u00a0b", "\u2028",
	}
	var argvs [][]string
	for _, w := range words {
		if strings.Contains(w, "!") {
			continue
		}
		argvs = append(argvs, []string{"cmd", w})
	}
	// All together, and the first word tricky too.
	all := []string{"cmd"}
	for _, w := range words {
		if !strings.Contains(w, "!") {
			all = append(all, w)
		}
	}
	argvs = append(argvs, all, []string{"A=b"}, []string{"%1", "x"}, []string{"=ls"}, []string{""})
	return argvs
}

func FuzzJoinSplit(f *testing.F) {
	for _, argv := range trickyArgvs() {
		f.Add(strings.Join(argv, "\x00"))
	}
	f.Add("zfs\x00send\x00-L\x00-c\x00pool/a b@x")
	f.Fuzz(func(t *testing.T, packed string) {
		// NUL separates words: Join refuses NUL, so no word needs it.
		argv := strings.Split(packed, "\x00")
		s, err := Join(argv)
		if err != nil {
			return
		}
		if len(s) > MaxLen {
			t.Fatalf("Join(%q) made %d bytes, more than MaxLen", argv, len(s))
		}
		got, err := Split(s)
		if err != nil {
			t.Fatalf("Split(Join(%q)) = Split(%q): %v", argv, s, err)
		}
		if !slices.Equal(got, argv) {
			t.Fatalf("Split(Join(%q)) = %q", argv, got)
		}
	})
}

func FuzzSplit(f *testing.F) {
	for _, argv := range trickyArgvs() {
		if s, err := Join(argv); err == nil {
			f.Add(s)
		}
	}
	for _, s := range []string{"", " ", "a  b", `a 'b'\''c'`, `a p/'x y'@z`, "a '", `a "b"`, "A=b", "a =b", "a '!'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv, err := Split(s)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Split(%q): error %v is a %T, want a *SyntaxError", s, err, err)
			}
			if se.Offset < 0 || se.Offset > len(s) {
				t.Fatalf("Split(%q): offset %d outside the input", s, se.Offset)
			}
			return
		}
		if len(argv) == 0 {
			t.Fatalf("Split(%q) accepted no words", s)
		}
		j, err := Join(argv)
		if err != nil {
			t.Fatalf("Split(%q) = %q, which Join refuses: %v", s, argv, err)
		}
		if len(j) > len(s) {
			// Join's form is never longer than any other spelling.
			t.Fatalf("Join(Split(%q)) = %q is longer", s, j)
		}
		again, err := Split(j)
		if err != nil {
			t.Fatalf("Split(Join(Split(%q))) = Split(%q): %v", s, j, err)
		}
		if !slices.Equal(again, argv) {
			t.Fatalf("Split(Join(Split(%q))) = %q, want %q", s, again, argv)
		}
	})
}
