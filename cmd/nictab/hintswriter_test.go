package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/benchplan"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/ui"
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

// TestHintsNeedles: a line that holds none of the needles LineRewrite
// gives is left as it is by the hints, on random lines made of the pieces
// the hints look for and near misses, in a namespace and out of one; and
// the needles are in lines the hints change.
func TestHintsNeedles(t *testing.T) {
	pieces := []string{"ip ", "ip", "-6 ", "route ", "rule ", "route", " ", "\t", "\n", ":", "(", "`", "`nictab ", "`nictab", "nictab ", "x", "ip route ", "ip -6 rule ", "ip -n x route ", "é"}
	rng := rand.New(rand.NewPCG(3, 18))
	for _, a := range []*app{{netns: "lab 1"}, {stateDir: "/tmp/s"}, {netns: "x ip route y", stateDir: "/s"}} {
		h := &hintsWriter{a: a, w: bufio.NewWriter(io.Discard)}
		rw := h.LineRewrite()
		changed := 0
		for range 100000 {
			var b strings.Builder
			for range rng.IntN(10) {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
			line := strings.ReplaceAll(b.String(), "\n", " ") + "\n"
			got := string(rw.Rewrite(nil, []byte(line)))
			if got == line {
				continue
			}
			changed++
			if !slices.ContainsFunc(rw.Needles, func(n string) bool { return strings.Contains(line, n) }) {
				t.Fatalf("netns %q, state %q: %q holds none of the needles %q, and the hints make it %q", a.netns, a.stateDir, line, rw.Needles, got)
			}
		}
		if changed == 0 {
			t.Errorf("netns %q, state %q: the hints changed no line", a.netns, a.stateDir)
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

// BenchmarkPrintPlan100k is what `nictab --netns bench1 apply` prints of
// benchplan.Routes100k before its first kernel write, diff, commands and hints, to a
// pipe (plain styles). With -cpu 1 it is made on one goroutine, as it was
// before the chunks.
func BenchmarkPrintPlan100k(b *testing.B) {
	benchmarkPrintPlan(b, benchplan.Routes100k())
}

// BenchmarkPrintPlanDeleted100k is BenchmarkPrintPlan100k of the plan of
// the rollback that deletes those routes.
func BenchmarkPrintPlanDeleted100k(b *testing.B) {
	benchmarkPrintPlan(b, benchplan.RoutesDeleted100k())
}

func benchmarkPrintPlan(b *testing.B, p netcfg.Plan) {
	prop := &snapshots.Proposal{Plan: p}
	a := &app{out: io.Discard, netns: "bench1", stateDir: "/tmp/state", noColor: true}
	for b.Loop() {
		if err := a.printPlan(prop, false, true); err != nil {
			b.Fatal(err)
		}
	}
}

// randomHintPlan is a plan of n route changes across tables, with devices
// named like the words the hints look for, and notes and conflicts that
// name nictab and ip commands.
func randomHintPlan(rng *rand.Rand, n int) netcfg.Plan {
	var p netcfg.Plan
	devs := []string{"eth0", "ip", "route", "rule", "sc0", "a b", "`x"}
	for i := range n {
		r := &netcfg.Route{
			Table: []uint32{13, 100, 254}[rng.IntN(3)], Type: netcfg.RouteUnicast, Dev: devs[rng.IntN(len(devs))],
			Proto: netcfg.ProtoNictab, Scope: netcfg.ScopeLink,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 0}), 24),
		}
		c := netcfg.Change{Action: netcfg.ChangeAction(1 + rng.IntN(3)), Before: netcfg.Object{Route: r}, After: netcfg.Object{Route: r}}
		if rng.IntN(50) == 0 {
			c = netcfg.Change{Action: netcfg.ChangeAdd, After: netcfg.Object{Name: &netcfg.TableName{ID: 13, Name: "vpn"}}}
		}
		p.Changes = append(p.Changes, c)
	}
	p.Notes = []netcfg.Note{{Text: "left as it is (`nictab snapshot save --adopt` takes it over)"}, {Text: "seen: ip route add 10.0.0.0/8 dev eth0"}}
	if rng.IntN(2) == 0 {
		p.Conflicts = []netcfg.Conflict{{Text: "(ip -6 rule del pref 5) failed: run `nictab recover`"}}
	}
	return p
}

// TestPlanHintsChunkedSameAsWhole: the printout of a plan with the hints
// of --netns and --state-dir, big plans' made and rewritten in chunks on
// several goroutines, is what the hints on the whole printout made on one
// goroutine give, in plain and colour, below and above the size at which
// the chunks begin, and through printPlan.
func TestPlanHintsChunkedSameAsWhole(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 18))
	const nf = "/etc/iproute2/rt_tables.d/nictab.conf"
	names := &netcfg.Names{Tables: []netcfg.TableName{{ID: 13, Name: "vpn"}}}
	// A namespace whose name holds an ip command has the hints rewrite
	// every command line.
	apps := []*app{{netns: "lab 1"}, {netns: "pln1", stateDir: "/tmp/s t"}, {stateDir: "/s"}, {netns: "x ip route y"}}
	for _, n := range []int{3, 300, 4095, 4096, 9000} {
		p := randomHintPlan(rng, n)
		for _, a := range apps {
			for _, st := range []ui.Styles{ui.PlainStyles(), ui.DefaultStyles(true)} {
				plain := ui.RenderPlanTextIn(&p, names, nf, a.netns, true, st)
				want := a.hints(plain)
				if want == plain {
					t.Fatalf("%d changes, netns %q, state %q: the hints changed nothing", n, a.netns, a.stateDir)
				}
				var out bytes.Buffer
				if err := a.writePlanText(&out, func(w io.Writer) error {
					return ui.WritePlanText(w, &p, names, nf, a.netns, true, st)
				}); err != nil {
					t.Fatal(err)
				}
				if out.String() != want {
					t.Fatalf("%d changes, netns %q, state %q: the printout with hints differs", n, a.netns, a.stateDir)
				}
			}
		}
		a := &app{netns: "lab 1", stateDir: "/s", noColor: true}
		var out bytes.Buffer
		a.out = &out
		prop := &snapshots.Proposal{Plan: p, Live: netcfg.State{Names: *names}}
		if err := a.printPlan(prop, false, true); err != nil {
			t.Fatal(err)
		}
		pn := ui.PlanNames(prop.Live.Names, &p)
		want := a.hints(ui.RenderPlanTextIn(&p, &pn, netcfg.NamesFile{Paths: a.namePaths()}.TablesPath(), a.netns, true, ui.PlainStyles()))
		if out.String() != want {
			t.Fatalf("%d changes: printPlan differs from the hints on the whole printout", n)
		}
	}
}
