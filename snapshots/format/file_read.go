package format

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"syscall"
)

// MaxFileSize caps a snapshot file a person gives nictab (`plan -f`,
// `apply -f`, `export -f`, `trace --planned`). Larger files are refused
// before they are read. A file of 1M routes, one
// "- {table: 100, to: 203.0.113.0/24, via: 192.0.2.1, dev: eth0}" line
// each, is about 65 MiB; with longer names and IPv6 lines, 80 MiB.
//
// NOTE: what a file can cost is set by the caps below it, measured
// (BenchmarkParseWorst, BenchmarkParseBig, figures in README.md). The YAML
// parser costs about 1.5 KB and 7 µs a value, 45 bytes a byte of a long
// string, and time that grows with the square of a mapping's keys, so
// what it reads is capped by MaxTextSize and MaxNodes. One-line entries
// of route and rule lists are read without it (file_lists.go), in memory
// linear in the routes (a 144-byte RouteIntent, its key for finding
// duplicates, and 8 bytes of position; a line's worth transient), so they
// are capped by the file's size alone: the worst file for its size, 96 MiB
// of 2.46M minimal routes, took 4.6 s and 1.06 GB of peak RSS to read.
const MaxFileSize = 96 << 20

// MaxTextSize caps the part of a file the YAML parser reads: everything
// but the one-line entries of its route and rule lists.
const MaxTextSize = 1 << 20

// MaxDepth caps how deeply a snapshot file nests (mappings, lists, flow
// brackets). Snapshot files nest about six levels; the parser's cost grows
// steeply with depth ([[[…]]]: 40 KB cost 655 MB).
const MaxDepth = 32

// MaxNodes caps the YAML values the parser reads in a file a person gives
// (keys, scalars, list entries): about 2,000 routes written other than
// one to a line.
const MaxNodes = 30_000

// MaxKeys caps the keys of one mapping, and the entries of one flow list
// ([a, b, …]): the parser's cost grows with the square of their number
// (40,000 keys took 6 s; a flow list of 40,000 entries 3.5 GB), and no
// mapping of a snapshot file has more than the 20 of a saved rule. Block
// lists (one "- " line per entry, as rules and routes are written) grow
// linearly and are capped by MaxNodes only.
const MaxKeys = 64

// MaxStoredSize caps a snapshot of the store. Those files are nictab's
// own, checksummed, in a directory only root may write, and as large as
// the routing nictab manages (an apply of 1M routes saves them twice,
// about 150 MB); they get the depth and key caps but no value cap.
// Exported for the store, which refuses to write a larger one and reads
// no more.
const MaxStoredSize = 512 << 20

const sizeLimitNote = "a snapshot file may be up to 96 MiB"

// shapeLimits are the caps on what the YAML parser reads: depth, values
// and keys (checkShape), and bytes (text).
type shapeLimits struct {
	depth, nodes, keys int
	text               int
	note               string
	// cap is the file's value cap, named in the message when nodes is
	// what is left of it.
	cap int
	// checkOnly keeps nothing of the routes and of the resolved rules
	// decoded (checkLoads).
	checkOnly bool
	// sumKnown says the checksum line at offset sumAt is known to hold
	// the sum of the bytes before it (checkLoads).
	sumKnown bool
	sumAt    int
}

var (
	inputLimits  = shapeLimits{depth: MaxDepth, nodes: MaxNodes, keys: MaxKeys, text: MaxTextSize, note: "in a file it is given outside one-line route and rule entries (about 2,000 routes written otherwise)"}
	storedLimits = shapeLimits{depth: MaxDepth, nodes: 1 << 30, keys: MaxKeys, text: MaxStoredSize, note: "in a snapshot of its store"}
)

// ReadInput reads a snapshot file a person names. It reads regular files
// only, so a FIFO cannot block nictab and a device cannot feed it for
// ever; it refuses a file over MaxFileSize before reading it; and it drops
// a UTF-8 byte order mark, which some editors write. Every error is a
// *FileError naming the file.
func ReadInput(path string) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO with no writer must not hang before the
	// file type can be looked at.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, &FileError{File: path, Msg: "cannot read it: " + describeOpenErr(err), err: err}
	}
	defer f.Close()
	return ReadCapped(f, path, MaxFileSize)
}

func describeOpenErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ReadCapped reads an open file, from its start, that must be regular
// and at most limit bytes, both checked on the open file before reading
// and again while reading (a file may grow). Exported for the store,
// which opens its files itself, relative to its trusted directory.
func ReadCapped(f *os.File, name string, limit int64) ([]byte, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, &FileError{File: name, Msg: "cannot read it: " + describeOpenErr(err), err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &FileError{File: name, Msg: fmt.Sprintf("is %s, not a regular file: nictab reads snapshot files from regular files only", fileKind(fi.Mode()))}
	}
	if fi.Size() > limit {
		return nil, &FileError{File: name, Msg: fmt.Sprintf("is %d bytes, more than nictab reads (%s)", fi.Size(), limitNote(limit))}
	}
	if err := syscall.SetNonblock(int(f.Fd()), false); err != nil {
		return nil, &FileError{File: name, Msg: "cannot read it: " + err.Error(), err: err}
	}
	// Room for what stat said, and a byte to see the file grew: ReadAll
	// would grow its buffer by doubling, twice the file in passing.
	data := make([]byte, fi.Size()+1)
	n, err := readFull(f, data)
	switch err {
	case io.EOF, io.ErrUnexpectedEOF:
		data, err = data[:n], nil
	case nil:
		var more []byte
		more, err = io.ReadAll(io.NewSectionReader(f, int64(n), limit+1-int64(n)))
		data = append(data[:n], more...)
	}
	if err != nil {
		return nil, &FileError{File: name, Msg: "cannot read it: " + describeOpenErr(err), err: err}
	}
	if int64(len(data)) > limit {
		return nil, &FileError{File: name, Msg: fmt.Sprintf("grew past %d bytes while being read (%s)", limit, limitNote(limit))}
	}
	return bytes.TrimPrefix(data, []byte("\ufeff")), nil
}

// splitReadMin is the size from which readFull reads a file in two
// halves at once.
const splitReadMin = 2 << 20

// readFull is io.ReadFull of f from its start into data, by pread: a
// large file in two halves at once.
//
// NOTE: most of what a read of a large file costs is the kernel mapping
// the fresh pages it copies into, a fault a page. Read in one, a 6.2 MB
// file of 100k routes took 2.6-2.8 ms; in halves at once, 1.9-2.1
// (medians of 25 runs, twice, on a loaded machine).
func readFull(f *os.File, data []byte) (int, error) {
	if len(data) < splitReadMin || runtime.GOMAXPROCS(0) < 2 {
		return io.ReadFull(io.NewSectionReader(f, 0, int64(len(data))), data)
	}
	half := len(data) / 2
	var n2 int
	var err2 error
	done := make(chan struct{})
	go func() {
		defer close(done)
		n2, err2 = f.ReadAt(data[half:], int64(half))
	}()
	n1, err1 := f.ReadAt(data[:half], 0)
	<-done
	switch {
	case n1 < half:
		// The file ends in the first half (it shrank since stat).
		if err1 == nil || err1 == io.EOF {
			err1 = io.ErrUnexpectedEOF
			if n1 == 0 {
				err1 = io.EOF
			}
		}
		return n1, err1
	case n2 < len(data)-half:
		if err2 == nil || err2 == io.EOF {
			err2 = io.ErrUnexpectedEOF
		}
		return half + n2, err2
	}
	return len(data), nil
}

func limitNote(limit int64) string {
	if limit == MaxFileSize {
		return sizeLimitNote
	}
	return fmt.Sprintf("at most %d bytes here", limit)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file"
}

// checkShape refuses, before the YAML parser sees it, a file that nests
// deeper than its limits, holds more values, or a mapping with more keys.
// It counts generously (brackets in quoted text count too), so what it
// lets through costs the parser at most what the caps were measured at.
func checkShape(name string, data []byte, lim shapeLimits) error {
	_, err := countShape(name, data, lim)
	return err
}

// countShape is checkShape, returning the values it counted.
func countShape(name string, data []byte, lim shapeLimits) (int, error) {
	return countShapeSkipping(name, data, lim, nil)
}

