package ui

import (
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/nictab/nictab/netcfg"
)

// NOTE: `nictab apply` prints the whole plan before its first kernel
// write, and a plan of 100k routes is 200k lines: some 25 ms of one core.
// From planChunkMin changes on WritePlanText formats the printout in chunks
// of planChunk steps (a change's diff line, or its commands) on one
// goroutine per core, and writes the chunks in order as they are done.
// The lines are the ones plan writes, by the same methods
// (TestPlanTextChunkedSameAsSequential); a plan below that size, or a
// process with one core, is written as it was, on the caller's goroutine.

const (
	// planChunkMin is the number of changes from which a plan is made in
	// chunks: below it the printout takes about a millisecond, not worth
	// the goroutines.
	planChunkMin = 4096
	// planChunk is the number of steps of a chunk: ~200 KB of text, few
	// enough chunks for their handing over to cost nothing and enough
	// that the cores finish together.
	planChunk = 2048
	// planWorkersMax bounds the goroutines a printout takes: the chunks
	// are written on one, which more would wait for.
	planWorkersMax = 4
)

// A LineRewriter is a writer that rewrites each line written through it
// on its own, the same whatever line came before (the CLI's hints):
// WritePlanText has the chunks of a big plan, whole lines each, rewritten
// on the goroutines that make them rather than all on its own.
type LineRewriter interface {
	io.Writer
	// LineRewrite returns a function, safe to call on several goroutines
	// at once, that appends to dst whole lines rewritten as Write would
	// rewrite them, and the writer to write what it returns to in place
	// of Write; or nil, nil when the next line written would not be
	// rewritten on its own (Write holds part of a line).
	LineRewrite() (rewrite func(dst, lines []byte) []byte, raw io.Writer)
}

// planWorkers is how many goroutines format a plan of n changes.
func planWorkers(n int) int {
	if n < planChunkMin {
		return 1
	}
	return min(runtime.GOMAXPROCS(0), planWorkersMax)
}

// bytesWriter appends what is written to b.
type bytesWriter struct{ b []byte }

func (w *bytesWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

func (w *bytesWriter) WriteString(s string) (int, error) {
	w.b = append(w.b, s...)
	return len(s), nil
}

// planSteps lays a plan's printout out as steps: the change at each
// position of the tables' runs laid end to end (its diff line), then,
// with commands, each change in order (its commands).
type planSteps struct {
	p                *netcfg.Plan
	names            *netcfg.Names
	namesFile, netns string
	commands         bool
	tables           []uint32
	order            [][]int32
}

func newPlanSteps(p *netcfg.Plan, names *netcfg.Names, namesFile, netns string, commands bool) *planSteps {
	s := &planSteps{p: p, names: names, namesFile: namesFile, netns: netns, commands: commands && !p.Empty()}
	s.tables, s.order = changesByTable(p.Changes)
	return s
}

func (s *planSteps) len() int {
	if s.commands {
		return 2 * len(s.p.Changes)
	}
	return len(s.p.Changes)
}

// write writes steps [a, b) to pw: with the plan's head before step 0, a
// table's heading before its first change, the notes and conflicts after
// the last diff line and the commands' title before the first command,
// steps [0, len) together are what plan writes.
func (pw *planWriter) writeSteps(s *planSteps, a, b int) {
	n := len(s.p.Changes)
	if a == 0 {
		pw.planHead(s.p)
	}
	if a < n {
		pw.diffSteps(s, a, min(b, n))
	}
	if b >= n && (a < n || a == 0) {
		pw.diffTail(s.p, "")
	}
	if !s.commands || b <= n {
		return
	}
	if a <= n {
		pw.commandsHead()
	}
	for i := max(a, n) - n; i < b-n; i++ {
		pw.commandLines(&s.p.Changes[i], s.namesFile, s.netns)
	}
}

// diffSteps writes the diff lines of steps [a, b), b ≤ the number of
// changes.
func (pw *planWriter) diffSteps(s *planSteps, a, b int) {
	k, base := 0, 0 // the table of step a, and the step its run starts at
	for base+len(s.order[k]) <= a {
		base += len(s.order[k])
		k++
	}
	for a < b {
		run := s.order[k]
		if a == base {
			pw.tableHead(s.tables[k], s.names, "")
		}
		end := min(len(run), b-base)
		for _, i := range run[a-base : end] {
			pw.changeLine(&s.p.Changes[i], s.names, "")
		}
		a = base + end
		base += len(run)
		k++
	}
}

// writeChunked writes the steps to w in chunks of chunk steps, made on
// workers goroutines into buffers of their own. At most 2 × workers chunks
// are made and not yet written, so that a slow reader of the printout
// holds up its making rather than the whole printout piling up in memory.
func (pw *planWriter) writeChunked(w io.Writer, s *planSteps, chunk, workers int) error {
	steps := s.len()
	chunks := max(1, (steps+chunk-1)/chunk) // a plan of no change has a head
	ahead := 2 * workers
	// Chunk i goes through slot i % ahead: chunks i and i + ahead are
	// never both made and unwritten, since making one takes a token
	// writing one gives back.
	slots := make([]chan []byte, ahead)
	for i := range slots {
		slots[i] = make(chan []byte, 1)
	}
	tokens := make(chan struct{}, ahead)
	for range ahead {
		tokens <- struct{}{}
	}
	free := make(chan []byte, ahead)
	quit := make(chan struct{})
	var rewrite func(dst, lines []byte) []byte
	if lw, ok := w.(LineRewriter); ok {
		if f, raw := lw.LineRewrite(); f != nil {
			rewrite, w = f, raw
		}
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			cw := *pw
			cw.line, cw.text, cw.err = nil, nil, nil
			// With a rewrite the chunk is made in made, which stays
			// here, and rewritten into out, which is written.
			var out, made bytesWriter
			cw.w = &out
			if rewrite != nil {
				cw.w = &made
			}
			for {
				select {
				case <-tokens:
				case <-quit:
					return
				}
				i := int(next.Add(1) - 1)
				if i >= chunks {
					return
				}
				select {
				case out.b = <-free:
					out.b = out.b[:0]
				default:
					// Room for a chunk of 100-byte lines, so that it
					// seldom grows.
					out.b = make([]byte, 0, 100*chunk)
				}
				made.b = made.b[:0]
				cw.writeSteps(s, i*chunk, min((i+1)*chunk, steps))
				if rewrite != nil {
					// Every step ends its last line, so a chunk is
					// whole lines.
					out.b = rewrite(out.b, made.b)
				}
				slots[i%ahead] <- out.b
			}
		})
	}
	var err error
	for i := range chunks {
		b := <-slots[i%ahead]
		if _, err = w.Write(b); err != nil {
			break
		}
		select {
		case free <- b:
		default:
		}
		tokens <- struct{}{}
	}
	close(quit)
	wg.Wait()
	return err
}
