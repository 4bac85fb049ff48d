// Package shellword is the one place where vault turns an argv list into a
// command line for a remote shell, and back.
//
// vault never runs a shell on its own host, but SSH carries a command as one
// string: the remote sshd hands it to the user's login shell with -c, or, for
// a forced command, puts it in SSH_ORIGINAL_COMMAND for `vault serve` to read.
// [Join] makes that string and [Split] is its strict inverse, for the gate.
//
// Join quotes for every shell a source host may give the backup user: POSIX
// sh, dash, bash, ksh, zsh, and csh/tcsh (FreeBSD's default for root). It
// emits a word bare only when it is made of
//
//	A-Z a-z 0-9 _ . / : @ % + = , -
//
// and no shell could read it as anything but itself. Every other word goes
// in single quotes, with each embedded quote written as the four bytes
//
//	'\''
//
// (close the quote, an escaped quote, open the quote again).
//
// Join refuses two kinds of byte that no quoting carries to every shell:
//
//   - control characters (NUL, tab, newline, ... and DEL): csh cannot quote
//     a newline in '...', and zfs names, hold tags and property names never
//     contain any;
//   - '!': csh and tcsh expand history even inside single quotes, and not
//     only interactively (tcsh -c "printf %s 'a!b'" fails with "b: Event not
//     found"), while the csh escape \! means a backslash and a '!' to sh.
//     vault's names and tags never contain one.
package shellword

import (
	"errors"
	"fmt"
	"strings"
)

// MaxLen is the longest command line Join makes and Split reads, in bytes.
// vault's own command lines are far shorter; the bound keeps a hostile one
// from costing memory or time.
const MaxLen = 32 << 10

// isSafe reports whether b may appear in a bare (unquoted) run. It excludes
// everything any shell treats specially anywhere in a word: blanks,
// quotes, \ $ ` ; & | < > ( ) { } [ ] * ? ! ~ # ^ and control characters.
func isSafe(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' ||
		strings.IndexByte("_./:@%+=,-", b) >= 0
}

// bareProblem returns why the byte word[i], read bare in word number index
// of a command line, could mean something other than itself to some shell,
// or "". Among the bytes isSafe allows, only '=' and '%' can be special:
//
//   - a word that starts with '=' is a path lookup in zsh (=ls, EQUALS) and
//     a directory stack entry in tcsh (=1);
//   - zsh also expands "=cmd" after '=' or ':' in the value of an argument of
//     the form name=value (MAGIC_EQUAL_SUBST);
//   - the first word, if it contains '=', may be a variable assignment
//     (NAME=value) in sh, and not a command at all;
//   - a first word that starts with '%' is a job to resume in interactive
//     bash, zsh and csh; it is quoted in every word, to keep the rule simple.
//
// The rules look at the decoded word, whatever of it was quoted, which errs
// on the side of quoting.
func bareProblem(word string, i, index int) string {
	switch word[i] {
	case '%':
		if i == 0 {
			return "'%' at the start of a word (a job to resume in some shells)"
		}
	case '=':
		switch {
		case i == 0:
			return "'=' at the start of a word (a path lookup in zsh, the directory stack in tcsh)"
		case index == 0:
			return "'=' in the first word (a variable assignment in sh)"
		case word[i-1] == '=' || word[i-1] == ':':
			return fmt.Sprintf("'=' after %q (a path lookup in zsh)", word[i-1])
		}
	}
	return ""
}

// canBeBare reports whether Join may emit word unquoted as word number index.
func canBeBare(word string, index int) bool {
	if word == "" {
		return false
	}
	for i := 0; i < len(word); i++ {
		if !isSafe(word[i]) || bareProblem(word, i, index) != "" {
			return false
		}
	}
	return true
}

// isControl reports whether b is an ASCII control character.
func isControl(b byte) bool { return b < 0x20 || b == 0x7f }

// unquotable returns why b cannot be carried to every shell, even in single
// quotes, or "".
func unquotable(b byte) string {
	switch {
	case isControl(b):
		return fmt.Sprintf("control character %q", b)
	case b == '!':
		return "'!' (history expansion in csh, even in quotes)"
	}
	return ""
}

