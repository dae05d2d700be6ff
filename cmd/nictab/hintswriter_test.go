package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestHintsWriterSameAsWhole: hints applied line by line as the text
// streams through, cut anywhere, give what hints on the whole text gives.
func TestHintsWriterSameAsWhole(t *testing.T) {
	text := "Plan: 1 to add\n\ntable 13\n  + route 10.0.0.0/8 dev eth0\n\nNotes\n  ! left as it is (`nictab snapshot save --adopt` takes it over)\n" +
		"ip route add 10.0.0.0/8 dev eth0 table 13\n  ip -6 route del ::/0 table 13\n(ip rule add pref 10 lookup 13)\n  ip -n 'lab 1' route add 10.1.0.0/16 dev x\nno newline at the end: `nictab confirm`"
	for _, a := range []*app{{netns: "lab 1"}, {stateDir: "/tmp/s"}, {netns: "x", stateDir: "/s t"}, {}} {
		want := a.hints(text)
		for _, cut := range []int{1, 3, 7, 64, len(text)} {
			var out bytes.Buffer
			err := a.writePlanText(&out, func(w io.Writer) error {
				for s := text; s != ""; {
					n := min(cut, len(s))
					if _, err := io.WriteString(w, s[:n]); err != nil {
						return err
					}
					s = s[n:]
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != want {
				t.Errorf("netns %q, state %q, pieces of %d: got\n%s\nwant\n%s", a.netns, a.stateDir, cut, out.String(), want)
			}
		}
		if a.netns != "" && !strings.Contains(want, "ip -n") {
			t.Errorf("netns %q: the hints did not act on the commands:\n%s", a.netns, want)
		}
	}
}