// countShapeSkipping is countShape reading, of each run of lines (sorted
// by where they start), the first and the last only: the verdict is the
// same, but the values are not counted in full, so it is for a check
// with no value cap.
func countShapeSkipping(name string, data []byte, lim shapeLimits, runs []lineRun) (int, error) {
	type level struct{ indent, keys int }
	var blocks []level // the open block levels, by indentation
	var flows []int    // keys of each open flow collection
	nodes, lineStart := 0, 0
	atLineStart, indent := true, 0
	fail := func(off int, format string, a ...any) error {
		l, c := posAt(data, off)
		return &FileError{File: name, Line: l, Column: c, Msg: fmt.Sprintf(format, a...)}
	}
	for i := 0; i < len(data); i++ {
		if !atLineStart {
			// Within a line most bytes change nothing counted here.
			for i < len(data) && shapeInert[data[i]] {
				i++
			}
			if i == len(data) {
				break
			}
		}
		ch := data[i]
		if (ch < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') || ch == 0x7f {
			// YAML allows none of these raw (they can be written escaped
			// in double quotes); printed back, they would drive a terminal.
			return 0, fail(i, "%s", controlMsg(ch))
		}
		if atLineStart {
			switch ch {
			case ' ', '\t':
				indent++
				continue
			case '\n', '\r':
				indent = 0
				if ch == '\n' {
					lineStart = i + 1
				}
				continue
			case '#':
				for i < len(data) && data[i] != '\n' {
					i++
				}
				lineStart, indent = i+1, 0
				continue
			}
			atLineStart = false
			if len(flows) == 0 {
				for len(blocks) > 0 && blocks[len(blocks)-1].indent > indent {
					blocks = blocks[:len(blocks)-1]
				}
				if len(blocks) == 0 || blocks[len(blocks)-1].indent != indent {
					blocks = append(blocks, level{indent: indent})
				}
				// The lines of a large list, taken whole: what they
				// count is known (simpleEntry). Near a cap the bytes are
				// counted one by one, for the place the cap is passed.
				if ch == '-' {
					if end, n, ok := simpleEntry(data, i, lim.keys); ok && len(blocks)+2 <= lim.depth && nodes+n <= lim.nodes {
						blocks = append(blocks, level{indent: i - lineStart + 1})
						nodes += n
						i = end - 1
						for len(runs) > 0 && runs[0].first < lineStart {
							runs = runs[1:]
						}
						if len(runs) > 0 && runs[0].first == lineStart && runs[0].last > lineStart {
							// On to the newline before the run's last
							// line: the lines between leave blocks as
							// this one did.
							i = runs[0].last - 2
						}
						continue
					}
				}
			}
		}
		switch ch {
		case '\n':
			atLineStart, indent = true, 0
			lineStart = i + 1
		case '[', '{':
			flows = append(flows, 0)
			nodes++
		case ']', '}':
			if len(flows) > 0 {
				flows = flows[:len(flows)-1]
			}
		case ',':
			nodes++
			if len(flows) > 0 {
				// An entry of a flow list; in a flow mapping the keys
				// are counted at their colons instead.
				if flows[len(flows)-1]++; flows[len(flows)-1] >= lim.keys {
					return 0, fail(i, "a flow list or mapping with more than %d entries, more than nictab reads", lim.keys)
				}
			}
		case ':', '-':
			if i+1 < len(data) && data[i+1] != ' ' && data[i+1] != '\n' && data[i+1] != '\t' && data[i+1] != '\r' {
				break
			}
			nodes++
			keys := 0
			switch {
			case ch == '-':
			case len(flows) > 0:
				// counted by their commas
			case len(blocks) > 0:
				blocks[len(blocks)-1].keys++
				keys = blocks[len(blocks)-1].keys
			}
			if keys > lim.keys {
				return 0, fail(i, "a mapping with more than %d keys, more than nictab reads", lim.keys)
			}
			// "- " starts a list entry, and "- - x" or "a: - x" nest
			// within one line: each counts as a level.
			if len(flows) == 0 {
				blocks = append(blocks, level{indent: i - lineStart + 1})
			}
		}
		if len(blocks)+len(flows) > lim.depth {
			return 0, fail(i, "nests deeper than %d levels: a snapshot file needs six", lim.depth)
		}
		if nodes > lim.nodes {
			return 0, fail(i, "holds more than %d values, more than nictab reads %s", max(lim.cap, lim.nodes), lim.note)
		}
	}
	return nodes, nil
}

// simpleEntry reads, from the dash at i, a line "- {key: value, …}" of
// plain keys and values (scan's, but values ending in neither ':' nor
// '-'), with nothing after it but spaces. For such a line countShape
// counts the dash, the brace, each key's colon and each comma as values,
// nests two levels below the line's for the dash and the brace, counts
// the commas as the flow mapping's entries and nothing else: it returns
// where the line ends (its newline, or the end of data) and the values,
// or false for any other line, or one of keys entries or more.
func simpleEntry(data []byte, i, keys int) (end, nodes int, ok bool) {
	j := i + 1
	if j >= len(data) || data[j] != ' ' {
		return 0, 0, false
	}
	for j < len(data) && data[j] == ' ' {
		j++
	}
	if j >= len(data) || data[j] != '{' {
		return 0, 0, false
	}
	j++
	nodes, commas := 2, 0
	for {
		for j < len(data) && data[j] == ' ' {
			j++
		}
		k := j
		for j < len(data) && keyByte(data[j]) {
			j++
		}
		if j == k || j+1 >= len(data) || data[j] != ':' || data[j+1] != ' ' {
			return 0, 0, false
		}
		nodes++
		for j++; j < len(data) && data[j] == ' '; j++ {
		}
		if j >= len(data) || !plainStart(data[j]) {
			return 0, 0, false
		}
		for j < len(data) && plainByte(data[j]) {
			j++
		}
		if c := data[j-1]; c == ':' || c == '-' {
			return 0, 0, false
		}
		for j < len(data) && data[j] == ' ' {
			j++
		}
		if j >= len(data) {
			return 0, 0, false
		}
		if data[j] == '}' {
			j++
			break
		}
		if data[j] != ',' {
			return 0, 0, false
		}
		nodes++
		if commas++; commas >= keys {
			return 0, 0, false
		}
		j++
	}
	for j < len(data) && data[j] == ' ' {
		j++
	}
	if j < len(data) && data[j] != '\n' {
		return 0, 0, false
	}
	return j, nodes, true
}

// shapeInert holds the bytes that, within a line, countShape has nothing
// to do for: neither a control character nor a newline, bracket, comma,
// colon or dash.
var shapeInert = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != 0x7f || c == '\t' || c == '\r'
	}
	for _, c := range []byte("\n[]{},:-") {
		t[c] = false
	}
	return t
}()

func controlMsg(ch byte) string {
	return fmt.Sprintf("the file holds the control character 0x%02x; YAML allows it only escaped in double quotes (\"\\x%02x\")", ch, ch)
}
