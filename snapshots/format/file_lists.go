package format

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// A snapshot file's route and rule lists are what grows: a file of 100k
// routes is 100k lines of "- {table: …, to: …}", and a saved snapshot
// holds them twice (intent and resolved). The YAML parser costs about
// 14 KB and 20 µs a route, so those lists are read here instead, one entry
// at a time: the rest of the file, without the lists' lines (what the
// parser reads placed back at the file's lines), goes to the YAML parser
// as before, and each entry is
// either a one-line flow mapping of plain scalars, read by a scanner that
// hands the decoder the same nodes the parser would, or anything else,
// which goes to the parser on its own. Memory is then the decoded entries
// and one entry's parse at a time.

// listRegion is a block list of routes or rules found by scanning lines:
// the key at keyLine (1-based) and keyCol, and the list's lines in
// data[start:end], which begin at line startLine and hold newlines
// line breaks.
type listRegion struct {
	path            string
	keyLine, keyCol int
	start, end      int
	startLine       int
	newlines        int
	indent          int
	claimed         bool
}

// lineAt returns the line starting at off (without its newline, and
// without a carriage return before it), its indentation in spaces, and
// the offset of the next line.
func lineAt(data []byte, off int) (line []byte, indent, next int) {
	end := bytes.IndexByte(data[off:], '\n')
	if end < 0 {
		end, next = len(data), len(data)
	} else {
		end, next = off+end, off+end+1
	}
	line = data[off:end]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	for indent < len(line) && line[indent] == ' ' {
		indent++
	}
	return line, indent, next
}

// blankOrComment reports whether a line holds nothing for the parser.
func blankOrComment(line []byte, indent int) bool {
	return indent == len(line) || line[indent] == '#'
}

// keyLineIs reports whether line, from indent on, is "key:" alone, with
// perhaps spaces and a comment after it.
func keyLineIs(line []byte, indent int, key string) bool {
	rest, ok := bytes.CutPrefix(line[indent:], []byte(key+":"))
	if !ok {
		return false
	}
	t := bytes.TrimLeft(rest, " ")
	return len(t) == 0 || (t[0] == '#' && len(t) < len(rest))
}

// isEntry reports whether a line at indent starts a block list entry.
func isEntry(line []byte, indent int) bool {
	return indent < len(line) && line[indent] == '-' && (indent+1 == len(line) || line[indent+1] == ' ')
}

// findRegions finds the top-level routes: and rules: lists, and those
// of resolved:, written as block lists. What it finds is a guess from
// indentation alone; the decoder claims a region only where the YAML
// parser saw that very key, and the file is read whole when one is left
// unclaimed.
func findRegions(data []byte) []listRegion {
	var out []listRegion
	off, lineNo := 0, 1
	for off < len(data) {
		line, indent, next := lineAt(data, off)
		switch {
		case indent != 0:
		case keyLineIs(line, 0, "routes"), keyLineIs(line, 0, "rules"):
			key := string(line[:bytes.IndexByte(line, ':')])
			if r, ok := scanList(data, next, lineNo+1, 0); ok {
				r.path, r.keyLine, r.keyCol = key, lineNo, 1
				out = append(out, r)
				off, lineNo = r.end, r.startLine+r.newlines
				continue
			}
		case keyLineIs(line, 0, "resolved"):
			var found []listRegion
			off, lineNo, found = scanResolved(data, next, lineNo+1)
			out = append(out, found...)
			continue
		}
		off, lineNo = next, lineNo+1
	}
	return out
}

// scanResolved finds the lists of a resolved: mapping whose lines start
// at off, and returns where the mapping ends.
func scanResolved(data []byte, off, lineNo int) (int, int, []listRegion) {
	var out []listRegion
	child := -1
	for off < len(data) {
		line, indent, next := lineAt(data, off)
		if blankOrComment(line, indent) {
			off, lineNo = next, lineNo+1
			continue
		}
		if indent == 0 {
			break
		}
		if child < 0 {
			child = indent
		}
		if indent == child && (keyLineIs(line, indent, "routes") || keyLineIs(line, indent, "rules")) {
			key := string(line[indent:bytes.IndexByte(line, ':')])
			if r, ok := scanList(data, next, lineNo+1, indent); ok {
				r.path, r.keyLine, r.keyCol = "resolved."+key, lineNo, indent+1
				out = append(out, r)
				off, lineNo = r.end, r.startLine+r.newlines
				continue
			}
		}
		off, lineNo = next, lineNo+1
	}
	return off, lineNo, out
}

