package main

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"github.com/spf13/cobra"
)

// checkGlobals validates --netns and --state-dir before anything uses
// them: the store is opened before the kernel, so a name like
// ../../tmp/x would otherwise make directories and a lock outside the
// state directory before the namespace was ever looked up.
func (a *app) checkGlobals(cmd *cobra.Command) error {
	flags := cmd.Flags()
	if f := flags.Lookup("netns"); f != nil && f.Changed {
		if err := validNetnsName(a.netns); err != nil {
			return err
		}
	}
	if f := flags.Lookup("state-dir"); f != nil && f.Changed {
		if a.stateDir == "" {
			return usagef("--state-dir is empty: give a directory, or leave the flag out for the default")
		}
		if i := strings.IndexFunc(a.stateDir, unicode.IsControl); i >= 0 {
			return usagef("--state-dir %q holds a control character (%q): nictab writes this path into systemd units and hints, where it would break them", a.stateDir, a.stateDir[i:i+1])
		}
	}
	return nil
}

// validNetnsName accepts the names `ip netns add` could have made (not
// empty, no "/", not "." or "..", at most 255 bytes) that print safely:
// nictab puts the name into commands it shows and scripts it writes, so
// it refuses control characters too.
func validNetnsName(name string) error {
	switch {
	case name == "":
		return usagef(`--netns "" names no namespace: leave the flag out to work on this host's own network`)
	case name == "." || name == "..":
		return usagef("--netns %q is not a namespace name (see `ip netns list`)", name)
	case strings.ContainsRune(name, '/'):
		return usagef("--netns %q is not a namespace name: a name has no \"/\" (see `ip netns list`)", name)
	case len(name) > 255:
		return usagef("--netns: a namespace name has at most 255 bytes, this one %d", len(name))
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return usagef("--netns %q holds a control character: nictab does not work with such a name", name)
	}
	return nil
}

// netnsArgs are the global flags that make a printed nictab command act on
// the namespace and state directory this one did.
func (a *app) netnsArgs() string {
	var b strings.Builder
	if a.netns != "" {
		fmt.Fprintf(&b, " --netns %s", shellWord(a.netns))
	}
	if a.stateDir != "" {
		fmt.Fprintf(&b, " --state-dir %s", shellWord(a.stateDir))
	}
	return b.String()
}

// shellWord quotes s for a POSIX shell when it needs it.
func shellWord(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '/' || r == ':' || r == '@' || r == '+' || r == ',' || r == '=' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9'))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// hints makes the nictab commands a message suggests (`nictab recover`,
// `nictab confirm`, …) act where this one did: with the --netns and
// --state-dir it was given. Pasted as printed, they would otherwise act on
// the host.
func (a *app) hints(msg string) string {
	extra := a.netnsArgs()
	if extra == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, "`nictab ", "`nictab"+extra+" ")
	if a.netns != "" {
		// The ip command a failed step names ("apply failed at step 3:
		// ip route add …") is the namespace's too.
		msg = string(appendIPNetns(nil, []byte(msg), shellWord(a.netns)))
	}
	return msg
}

// appendIPNetns appends s to dst with "-n NS " put after the "ip " of
// every `ip route`, `ip rule`, `ip -6 route` and `ip -6 rule` that starts
// s or follows a space, a colon, a bracket or a backquote — the matches
// of `(^|[\s:(` + "`" + `])ip (?:-6 )?(?:route|rule) `, leftmost first and
// never overlapping, as a regexp would find them (TestIPNetnsAsRegexp),
// by hand because the regexp cost 35 ms on a 100k-route plan's printout.
// An "ip " whose character before was the end of the previous match is
// not one, as with the regexp.
func appendIPNetns(dst, s []byte, ns string) []byte {
	last, end := 0, 0 // copied up to last; the previous match ended at end
	for j := 0; j+3 <= len(s); {
		k := bytes.Index(s[j:], []byte("ip "))
		if k < 0 {
			break
		}
		j += k
		l := ipCommandLen(s[j:])
		if l == 0 || (j > 0 && (j-1 < end || !hintBefore(s[j-1]))) {
			j++
			continue
		}
		dst = append(dst, s[last:j+3]...)
		dst = append(dst, "-n "...)
		dst = append(dst, ns...)
		dst = append(dst, ' ')
		last = j + 3
		j += l
		end = j
	}
	return append(dst, s[last:]...)
}

// ipCommandLen is the length of "ip (-6 )?(route|rule) " at the start of
// s, or 0.
func ipCommandLen(s []byte) int {
	n := len("ip ")
	if bytes.HasPrefix(s[n:], []byte("-6 ")) {
		n += len("-6 ")
	}
	for _, w := range []string{"route ", "rule "} {
		if bytes.HasPrefix(s[n:], []byte(w)) {
			return n + len(w)
		}
	}
	return 0
}

// hintBefore is whether c may come right before an ip command: RE2's \s
// (tab, line feed, form feed, carriage return, space), a colon, an
// opening bracket or a backquote.
func hintBefore(c byte) bool {
	switch c {
	case '\t', '\n', '\f', '\r', ' ', ':', '(', '`':
		return true
	}
	return false
}

// nictabCmd is a nictab command line to suggest, e.g. "nictab --netns x confirm".
func (a *app) nictabCmd(sub string) string { return "nictab" + a.netnsArgs() + " " + sub }
