package ui

import (
	"io"
	"runtime"
	"slices"
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
	// LineRewrite returns the rewrite, with a nil Rewrite when the next
	// line written would not be rewritten on its own (Write holds part of
	// a line).
	LineRewrite() LineRewrite
}

// LineRewrite is how a LineRewriter's lines can be rewritten apart.
type LineRewrite struct {
	// Rewrite, safe to call on several goroutines at once, appends to
	// dst whole lines rewritten as Write would rewrite them.
	Rewrite func(dst, lines []byte) []byte
	// Raw is the writer to write what Rewrite returns to in place of
	// Write.
	Raw io.Writer
	// Needles are strings one of which each line Rewrite changes holds:
	// a line that holds none goes to Raw as it is. An empty needle is in
	// every line.
	Needles []string
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
	// order is, for each table, the positions of its changes; nil when
	// the plan's changes are of one table: all of them in order.
	order  [][]int32
	counts string
	// digest and kinds are what routeMemo writes route lines from.
	digest []uint64
	kinds  []netcfg.Route
}

// newPlanSteps looks at each change once for its table, its action and
// its digest, where changesByTable and the counts of the plan's head
// looked at each on their own: the changes of a big plan and their routes
// are tens of megabytes, read from memory each time. A big plan is
// looked at in parts on every core.
func newPlanSteps(p *netcfg.Plan, names *netcfg.Names, namesFile, netns string, commands bool) *planSteps {
	return newPlanStepsIn(p, names, namesFile, netns, commands, planWorkers(len(p.Changes)))
}

// stepsPart is what newPlanStepsIn finds in a part of the changes.
type stepsPart struct {
	lo, hi         int
	add, del, repl int
	// one is whether the part's changes are all of the plan's first
	// change's table.
	one   bool
	kinds []netcfg.Route
}

// newPlanStepsIn is newPlanSteps in parts parts, each on a goroutine.
func newPlanStepsIn(p *netcfg.Plan, names *netcfg.Names, namesFile, netns string, commands bool, parts int) *planSteps {
	s := &planSteps{p: p, names: names, namesFile: namesFile, netns: netns, commands: commands && !p.Empty()}
	n := len(p.Changes)
	s.digest = make([]uint64, n)
	parts = max(1, min(parts, n))
	ps := make([]stepsPart, parts)
	var wg sync.WaitGroup
	for j := range ps {
		ps[j].lo, ps[j].hi = j*n/parts, (j+1)*n/parts
		if j > 0 {
			wg.Go(func() { s.scan(&ps[j]) })
		}
	}
	s.scan(&ps[0])
	wg.Wait()
	var add, del, repl int
	one := true
	for j := range ps {
		part := &ps[j]
		add, del, repl, one = add+part.add, del+part.del, repl+part.repl, one && part.one
		s.mergeKinds(part)
	}
	s.counts = planCounts(add, del, repl)
	switch {
	case n == 0:
	case one:
		s.tables = []uint32{p.Changes[0].Subject().Table()}
	default:
		s.tables, s.order = changesByTable(p.Changes)
	}
	return s
}

func (s *planSteps) scan(part *stepsPart) {
	part.one = true
	t := uint32(0)
	if part.hi > part.lo {
		t = s.p.Changes[0].Subject().Table()
	}
	for i := part.lo; i < part.hi; i++ {
		c := &s.p.Changes[i]
		s.digest[i] = digestOf(c, &part.kinds)
		switch c.Action {
		case netcfg.ChangeAdd:
			part.add++
		case netcfg.ChangeDelete:
			part.del++
		case netcfg.ChangeReplace:
			part.repl++
		}
		if part.one && c.Subject().Table() != t {
			part.one = false
		}
	}
}

// mergeKinds adds a part's kinds to the plan's and has its digest name
// them there.
func (s *planSteps) mergeKinds(part *stepsPart) {
	var to [memoKinds]int
	same := true
	for k := range part.kinds {
		to[k] = slices.IndexFunc(s.kinds, func(r netcfg.Route) bool { return sameButDst(&r, &part.kinds[k]) })
		if to[k] < 0 && len(s.kinds) < memoKinds {
			to[k] = len(s.kinds)
			s.kinds = append(s.kinds, part.kinds[k])
		}
		same = same && to[k] == k
	}
	if same {
		return
	}
	for i := part.lo; i < part.hi; i++ {
		if d := s.digest[i]; d != 0 {
			if k := to[uint8(d>>32)]; k < 0 {
				s.digest[i] = 0
			} else {
				s.digest[i] = d&^(0xff<<32) | uint64(k)<<32
			}
		}
	}
}

