package format

import (
	"bytes"
	"runtime"
	"sync"

	"github.com/nictab/nictab/internal/prefault"
	"github.com/nictab/nictab/netcfg"
)

// A list of 100k one-line routes is decoded in parts, on every core:
// finding the entries' lines, scanning them and the fast decoders are
// pure, and cost most of what the list costs. What is not pure stays
// sequential and in the list's order (taking each decoded entry, its
// duplicate check, every entry the fast decoders leave, every message),
// but for the search for a key given twice in a list the fast decoders
// took whole, which each part hashes as it decodes (keyHashes) and which
// only says whether there is one. So a list read in parts decodes to the
// same routes and fails with the same first error as one read line by
// line (TestListInPartsReadsAsLineByLine and TestHostileListsInParts
// hold the two to each other). A list of fewer than splitMin lines is
// read on one goroutine: starting one costs more than it saves.
const splitMin = 4096

// splitting is turned off only by the test that holds the split read to
// the sequential one.
var splitting = true

// fastDecoder is a list's fast path (fastRoute, fastSavedRoute) over
// slots that each hold one decoded entry.
type fastDecoder interface {
	// decode decodes the entry fl scanned last into slot, or into a
	// scratch slot for -1. It reads fl and writes the slot, nothing
	// else but what claim shares, so the parts of a list may call it at
	// once; a slot it refuses holds nothing to read.
	decode(slot int, fl *flowReader) bool
	// inParts says the list is read in parts, into n slots, before any
	// part starts.
	inParts(n int)
	// prepare maps the memory of slots lo to hi, which are about to be
	// filled (internal/prefault).
	prepare(lo, hi int)
	// take takes the entry decoded into slot as entry i of the list;
	// false leaves it, taking nothing, for the decoder to read.
	take(i, slot int) bool
	// takeAll takes the n entries decodedAll was told of, each as it
	// is, or reports false and takes none, for take to take one by one.
	takeAll(n int) bool
	// slots is how many slots there are besides the scratch one.
	slots() int
	// move moves n slots from src on to dst on.
	move(dst, src, n int)
	// decodedAll says that slots 0 to n hold every entry of the list,
	// before the first is taken.
	decodedAll(n int)
}

// fastList is a fastDecoder whose slots are items: the decoded list's
// own room when it keeps its entries, as take fills that room in order:
// entry i goes to place i or before, over an entry already taken.
type fastList[T any] struct {
	items []T
	one   T
	dec   func(fl *flowReader, r *T) bool
	keep  func(i int, r *T) bool
	// parts, when set, is told that the list is read in parts, into n
	// slots; claim is then given each entry the fast decoder took, by
	// the part that decoded it, at once with the other parts.
	parts func(n int)
	claim func(slot int, r *T)
	// onMove, when set, is told of every move of slots.
	onMove func(dst, src, n int)
	// mapped, when set, is closed once the room is mapped whole
	// (mapAhead), which prepare then waits for.
	mapped <-chan struct{}
	// all, when set, is given every entry of a list read in parts that
	// the fast decoder took whole, before any is taken; whole, when set,
	// then takes them all at once, or reports false.
	all   func(items []T)
	whole func(n int) bool
}

func (s *fastList[T]) at(slot int) *T {
	if slot < 0 {
		return &s.one
	}
	return &s.items[slot]
}

func (s *fastList[T]) decode(slot int, fl *flowReader) bool {
	r := s.at(slot)
	ok := s.dec(fl, r)
	if ok && slot >= 0 && s.claim != nil {
		s.claim(slot, r)
	}
	return ok
}

func (s *fastList[T]) inParts(n int) {
	if s.parts != nil {
		s.parts(n)
	}
}

func (s *fastList[T]) prepare(lo, hi int) {
	if s.mapped != nil && lo == 0 && hi == len(s.items) {
		<-s.mapped
		return
	}
	prefault.Slice(s.items[lo:hi:hi])
}

// roomAhead is the room of a long list, made when the list is found and
// mapped on another goroutine while the rest of the file is parsed.
//
// NOTE: mapped where the parts start, the room of a 100k-route file (14.4
// MB) held them back 1.7-2.4 ms. It is mapped from when the lists are
// found, beside the checksum, the UTF-8 check and the parse of the rest
// of the file; the parts still start on room mapped whole (splitScan).
// A Load of that file took 19.5 ms instead of 19.8 (medians of 21 runs,
// after the rest went to the parser without the lists' lines; 4.8 ms
// instead of 6.6 for the room and the rest's parse before).
type roomAhead struct {
	room   any
	mapped chan struct{}
}