// Join returns argv as one command line for a remote shell: each word bare
// if that is safe, else in single quotes, words separated by one space. It
// refuses an empty argv, a control character (NUL, newline, tab, ... and DEL)
// or '!' in any word, and a result longer than [MaxLen]. An empty word is a pair
// of single quotes.
func Join(argv []string) (string, error) {
	if len(argv) == 0 {
		return "", errors.New("cannot quote an empty command")
	}
	var sb strings.Builder
	for i, w := range argv {
		for j := 0; j < len(w); j++ {
			if p := unquotable(w[j]); p != "" {
				return "", fmt.Errorf("cannot quote word %d %s: %s at byte %d", i, quoteTrunc(w), p, j)
			}
		}
		if i > 0 {
			sb.WriteByte(' ')
		}
		if canBeBare(w, i) {
			sb.WriteString(w)
		} else {
			sb.WriteByte('\'')
			sb.WriteString(strings.ReplaceAll(w, "'", `'\''`))
			sb.WriteByte('\'')
		}
		if sb.Len() > MaxLen {
			return "", fmt.Errorf("cannot quote a command longer than %d bytes", MaxLen)
		}
	}
	return sb.String(), nil
}

// SyntaxError reports a command line that Split does not accept: what was
// found, and where.
type SyntaxError struct {
	Offset int    // byte offset in the input of the offending byte
	Reason string // what was found there, such as `unexpected "$"`
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s at byte %d", e.Reason, e.Offset)
}

// escapedQuote is how Join writes a ' inside a quoted word: close the quote,
// a backslash-escaped quote, open the quote again.
const escapedQuote = `'\''`

// Split returns the words of a command line in exactly the grammar Join
// produces, and refuses anything else with a [*SyntaxError]:
//
//	line   = word *( " " word )
//	word   = 1*( bare / quoted )
//	bare   = 1*( A-Z a-z 0-9 _ . / : @ % + = , - )
//	quoted = "'" *( any byte but ', ! and control characters / "'\''" ) "'"
//
// where, as in Join, a bare '=' may not start a word, follow '=' or ':', or
// be in the first word, and a bare '%' may not start a word. So: no double
// quotes; no backslash but in the quoted-quote sequence; no $ ` ; | & < > ( )
// * ? ~ # or other special character outside single quotes; no '!', tab,
// newline or other control character anywhere; no leading, trailing or
// repeated spaces; no unterminated quote; at most [MaxLen] bytes. An empty
// line is an error.
func Split(s string) ([]string, error) {
	if len(s) > MaxLen {
		return nil, &SyntaxError{Offset: MaxLen, Reason: fmt.Sprintf("command line of %d bytes, longer than %d", len(s), MaxLen)}
	}
	if s == "" {
		return nil, &SyntaxError{Offset: 0, Reason: "empty command line"}
	}
	var words []string
	var w []byte // the word being read, decoded
	i := 0
	for {
		// At the start of a word.
		if i == len(s) {
			return nil, &SyntaxError{Offset: i, Reason: "trailing space"}
		}
		if s[i] == ' ' {
			if i == 0 {
				return nil, &SyntaxError{Offset: i, Reason: "leading space"}
			}
			return nil, &SyntaxError{Offset: i, Reason: "more than one space between words"}
		}
		w = w[:0]
		for i < len(s) && s[i] != ' ' {
			b := s[i]
			switch {
			case b == '\'':
				start := i
				i++
				for {
					if i == len(s) {
						return nil, &SyntaxError{Offset: start, Reason: "unterminated single quote"}
					}
					c := s[i]
					if c == '\'' {
						if strings.HasPrefix(s[i:], escapedQuote) {
							w = append(w, '\'')
							i += len(escapedQuote)
							continue
						}
						i++
						break
					}
					if p := unquotable(c); p != "" {
						return nil, &SyntaxError{Offset: i, Reason: p + " in quotes"}
					}
					w = append(w, c)
					i++
				}
			case isSafe(b):
				w = append(w, b)
				if b == '=' || b == '%' {
					if p := bareProblem(string(w), len(w)-1, len(words)); p != "" {
						return nil, &SyntaxError{Offset: i, Reason: "bare " + p}
					}
				}
				i++
			default:
				return nil, &SyntaxError{Offset: i, Reason: unexpected(s, i)}
			}
		}
		words = append(words, string(w))
		if i == len(s) {
			return words, nil
		}
		i++ // the one space between words
	}
}

// unexpected describes the byte at s[i], which may not appear outside quotes.
func unexpected(s string, i int) string {
	b := s[i]
	switch {
	case b == '\\':
		return `backslash outside the sequence '\''`
	case b == '"':
		return "double quote"
	case isControl(b):
		return fmt.Sprintf("control character %q", b)
	case b >= 0x80:
		return fmt.Sprintf("unquoted non-ASCII byte %#x", b)
	default:
		return fmt.Sprintf("unquoted %q", b)
	}
}

// quoteTrunc quotes s for a message, cut short if long.
func quoteTrunc(s string) string {
	const max = 60
	if len(s) <= max {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q... (%d bytes)", s[:max], len(s))
}
