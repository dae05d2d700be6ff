package export

import (
	"errors"
	"strings"
)

// errNixNUL is returned for text holding a NUL byte: Nix strings are C
// strings and cannot carry one, and no escape sequence stands for it.
var errNixNUL = errors.New("holds a NUL byte, which a Nix string cannot carry")

// NixString returns s as a double-quoted Nix string literal that evaluates
// to exactly s, whatever s holds.
//
// NOTE: every `$` is escaped, not only those before `{`. Nix's lexer treats
// `$${` and a `$` at the end of a string in ways that are easy to get
// wrong; with no bare `$` left, no interpolation can start, and with no
// bare `"` or `\` left, the literal cannot end early. Nix has no escape for
// other control characters (only \n, \r and \t), but takes them raw inside
// a string, so they are written raw and evaluate to themselves.
func NixString(s string) (string, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return "", errNixNUL
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', '$':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// nixKeywords cannot stand as a bare attribute name.
var nixKeywords = map[string]bool{
	"assert": true, "else": true, "if": true, "in": true, "inherit": true,
	"let": true, "or": true, "rec": true, "then": true, "with": true,
}

// NixIdent reports whether s can be written as a bare attribute name.
func NixIdent(s string) bool {
	if s == "" || nixKeywords[s] {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '\'' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// NixAttr returns s as one attribute name: bare when it is plainly an
// identifier, quoted otherwise. "eth0.100" must be quoted: bare, the dot
// would make it a nested attribute.
func NixAttr(s string) (string, error) {
	if NixIdent(s) {
		return s, nil
	}
	return NixString(s)
}

// nixComment makes host text safe inside a `#` comment: a newline would end
// the comment and let the rest run as Nix, so control characters are shown
// as Go escapes; a backslash means nothing there and stays as it is.
func nixComment(s string) string {
	return readable(s)
}