// mapAhead makes and starts mapping the room of the lists of regions
// that will be read in parts (readInParts): their entries, from the lines
// of their region, by path. A path found twice is the first region's
// (newDecoder).
func mapAhead(regions []listRegion, lim shapeLimits) map[string]*roomAhead {
	if lim.checkOnly || !partsRead() {
		return nil
	}
	var ahead map[string]*roomAhead
	for _, r := range regions {
		if r.newlines+1 < splitMin || ahead[r.path] != nil {
			continue
		}
		var a *roomAhead
		switch r.path {
		case "routes":
			a = startRoom[netcfg.RouteIntent](r.newlines + 1)
		case "resolved.routes":
			a = startRoom[netcfg.Route](r.newlines + 1)
		default:
			continue
		}
		if ahead == nil {
			ahead = map[string]*roomAhead{}
		}
		ahead[r.path] = a
	}
	return ahead
}

func startRoom[T any](n int) *roomAhead {
	s := make([]T, 0, n)
	a := &roomAhead{room: s, mapped: make(chan struct{})}
	go func() {
		defer close(a.mapped)
		prefault.Slice(s)
	}()
	return a
}

// roomFor is room for n entries of the list at path: what mapAhead made
// for it, with the channel closed once it is mapped, or new room.
func roomFor[T any](d *decoder, path string, n int) ([]T, <-chan struct{}) {
	if a := d.ahead[path]; a != nil {
		delete(d.ahead, path)
		if s, ok := a.room.([]T); ok && cap(s) == n {
			return s, a.mapped
		}
	}
	return make([]T, 0, n), nil
}

func (s *fastList[T]) take(i, slot int) bool { return s.keep(i, s.at(slot)) }

func (s *fastList[T]) takeAll(n int) bool { return s.whole != nil && s.whole(n) }

func (s *fastList[T]) slots() int { return len(s.items) }

func (s *fastList[T]) move(dst, src, n int) {
	copy(s.items[dst:], s.items[src:src+n])
	if s.onMove != nil {
		s.onMove(dst, src, n)
	}
}

func (s *fastList[T]) decodedAll(n int) {
	if s.all != nil {
		s.all(s.items[:n])
	}
}

// entrySpan is one entry of a list region: its first line at off (line
// line), the line after it at next, and the entry up to end, where line
// endLine starts. brace is the offset of the "{" of an entry the fast
// decoder took, -1 for any other. Offsets fit 32 bits: a file is read
// whole into memory, and far smaller than that.
type entrySpan struct {
	off, next, end int32
	line, endLine  int32
	brace          int32
}

// entryAt finds the entry whose lines start at off, line lineNo, skipping
// blank and comment lines before it: its first line, and every deeper (or
// blank) line after it, before limit. False when only blank lines are
// left.
func (r *listRegion) entryAt(data []byte, off, lineNo, limit int) (entrySpan, bool) {
	first, indent, next := lineAt(data, off)
	for blankOrComment(first, indent) && next < limit {
		off, lineNo = next, lineNo+1
		first, indent, next = lineAt(data, off)
	}
	if blankOrComment(first, indent) {
		return entrySpan{}, false
	}
	end, endLine := next, lineNo+1
	for end < limit {
		l, in, nx := lineAt(data, end)
		if !blankOrComment(l, in) && in <= r.indent {
			break
		}
		end, endLine = nx, endLine+1
	}
	return entrySpan{off: int32(off), next: int32(next), end: int32(end), line: int32(lineNo), endLine: int32(endLine), brace: -1}, true
}

// entryFrom returns the first line at or after off (within r) that
// starts an entry: where two parts of r meet, as an entry's lines end
// only where the next entry starts.
func (r *listRegion) entryFrom(data []byte, off int) (int, bool) {
	if data[off-1] != '\n' {
		nl := bytes.IndexByte(data[off:r.end], '\n')
		if nl < 0 {
			return 0, false
		}
		off += nl + 1
	}
	for off < r.end {
		line, indent, next := lineAt(data, off)
		if !blankOrComment(line, indent) && indent <= r.indent {
			return off, true
		}
		off = next
	}
	return 0, false
}

// scanEntries finds the entries from off (line lineNo) to limit, each
// offered to fast, into slot base+its place in out, and places them in
// out: the line of each, and the offset of its "{" when fast decoded it
// (-1 otherwise). It returns how many it found.
func (r *listRegion) scanEntries(data []byte, allowed []string, fast fastDecoder, off, lineNo, limit, base int, out *itemIndex, runs *[]lineRun) int {
	fl := newFlowReader(allowed)
	n := 0
	for off < limit {
		// A one-line entry is scanned in place: the entry ends at its
		// line's end when the next line starts another entry (or the
		// list ends). Found by entryAt, each line's end was searched
		// for three times (lineAt: 8% of the CPU samples of a 100k-route
		// Load, with the calls around it).
		if next, simple, ok := fl.scanIn(data[off:]); ok && r.endsEntry(data, off+next, limit) {
			next += off
			out.lines[n], out.offs[n] = int32(lineNo), -1
			if fast.decode(base+n, fl) {
				out.offs[n] = int32(off + fl.brace)
			}
			if simple && fl.dash == r.indent {
				if k := len(*runs) - 1; k >= 0 && (*runs)[k].end == off {
					(*runs)[k].last, (*runs)[k].end = off, next
				} else {
					*runs = append(*runs, lineRun{first: off, last: off, end: next})
				}
			}
			n++
			off, lineNo = next, lineNo+1
			continue
		}
		e, ok := r.entryAt(data, off, lineNo, limit)
		if !ok {
			break
		}
		out.lines[n], out.offs[n] = e.line, -1
		if e.end == e.next {
			first, _, _ := lineAt(data, off)
			if fl.scan(first) && fast.decode(base+n, fl) {
				out.offs[n] = e.off + int32(fl.brace)
			}
		}
		n++
		off, lineNo = int(e.end), int(e.endLine)
	}
	return n
}