// run is the positions of the changes of the k-th table.
func (s *planSteps) run(k int) []int32 {
	if s.order == nil {
		return nil
	}
	return s.order[k]
}

// runLen is the number of changes of the k-th table.
func (s *planSteps) runLen(k int) int {
	if s.order == nil {
		return len(s.p.Changes)
	}
	return len(s.order[k])
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
		pw.planHead(s.p, s.counts)
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
		if !pw.memo.commandLine(i) {
			pw.commandLines(&s.p.Changes[i], s.namesFile, s.netns)
		}
	}
}

// diffSteps writes the diff lines of steps [a, b), b ≤ the number of
// changes.
func (pw *planWriter) diffSteps(s *planSteps, a, b int) {
	k, base := 0, 0 // the table of step a, and the step its run starts at
	for base+s.runLen(k) <= a {
		base += s.runLen(k)
		k++
	}
	for a < b {
		n := s.runLen(k)
		if a == base {
			pw.tableHead(s.tables[k], s.names, "")
		}
		end := min(n, b-base)
		if run := s.run(k); run != nil {
			for _, i := range run[a-base : end] {
				if !pw.memo.diffLine(int(i)) {
					pw.changeLine(&s.p.Changes[i], s.names, "")
				}
			}
		} else {
			for i := a - base; i < end; i++ {
				if !pw.memo.diffLine(i) {
					pw.changeLine(&s.p.Changes[i], s.names, "")
				}
			}
		}
		a = base + end
		base += n
		k++
	}
}

// chunkOut is a chunk as it is made: in out the lines ready to write,
// and with a rewrite, in pending the lines made since that it has still
// to see.
type chunkOut struct {
	out, pending bytesWriter
	rewrite      func(dst, lines []byte) []byte
}

// ready has the rewrite take the pending lines into out, and returns out,
// to append lines to that need no rewrite.
func (c *chunkOut) ready() *bytesWriter {
	if len(c.pending.b) > 0 {
		c.out.b = c.rewrite(c.out.b, c.pending.b)
		c.pending.b = c.pending.b[:0]
	}
	return &c.out
}

// chunkWriter is a copy of pw that makes chunks of s, to be rewritten by
// rw, in buffers of its own.
func (pw *planWriter) chunkWriter(s *planSteps, rw LineRewrite) *planWriter {
	cw := *pw
	cw.line, cw.text, cw.err = nil, nil, nil
	cw.chunk = &chunkOut{rewrite: rw.Rewrite}
	cw.w = &cw.chunk.out
	if rw.Rewrite != nil {
		cw.w = &cw.chunk.pending
	}
	cw.memo = newRouteMemo(&cw, s, rw.Needles, rw.Rewrite != nil)
	return &cw
}

// makeChunk makes steps [a, b) in buf and returns them.
func (pw *planWriter) makeChunk(s *planSteps, a, b int, buf []byte) []byte {
	pw.chunk.out.b = buf[:0]
	pw.writeSteps(s, a, b)
	return pw.chunk.ready().b
}

// writeChunked writes the steps to w in chunks of chunk steps, made on
// workers goroutines into buffers of their own, or with one worker on the
// caller's. At most 2 × workers chunks are made and not yet written, so
// that a slow reader of the printout holds up its making rather than the
// whole printout piling up in memory.
func (pw *planWriter) writeChunked(w io.Writer, s *planSteps, chunk, workers int) error {
	steps := s.len()
	chunks := max(1, (steps+chunk-1)/chunk) // a plan of no change has a head
	var rw LineRewrite
	if lw, ok := w.(LineRewriter); ok {
		if rw = lw.LineRewrite(); rw.Rewrite != nil {
			w = rw.Raw
		}
	}
	// Room for a chunk of 100-byte lines, so that it seldom grows.
	size := min(100*chunk, 100*steps+512)
	if workers <= 1 || chunks == 1 {
		cw := pw.chunkWriter(s, rw)
		buf := make([]byte, 0, size)
		for i := range chunks {
			buf = cw.makeChunk(s, i*chunk, min((i+1)*chunk, steps), buf)
			if _, err := w.Write(buf); err != nil {
				return err
			}
		}
		return nil
	}
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
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			cw := pw.chunkWriter(s, rw)
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
				var buf []byte
				select {
				case buf = <-free:
				default:
					buf = make([]byte, 0, size)
				}
				slots[i%ahead] <- cw.makeChunk(s, i*chunk, min((i+1)*chunk, steps), buf)
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