// scanList finds the block list that is the value of a key at keyIndent
// whose next line starts at off: its entries at one indentation (the
// key's own, or deeper), each with the deeper lines that continue it. It
// ends before the first line at the key's indentation or less that is
// not an entry; any other shape is not a block list, and left to the
// parser. It counts the region's line breaks as it goes.
func scanList(data []byte, off, lineNo, keyIndent int) (listRegion, bool) {
	r := listRegion{start: off, startLine: lineNo, indent: -1}
	end := off
	// breaks is the line breaks before off, r.newlines those before end.
	breaks := 0
	for off < len(data) {
		if r.indent >= 0 {
			if next, ok := entryLineAt(data, off, r.indent); ok {
				breaks++
				off, end, r.newlines = next, next, breaks
				continue
			}
		}
		line, indent, next := lineAt(data, off)
		if next > off && data[next-1] == '\n' {
			breaks++
		}
		switch {
		case blankOrComment(line, indent):
		case r.indent < 0:
			if indent < keyIndent || !isEntry(line, indent) || blankOrComment(line, min(indent+2, len(line))) {
				return r, false
			}
			r.indent = indent
			end, r.newlines = next, breaks
		case indent > r.indent:
			end, r.newlines = next, breaks
		case indent == r.indent && isEntry(line, indent):
			// The parser takes the line after a bare "-" as its value,
			// whatever its indentation: such a list is left to it.
			if blankOrComment(line, min(indent+2, len(line))) {
				return r, false
			}
			end, r.newlines = next, breaks
		case indent <= keyIndent:
			r.end = end
			return r, true
		default:
			return r, false
		}
		off = next
	}
	r.end = end
	return r, r.indent >= 0
}

// entryLineAt is scanList's reading of a line that starts an entry at
// indent, for the lines of a long list: the line at off is indent spaces,
// "- " and something neither a comment nor the line's end. It returns
// where the next line starts, after the line's newline; false for any
// other line (or the last, with no newline), which scanList reads as
// before.
//
// NOTE: with lineAt for every line, and the region's line breaks counted
// after, findRegions took 1.27 ms of CPU for a 100k-route file; 1.0 ms
// so (task-clock of 600 runs, which moves less than the wall clock on a
// loaded machine).
func entryLineAt(data []byte, off, indent int) (int, bool) {
	j := off + indent
	if j+2 >= len(data) || data[j] != '-' || data[j+1] != ' ' {
		return 0, false
	}
	for k := off; k < j; k++ {
		if data[k] != ' ' {
			return 0, false
		}
	}
	switch data[j+2] {
	case '#', '\n', '\r':
		return 0, false
	}
	nl := bytes.IndexByte(data[j+2:], '\n')
	if nl < 0 {
		return 0, false
	}
	return j + 2 + nl + 1, true
}

// cutRegions returns data without the lines of every region, and the
// lines cut, for placing what is read of the rest where it is in data.
//
// NOTE: the rest was given to the parser with each region's lines left
// empty, for its lines to keep their numbers: the lexer took 1.4 ms over
// the 100k empty lines of a 100k-route file, and 10 µs over the rest
// without them.
func cutRegions(data []byte, regions []listRegion) ([]byte, lineShifts) {
	size := len(data)
	for _, r := range regions {
		size -= r.end - r.start
	}
	out := make([]byte, 0, size)
	shifts := make(lineShifts, 0, len(regions))
	at, cut := 0, 0
	for _, r := range regions {
		out = append(out, data[at:r.start]...)
		shifts = append(shifts, lineShift{from: r.startLine - cut, add: r.newlines})
		cut += r.newlines
		at = r.end
	}
	return append(out, data[at:]...), shifts
}

// lineShift says that the lines of what cutRegions left, from line from
// on, are add lines further down in the file (what one region held).
type lineShift struct{ from, add int }

type lineShifts []lineShift

// line is where line l of what cutRegions left is in the file.
func (s lineShifts) line(l int) int {
	out := l
	for _, sh := range s {
		if l < sh.from {
			break
		}
		out += sh.add
	}
	return out
}

// place moves the line of the *FileError err (found in what cutRegions
// left) to the file's.
func (s lineShifts) place(err error) {
	var fe *FileError
	if errors.As(err, &fe) && fe.Line > 0 {
		fe.Line = s.line(fe.Line)
	}
}

