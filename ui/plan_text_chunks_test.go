package ui

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// randomChunkPlan is randomPlan with notes and conflicts now and then, so
// that the tail a chunk may end or start at has lines.
func randomChunkPlan(rng *rand.Rand, n int) netcfg.Plan {
	p := randomPlan(rng, n)
	if rng.IntN(2) == 0 {
		p.Notes = []netcfg.Note{{Text: "route already exists; left as it is (`nictab snapshot save --adopt` takes it over)"}}
	}
	if rng.IntN(3) == 0 {
		p.Conflicts = []netcfg.Conflict{{Text: "nictab would re-create it:\tsomething"}}
	}
	return p
}

// TestPlanTextChunkedSameAsSequential: the printout made in chunks on
// several goroutines is byte for byte the one plan writes on one, for
// random plans of every size, in every style set, with and without
// commands and a namespace, for chunks cut anywhere (one step, a few, the
// real size) and through WritePlanText above and below planChunkMin.
func TestPlanTextChunkedSameAsSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 18))
	sets := []Styles{PlainStyles(), MonoStyles(), DefaultStyles(true), DefaultStyles(false)}
	withNames := &netcfg.Names{Tables: []netcfg.TableName{{ID: 13, Name: "vpn"}}, Protos: []netcfg.ProtoName{{ID: 186, Name: "bgp"}, {ID: 99, Name: "we\x1bird"}}}
	const nf = "/etc/iproute2/rt_tables.d/nictab.conf"
	sizes := []int{0, 1, 2, 5, 40, 300, planChunkMin - 1, planChunkMin, planChunkMin + 3*planChunk + 17}
	chunked := 0
	for round := range 45 {
		n := sizes[round%len(sizes)]
		p := randomChunkPlan(rng, n)
		if n == 0 && round%2 == 1 {
			p.Notes, p.Conflicts = nil, nil // "No changes."
		}
		names := withNames
		if rng.IntN(5) == 0 {
			names = &netcfg.Names{}
		}
		st := sets[rng.IntN(len(sets))]
		netns := []string{"", "lab 1", "pln1"}[rng.IntN(3)]
		commands := rng.IntN(4) != 0
		want := RenderPlanTextIn(&p, names, nf, netns, commands, st)
		check := func(how string, got []byte) {
			t.Helper()
			if string(got) != want {
				i := 0
				for i < len(got) && i < len(want) && got[i] == want[i] {
					i++
				}
				t.Fatalf("round %d, %d changes, netns %q, commands %v, %s: differs from byte %d:\n got %q\nwant %q",
					round, n, netns, commands, how, i, got[max(0, i-80):min(len(got), i+80)], want[max(0, i-80):min(len(want), i+80)])
			}
		}
		var buf bytes.Buffer
		if err := WritePlanText(&buf, &p, names, nf, netns, commands, st); err != nil {
			t.Fatal(err)
		}
		check("WritePlanText", buf.Bytes())
		if planWorkers(n) > 1 {
			chunked++
		}
		// Chunks of a step or a few on the small plans, where they cut
		// at every kind of line; a few ways on the big ones.
		ways := [][2]int{{1, 1}, {1, 2}, {3, 2}, {3, 3}, {64, 2}}
		if n > 300 {
			ways = [][2]int{{64, 2}, {planChunk, 3}}
		}
		for _, way := range ways {
			chunk, workers := way[0], way[1]
			buf.Reset()
			s := newPlanSteps(&p, names, nf, netns, commands)
			if err := newPlanWriter(nil, st).writeChunked(&buf, s, chunk, workers); err != nil {
				t.Fatal(err)
			}
			check(fmt.Sprintf("chunks of %d steps on %d goroutines", chunk, workers), buf.Bytes())
		}
	}
	if chunked == 0 {
		t.Error("no plan went through the chunks in WritePlanText")
	}
	// And against the printout of lipgloss line by line, the reference of
	// the sequential path, on one big plan.
	p := randomChunkPlan(rng, planChunkMin+planChunk+5)
	for _, st := range sets {
		var buf bytes.Buffer
		if err := WritePlanText(&buf, &p, withNames, nf, "lab 1", true, st); err != nil {
			t.Fatal(err)
		}
		if want := lipglossPlanText(&p, withNames, nf, "lab 1", true, st); buf.String() != want {
			t.Fatal("a big plan in chunks differs from the printout of lipgloss")
		}
	}
}