// endsEntry reports whether the line at off, before limit, ends the entry
// before it: it is past the list's lines, or starts another entry (a line
// neither blank nor a comment, as deep as the entries or less), as
// entryAt finds. Only the spaces the line starts with are read.
func (r *listRegion) endsEntry(data []byte, off, limit int) bool {
	if off >= limit {
		return true
	}
	j := off
	for j < len(data) && data[j] == ' ' {
		j++
	}
	if j == len(data) {
		return false
	}
	switch data[j] {
	case '\n', '#':
		return false
	case '\r':
		if j+1 == len(data) || data[j+1] == '\n' {
			return false
		}
	}
	return j-off <= r.indent
}

// lineRun is a run of lines, from the one at first to the one at last
// (ending at end), one entry each, at one indentation, that countShape
// takes whole one by one (simpleEntry). Each leaves countShape as the
// one before it did, so the check of the whole file reads the first and
// the last and skips those between (countShapeSkipping).
type lineRun struct{ first, last, end int }

// listPart is one part of a list read in parts: its lines from off, line
// line, to end, and the entries found there.
type listPart struct {
	off, line, end int
	n              int
	runs           []lineRun
}

// splitScan finds the entries of r and decodes those fast takes, in
// parts at once, when r is long enough to be worth it, and returns where
// they are (scanEntries); nil otherwise, and the list is read line by
// line. Entry i is decoded into slot i. There are twice as many parts as
// cores, so that a core another process holds for a while leaves its
// share to the others.
//
// NOTE: the parts wrote a 24-byte entrySpan an entry, from which the
// list's index was then copied: for 100k routes 2.4 MB of fresh memory
// and a pass after the parts. They write the index itself, which the list
// keeps when fast takes every entry; a list it does not is walked again
// for the entries' lines. A Load of 100k routes peaked at 31.0 MB of RSS
// instead of 33.2, with 6,500 page faults instead of 7,040.
func (d *decoder) splitScan(r *listRegion, allowed []string, fast fastDecoder) *itemIndex {
	procs := runtime.GOMAXPROCS(0)
	if !splitting || procs < 2 {
		return nil
	}
	lines := r.newlines + 1
	if lines < splitMin || fast.slots() < lines {
		return nil
	}
	n := min(2*procs, 8, 2*lines/splitMin)
	parts := make([]listPart, 0, n)
	off, line := r.start, r.startLine
	for k := 1; k < n; k++ {
		at, ok := r.entryFrom(d.data, r.start+(r.end-r.start)*k/n)
		if !ok || at <= off {
			continue
		}
		parts = append(parts, listPart{off: off, line: line, end: at})
		off, line = at, line+bytes.Count(d.data[off:at], []byte{'\n'})
	}
	if len(parts) == 0 {
		return nil
	}
	parts = append(parts, listPart{off: off, line: line, end: r.end})
	// A part has no more entries than lines: each part's entries start
	// where the lines before it end, and move down when some of those
	// lines were not entries of their own.
	placed := &itemIndex{lines: make([]int32, lines), offs: make([]int32, lines)}
	fast.inParts(lines)
	// NOTE: the room is mapped whole before the parts start. Mapped by
	// each part on its own core, the parse of a 100k-route file took 1-2
	// ms less, but the terminal UI, which reads the newest snapshot's
	// intent as it starts, drew its first frame 33-35 ms after start
	// instead of 24 with a 100k-route snapshot newest (bench/ttystart).
	fast.prepare(0, lines)
	var wg sync.WaitGroup
	for k := range parts {
		p := &parts[k]
		base := p.line - r.startLine
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.n = r.scanEntries(d.data, allowed, fast, p.off, p.line, p.end, base, &itemIndex{placed.lines[base:], placed.offs[base:]}, &p.runs)
		}()
	}
	wg.Wait()
	total := 0
	for _, p := range parts {
		d.runs = append(d.runs, p.runs...)
		if base := p.line - r.startLine; total < base {
			copy(placed.lines[total:], placed.lines[base:base+p.n])
			copy(placed.offs[total:], placed.offs[base:base+p.n])
			fast.move(total, base, p.n)
		}
		total += p.n
	}
	placed.lines, placed.offs = placed.lines[:total], placed.offs[:total]
	for _, off := range placed.offs {
		if off < 0 {
			return placed
		}
	}
	fast.decodedAll(total)
	return placed
}