// tokens are the lexer's tokens of rest (what cutRegions left), placed
// at their lines in the file.
func (s lineShifts) tokens(rest []byte) token.Tokens {
	tokens := lexer.Tokenize(string(rest))
	if len(s) == 0 {
		return tokens
	}
	moved := map[*token.Position]bool{}
	for _, tk := range tokens {
		if p := tk.Position; p != nil && !moved[p] {
			p.Line = s.line(p.Line)
			moved[p] = true
		}
	}
	return tokens
}

// regionFor returns the region holding the list at path when the parser
// saw its key where the scan found it, with no value of its own.
func (d *decoder) regionFor(path string, n ast.Node) *listRegion {
	r := d.regions[path]
	if r == nil || !isNull(n) {
		return nil
	}
	if at := d.pos[path]; at.line != r.keyLine || at.col != r.keyCol {
		return nil
	}
	r.claimed = true
	return r
}

// sizeHint is how many entries the list at path may have, as room to
// make for them: the lines of its region.
func (d *decoder) sizeHint(path string) int {
	if r := d.regions[path]; r != nil {
		return r.newlines + 1
	}
	return 0
}

// eachItem decodes the list at path (the value n), calling each with
// every entry that is a mapping of allowed keys: the node (for messages),
// its fields, and whether every key was usable. fast, when given, is
// offered each one-line entry first, as scanned by the reader: it takes
// the entry when it can decode it without nodes, and leaves to each,
// taking nothing, every entry it does not know to be good. A long list
// is found and decoded by fast in parts at once (splitScan) before
// anything is taken, in order, here.
func (d *decoder) eachItem(n ast.Node, path string, allowed []string, fast fastDecoder, each func(i int, item ast.Node, f *fields, clean bool)) {
	r := d.regionFor(path, n)
	if d.capped {
		return
	}
	if r == nil {
		items, _ := d.list(n, path)
		for i, item := range items {
			if f, clean := d.mapping(item, index(path, i), allowed...); f != nil {
				each(i, item, f, clean)
			}
		}
		return
	}
	idx := &itemIndex{}
	d.lists[path] = idx
	if !fastEntries {
		fast = nil
	}
	// split is set when the list was read in parts (splitScan), which
	// decoded entry i into slot i when braces[i] is not -1.
	var braces []int32
	split := false
	if fast != nil {
		placed := d.splitScan(r, allowed, fast)
		if placed == nil {
			fast.prepare(0, fast.slots())
		} else {
			if fast.takeAll(len(placed.lines)) {
				*idx = *placed
				return
			}
			split, braces = true, placed.offs
		}
		idx.lines, idx.offs = make([]int32, 0, len(braces)), make([]int32, 0, len(braces))
	}
	fl := newFlowReader(allowed)
	off, lineNo := r.start, r.startLine
	for i := 0; ; i++ {
		slot, scanned := i, false
		if split && i == len(braces) || off >= r.end {
			break
		}
		e, ok := r.entryAt(d.data, off, lineNo, r.end)
		if !ok {
			break
		}
		if split {
			e.brace = braces[i]
		}
		off, lineNo = int(e.off), int(e.line)
		end, endLine := int(e.end), int(e.endLine)
		oneLine := e.end == e.next
		var first []byte
		if !split && oneLine {
			first, _, _ = lineAt(d.data, off)
			if scanned = fl.scan(first); scanned {
				slot = -1
				if fast != nil && fast.decode(slot, fl) {
					e.brace = int32(off + fl.brace)
				}
			}
		}
		if e.brace >= 0 && fast.take(i, slot) {
			idx.add(lineNo, int(e.brace))
			off, lineNo = end, endLine
			continue
		}
		if oneLine && split {
			first, _, _ = lineAt(d.data, off)
			scanned = fl.scan(first)
		}
		if scanned {
			if f, item, ok := fl.nodes(lineNo, index(path, i)); ok {
				idx.add(lineNo, off+fl.brace)
				each(i, item, f, true)
				off, lineNo = end, endLine
				continue
			}
		}
		itemPath := index(path, i)
		idx.add(lineNo, -1)
		item, err := d.parseEntry(d.data[off:end], lineNo)
		if err != nil {
			d.errs = append(d.errs, err)
			if d.capped || len(d.errs) > maxFileErrors {
				return
			}
		} else {
			d.pos[itemPath] = nodePos(item)
			if f, clean := d.mapping(item, itemPath, allowed...); f != nil {
				each(i, item, f, clean)
			}
		}
		off, lineNo = end, endLine
	}
}

