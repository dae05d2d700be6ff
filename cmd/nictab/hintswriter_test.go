package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"regexp"
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

// TestIPNetnsAsRegexp: the hand-written rewrite of ip commands finds what
// the regexp it replaced finds, on random texts made of the pieces that
// matter (the words, the characters allowed before, near misses).
func TestIPNetnsAsRegexp(t *testing.T) {
	re := regexp.MustCompile(`(^|[\s:(` + "`" + `])ip (?:-6 )?(?:route|rule) `)
	old := func(s, ns string) string {
		return re.ReplaceAllStringFunc(s, func(m string) string {
			i := strings.Index(m, "ip ")
			return m[:i] + "ip -n " + ns + " " + m[i+3:]
		})
	}
	pieces := []string{"ip ", "ip", "-6 ", "route ", "rule ", "route", "rules ", " ", "\t", "\n", "\v", ":", "(", "`", "x", "sip ", "ip -6 ", "ip route ", "ip rule ", "ip -6 route ", "é"}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 200000 {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		s := b.String()
		want := old(s, "ns1")
		if got := string(appendIPNetns([]byte("pre"), []byte(s), "ns1")); got != "pre"+want {
			t.Fatalf("case %d %q:\n got %q\nwant %q", i, s, got[3:], want)
		}
	}
}

// BenchmarkHintsWriterPlan100k: a 100k-route plan's printout (a diff line
// and an ip command each, which names the namespace already) through the
// hints of --netns.
func BenchmarkHintsWriterPlan100k(b *testing.B) {
	var text bytes.Buffer
	for i := range 100000 {
		fmt.Fprintf(&text, "  + 11.%d.%d.0/26 via 10.0.0.2 dev sc0 proto nictab\n    ip -n bench1 route add 11.%d.%d.0/26 via 10.0.0.2 dev sc0 table 100 proto 201 scope global\n", i>>8, i&255, i>>8, i&255)
	}
	a := &app{netns: "bench1", stateDir: "/tmp/state"}
	b.SetBytes(int64(text.Len()))
	for b.Loop() {
		if err := a.writePlanText(io.Discard, func(w io.Writer) error {
			_, err := w.Write(text.Bytes())
			return err
		}); err != nil {
			b.Fatal(err)
		}
	}
}
