package export

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// scriptLine makes a shell command built with netcfg.ShellQuote hold no
// control character as a raw byte, so that reading the script (cat, less,
// a diff in a terminal) cannot drive the terminal, while the command still
// passes the same bytes. ShellQuote puts every word holding such a
// character in single quotes; each character becomes, inside them,
// '"$(printf '\ooo')"' — close the quote, let printf make the byte, open
// it again — which any POSIX shell runs (dash has no $'…').
func scriptLine(cmd string) string {
	if !needsScriptEscape(cmd) {
		return cmd
	}
	var b strings.Builder
	for i := 0; i < len(cmd); {
		r, n := utf8.DecodeRuneInString(cmd[i:])
		if controlRune(r, n) {
			b.WriteString(`'"$(printf '`)
			for _, c := range []byte(cmd[i : i+n]) {
				fmt.Fprintf(&b, `\%03o`, c)
			}
			b.WriteString(`')"'`)
		} else {
			b.WriteString(cmd[i : i+n])
		}
		i += n
	}
	return b.String()
}

// controlRune is a character a terminal acts on. A newline and a tab stay
// as they are: they move nothing a reader cannot see, and printf's
// newline would be lost to the command substitution.
func controlRune(r rune, n int) bool {
	if r == '\n' || r == '\t' {
		return false
	}
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r == utf8.RuneError && n <= 1)
}

func needsScriptEscape(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if controlRune(r, n) {
			return true
		}
		i += n
	}
	return false
}