// parseEntry parses one list entry that is not a one-line flow mapping
// of plain scalars: its lines, from line on, as the parser would read
// them in the file, within what is left of the file's value cap.
func (d *decoder) parseEntry(text []byte, line int) (ast.Node, error) {
	nodes, err := countShape(d.file, text, shapeLimits{depth: d.lim.depth, nodes: d.budget, keys: d.lim.keys, note: d.lim.note, cap: d.lim.nodes})
	if err != nil {
		var fe *FileError
		if errors.As(err, &fe) && fe.Line > 0 {
			fe.Line += line - 1
		}
		d.capped = true
		return nil, err
	}
	d.budget -= nodes
	if d.textLeft -= len(text); d.textLeft < 0 {
		d.capped = true
		return nil, &FileError{File: d.file, Line: line, Msg: fmt.Sprintf("more than %d bytes of YAML nictab would have to parse, more than it reads %s; write routes and rules one to a line: - {table: …, to: …}", d.lim.text, d.lim.note)}
	}
	tokens := lexer.Tokenize(string(text))
	moved := map[*token.Position]bool{}
	for _, tk := range tokens {
		if p := tk.Position; p != nil && !moved[p] {
			p.Line += line - 1
			moved[p] = true
		}
	}
	f, err := parser.Parse(tokens, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		fe := &FileError{File: d.file, Line: line, Msg: "YAML: " + err.Error()}
		var ye yaml.Error
		if errors.As(err, &ye) {
			fe.Msg = "YAML: " + ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				fe.Line, fe.Column = tk.Position.Line, tk.Position.Column
			}
		}
		return nil, fe
	}
	if len(f.Docs) == 1 && f.Docs[0] != nil {
		if s, ok := f.Docs[0].Body.(*ast.SequenceNode); ok && len(s.Values) == 1 {
			// An entry with nothing after its "-" is placed at the dash:
			// the parser's column for it depends on what follows.
			if n, null := s.Values[0].(*ast.NullNode); null && n.Token != nil && n.Token.Position != nil && s.Start != nil && s.Start.Position != nil {
				n.Token.Position.Column = s.Start.Position.Column
			}
			return s.Values[0], nil
		}
	}
	return nil, &FileError{File: d.file, Line: line, Msg: "this line does not continue the list above it"}
}

// itemIndex records where each entry of a list read by eachItem is: its
// line, and the offset of the "{" of a one-line entry (-1 for others,
// whose fields are in the decoder's positions). Two numbers an entry,
// where a position per field would cost a map entry each.
type itemIndex struct {
	lines []int32
	offs  []int32
}

func (x *itemIndex) add(line, off int) {
	x.lines = append(x.lines, int32(line))
	x.offs = append(x.offs, int32(off))
}

// at is where the field path p is in the file: from the positions the
// decoder kept, or, within an entry of a list read line by line, found
// again on the entry's line.
func (o *fileOrigin) at(p string) (filePos, bool) {
	if at, ok := o.pos[p]; ok {
		return at, true
	}
	open := strings.IndexByte(p, '[')
	if open < 0 || o.lists == nil {
		return filePos{}, false
	}
	x := o.lists[p[:open]]
	shut := strings.IndexByte(p[open:], ']')
	if x == nil || shut < 0 {
		return filePos{}, false
	}
	i, err := strconv.Atoi(p[open+1 : open+shut])
	if err != nil || i < 0 || i >= len(x.offs) || x.offs[i] < 0 {
		return filePos{}, false
	}
	off := int(x.offs[i])
	lineStart := bytes.LastIndexByte(o.data[:off], '\n') + 1
	at := filePos{line: int(x.lines[i]), col: off - lineStart + 1}
	key, ok := strings.CutPrefix(p[open+shut+1:], ".")
	if !ok || strings.ContainsAny(key, ".[") {
		return at, p[open+shut+1:] == ""
	}
	line, _, _ := lineAt(o.data, lineStart)
	want := []byte(key + ": ")
	for k := bytes.Index(line, want); k > 0; {
		if c := line[k-1]; c == '{' || c == ',' || c == ' ' {
			v := k + len(want)
			for v < len(line) && line[v] == ' ' {
				v++
			}
			return filePos{line: at.line, col: v + 1}, true
		}
		next := bytes.Index(line[k+1:], want)
		if next < 0 {
			break
		}
		k += 1 + next
	}
	return filePos{}, false
}