// failAfter fails every write once n bytes went through.
type failAfter struct{ n int }

var errFull = errors.New("disk full")

func (w *failAfter) Write(p []byte) (int, error) {
	if w.n < len(p) {
		return 0, errFull
	}
	w.n -= len(p)
	return len(p), nil
}

// TestPlanTextChunkedWriteError: a write that fails ends the printout with
// its error, early or late: writeChunked returns only once the goroutines
// that make the chunks stopped, so one left waiting hangs the test.
func TestPlanTextChunkedWriteError(t *testing.T) {
	p := randomChunkPlan(rand.New(rand.NewPCG(8, 18)), 3*planChunkMin)
	names := &netcfg.Names{}
	for _, n := range []int{0, 100, 1 << 20} {
		err := WritePlanText(&failAfter{n: n}, &p, names, "", "", true, PlainStyles())
		if !errors.Is(err, errFull) {
			t.Errorf("failing after %d bytes: got %v, want %v", n, err, errFull)
		}
	}
}

// quoteWriter quotes each line written through it ("> " before it), as
// a LineRewriter: what goes through Write is kept and quoted at the end,
// what LineRewrite's function makes goes to raw, and a chunk handed to it
// that ends in the middle of a line is counted in split.
type quoteWriter struct {
	// refuse makes LineRewrite say no, as a writer holding part of a
	// line does: the chunks go through Write.
	refuse  bool
	written []byte
	raw     bytes.Buffer
	split   atomic.Int32
}

func (w *quoteWriter) Write(p []byte) (int, error) {
	w.written = append(w.written, p...)
	return len(p), nil
}

func (w *quoteWriter) LineRewrite() LineRewrite {
	if w.refuse {
		return LineRewrite{}
	}
	return LineRewrite{Rewrite: func(dst, lines []byte) []byte {
		if len(lines) > 0 && lines[len(lines)-1] != '\n' {
			w.split.Add(1)
		}
		return quoteLines(dst, lines)
	}, Raw: &w.raw, Needles: []string{""}}
}

func quoteLines(dst, lines []byte) []byte {
	for len(lines) > 0 {
		i := bytes.IndexByte(lines, '\n') + 1
		if i == 0 {
			i = len(lines)
		}
		dst = append(append(dst, "> "...), lines[:i]...)
		lines = lines[i:]
	}
	return dst
}

// TestPlanTextChunkedRewrittenSameAsSequential: a LineRewriter's rewrite
// of the chunks of a big plan, on the goroutines that make them, gives
// what rewriting the sequential printout line by line gives, and every
// chunk it is handed is whole lines; one that declines gets the chunks
// through Write.
func TestPlanTextChunkedRewrittenSameAsSequential(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 18))
	names := &netcfg.Names{Tables: []netcfg.TableName{{ID: 13, Name: "vpn"}}}
	rewritten := 0
	for round, n := range []int{0, 3, 300, planChunkMin - 1, planChunkMin, 3 * planChunkMin} {
		p := randomChunkPlan(rng, n)
		st := []Styles{PlainStyles(), DefaultStyles(true)}[round%2]
		want := string(quoteLines(nil, []byte(RenderPlanTextIn(&p, names, "", "lab 1", true, st))))
		for k, chunk := range []int{1, 7, planChunk, 7} {
			if chunk == 1 && n > 300 {
				continue
			}
			w := &quoteWriter{refuse: k == 3}
			var err error
			if chunk == planChunk {
				err = WritePlanText(w, &p, names, "", "lab 1", true, st)
			} else {
				err = newPlanWriter(nil, st).writeChunked(w, newPlanSteps(&p, names, "", "lab 1", true), chunk, 2)
			}
			if err != nil {
				t.Fatal(err)
			}
			if w.raw.Len() > 0 {
				rewritten++
			}
			if w.refuse && w.raw.Len() > 0 {
				t.Fatalf("%d changes: chunks rewritten by a writer that declined", n)
			}
			got := w.raw.String() + string(quoteLines(nil, w.written))
			if got != want {
				t.Fatalf("%d changes, chunks of %d: the quoted printout differs", n, chunk)
			}
			if k := w.split.Load(); k > 0 {
				t.Fatalf("%d changes, chunks of %d: %d chunks end in the middle of a line", n, chunk, k)
			}
		}
	}
	if rewritten == 0 {
		t.Error("no chunk was rewritten on the goroutines that made it")
	}
}
