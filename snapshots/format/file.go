package format

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/nictab/nictab/netcfg"
)

// FileError is bad input in a snapshot file, tied to where it is: the
// file, the line and column (1-based; 0 when unknown) and the field path
// ("nics[0].gateway").
type FileError struct {
	File         string
	Line, Column int
	Field        string
	Msg          string
	// err is what the error stands for beyond its text (ErrChecksum, or
	// the *netcfg.FieldError that Locate placed), so errors.Is and
	// errors.As see through it.
	err error
}

// Error reads "FILE:LINE:COL: FIELD: MSG", leaving out the parts that are
// not known, so editors and terminals can jump to the place.
func (e *FileError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	}
	if e.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Column))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

func (e *FileError) Unwrap() error { return e.err }

// ErrChecksum marks a file whose checksum line does not match its content:
// it changed after nictab wrote it, by damage or by hand. The store lists
// such files as damaged rather than trusting them for a rollback.
var ErrChecksum = errors.New("snapshot checksum does not match its content")

// filePos is a 1-based line and column.
type filePos struct{ line, col int }

// fileOrigin records where a parsed snapshot came from: its file name and
// the position of every field path, for Locate.
type fileOrigin struct {
	file string
	pos  map[string]filePos
	// lists and data place the entries of lists read line by line
	// (file_lists.go), which keep no position per field.
	lists map[string]*itemIndex
	data  []byte
}

// Load reads and parses a snapshot file.
func Load(path string) (*Snapshot, error) {
	// The collector is held off from before the read, sized by what stat
	// says: the room the file is read into would otherwise start a
	// collection, which then marks beside the parse (quietLoad).
	//
	// NOTE: held after the read, `apply -f` of 100k routes ran its first
	// collection on the 6 MB of the read (GODEBUG=gctrace=1): its
	// "file parsed" phase took 33.9 ms against 29.4 held before (medians
	// of 11 alternated runs, on a loaded machine).
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() <= MaxFileSize {
		defer quietLoad(int(fi.Size()))()
	}
	data, err := ReadInput(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse decodes a snapshot file strictly: unknown keys, wrong types,
// missing fields, out-of-range values and duplicates are all refused. name
// is used in messages. Every error is a *FileError; several are joined
// with errors.Join.
func Parse(name string, data []byte) (*Snapshot, error) {
	return parseWith(name, data, inputLimits)
}

func parseWith(name string, data []byte, lim shapeLimits) (*Snapshot, error) {
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &FileError{File: name, Line: 1, Column: 1, Field: "version", Msg: "the file is empty; a snapshot file starts with version: 1"}
	}
	// The lists are found first, so that the room of a long one is
	// mapped beside the checks of the whole file (mapAhead).
	var regions []listRegion
	var ahead map[string]*roomAhead
	if readListsByLine {
		regions = findRegions(data)
		ahead = mapAhead(regions, lim)
	}
	sumAt := -1
	if lim.sumKnown {
		sumAt = lim.sumAt
	}
	sumLine, err := verifyChecksumAt(name, data, sumAt)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(data) {
		line, col := posAt(data, invalidUTF8At(data))
		return nil, &FileError{File: name, Line: line, Column: col, Msg: "the file is not valid UTF-8"}
	}
	if len(regions) > 0 {
		if s, err, read := parseLists(name, data, sumLine, lim, regions, ahead); read {
			return s, err
		}
	}
	return parseWhole(name, data, sumLine, lim)
}

// parseWhole reads the whole file through the YAML parser.
func parseWhole(name string, data []byte, sumLine int, lim shapeLimits) (*Snapshot, error) {
	if len(data) > lim.text {
		return nil, &FileError{File: name, Msg: fmt.Sprintf("holds %d bytes of YAML nictab would have to parse, more than the %d it reads %s; write routes and rules one to a line: - {table: …, to: …}", len(data), lim.text, lim.note)}
	}
	if err := checkShape(name, data, lim); err != nil {
		return nil, err
	}
	root, err := parseYAML(name, data)
	if err != nil {
		return nil, err
	}
	d := newDecoder(name, data, sumLine, lim, nil)
	s := d.snapshot(root)
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...)
	}
	s.origin = d.origin()
	return s, nil
}

// checkLoads parses a file as the store will, keeping nothing of its
// routes: Marshal reads back what it wrote only to know that it loads,
// and a second copy of a large snapshot's routes (144 bytes a route of
// the intent, 336 of the resolved section) would double what saving it
// costs. sumAt is where Marshal wrote the checksum line, whose sum it
// made of every byte before that offset: when the check finds the line
// there, it does not hash the file again.
//
// Every line is read and decoded as Load reads it, with the same
// decoders: the guarantee is that Load of these bytes succeeds. Parse
// keeping nothing finds the same problems as Parse keeping everything,
// but for the words of a message about duplicates (which need the first
// entry), so a file that fails is parsed again keeping everything, for
// the message Load would give.
func checkLoads(data []byte, sumAt int) error {
	lim := storedLimits
	lim.checkOnly, lim.sumKnown, lim.sumAt = true, true, sumAt
	if _, err := parseWith("", data, lim); err != nil {
		_, err = parseWith("", data, storedLimits)
		if err == nil {
			return errors.New("the check keeping nothing refused what Load takes")
		}
		return err
	}
	return nil
}

// readListsByLine is turned off only by the test that holds the line
// reader to the parser.
var readListsByLine = true

// wholeShape starts the check parseLists makes of the whole file: depth,
// keys and raw control characters, as in a file read whole (the values
// the parser is given are counted outside the lists and in the entries
// it reads).
//
// NOTE: that check reads every byte (6 ms of a 100k-route file), and
// what comes before its verdict is pure and bounded by caps of its own:
// it runs on the other core from the start, beside the checksum, the
// UTF-8 check, the search for the lists and their reading, and its error,
// when it finds one, is the one returned after those, as when it ran
// between them. A file read whole drops it and checks its own shape.
func wholeShape(name string, data []byte, lim shapeLimits) <-chan error {
	shape := make(chan error, 1)
	go func() {
		_, err := countShape(name, data, wholeLimits(lim))
		shape <- err
	}()
	return shape
}

func wholeLimits(lim shapeLimits) shapeLimits {
	lim.nodes = math.MaxInt
	return lim
}

// wholeShapeSkipping is wholeShape's check for a file whose long lists
// were read in parts, made after them: of the lines the parts found
// countShape takes whole (runs), it reads the first and the last of each
// run (countShapeSkipping).
//
// NOTE: run beside the parts, the check read every byte of the file
// again, on the core they needed: 5-6 ms of CPU of a 100k-route file
// (simpleEntry was a tenth of its CPU samples). Made after them, it costs
// what the rest of the file does, and the parts took 8.5 ms instead of
// 9.5 (minimum of 15 runs on a loaded machine).
func wholeShapeSkipping(name string, data []byte, lim shapeLimits, runs []lineRun) error {
	slices.SortFunc(runs, func(a, b lineRun) int { return a.first - b.first })
	_, err := countShapeSkipping(name, data, wholeLimits(lim), runs)
	return err
}

// partsRead reports whether long lists are read in parts.
func partsRead() bool {
	return splitting && fastEntries && readListsByLine && runtime.GOMAXPROCS(0) >= 2
}

// readInParts reports whether a list of regions is long enough to be read
// in parts by a fast decoder (splitScan): the shape check of the whole
// file then waits for the parts, which find the lines it may skip.
func readInParts(regions []listRegion) bool {
	if !partsRead() {
		return false
	}
	for _, r := range regions {
		if (r.path == "routes" || r.path == "resolved.routes") && r.newlines+1 >= splitMin {
			return true
		}
	}
	return false
}

// parseLists reads a file whose route and rule lists findRegions found:
// the rest of it through the YAML parser, the lists entry by entry. read
// is false when the parser did not see a list where the scan did (the
// file is then read whole). The shape check of the whole file runs
// beside the rest (wholeShape), or after the lists when they are read in
// parts (wholeShapeSkipping); its error comes first.
func parseLists(name string, data []byte, sumLine int, lim shapeLimits, regions []listRegion, ahead map[string]*roomAhead) (s *Snapshot, err error, read bool) {
	var shape <-chan error
	if lim.checkOnly || !readInParts(regions) {
		// A check keeps no route, so has no room to read a list in
		// parts into (splitScan), and no runs to skip: checked after
		// its lists, Marshal's read-back of 100k routes took 63 ms
		// instead of 50-55 (BenchmarkMarshalBig's snapshot).
		shape = wholeShape(name, data, lim)
	}
	var runs []lineRun
	s, err, read = parseListsChecked(name, data, sumLine, lim, regions, ahead, &runs)
	var shapeErr error
	if shape != nil {
		shapeErr = <-shape
	} else {
		shapeErr = wholeShapeSkipping(name, data, lim, runs)
	}
	if shapeErr != nil {
		return nil, shapeErr, true
	}
	return s, err, read
}

// parseListsChecked is parseLists but for the check of the whole file.
func parseListsChecked(name string, data []byte, sumLine int, lim shapeLimits, regions []listRegion, ahead map[string]*roomAhead, runs *[]lineRun) (s *Snapshot, err error, read bool) {
	d := newDecoder(name, data, sumLine, lim, regions)
	if ahead != nil {
		d.ahead = ahead
	}
	rest, shifts := cutRegions(data, regions)
	text := len(data)
	for _, r := range regions {
		text -= r.end - r.start
	}
	if text > lim.text {
		return nil, &FileError{File: name, Msg: fmt.Sprintf("holds %d bytes of YAML outside its route and rule lists, more than the %d nictab reads %s", text, lim.text, lim.note)}, true
	}
	nodes, err := countShape(name, rest, lim)
	if err != nil {
		shifts.place(err)
		return nil, err, true
	}
	root, err := parseTokens(name, shifts.tokens(rest))
	if err != nil {
		return nil, err, true
	}
	d.budget, d.textLeft = lim.nodes-nodes, lim.text-text
	s = d.snapshot(root)
	*runs = d.runs
	// A list the parser did not see where the scan found it means the
	// scan misread the file (or the decoder stopped before the lists).
	for _, r := range d.regions {
		if !r.claimed {
			return nil, nil, false
		}
	}
	if len(d.errs) > 0 {
		return nil, errors.Join(d.errs...), true
	}
	s.origin = d.origin()
	return s, nil, true
}

// parseYAML runs the YAML parser and returns the body of the file's one
// document.
func parseYAML(name string, data []byte) (ast.Node, error) {
	return parseTokens(name, lexer.Tokenize(string(data)))
}

// parseTokens is parseYAML of the tokens of a file, as the lexer made
// them (parser.ParseBytes).
func parseTokens(name string, tokens token.Tokens) (ast.Node, error) {
	// Duplicate keys are found by the decoder, which can name the field
	// path and both lines.
	f, err := parser.Parse(tokens, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		fe := &FileError{File: name, Msg: "YAML: " + err.Error()}
		var ye yaml.Error
		if errors.As(err, &ye) {
			fe.Msg = "YAML: " + ye.GetMessage()
			if tk := ye.GetToken(); tk != nil && tk.Position != nil {
				fe.Line, fe.Column = tk.Position.Line, tk.Position.Column
			}
		}
		return nil, fe
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		if body != nil {
			p := nodePos(doc.Body)
			return nil, &FileError{File: name, Line: p.line, Column: p.col, Msg: "a second YAML document: a snapshot file holds exactly one (remove the --- line)"}
		}
		body = doc.Body
	}
	if body == nil {
		return nil, &FileError{File: name, Line: 1, Column: 1, Field: "version", Msg: "the file holds only comments; a snapshot file starts with version: 1"}
	}
	return body, nil
}

// ChecksumPrefix starts the checksum line. Exported for the store, which
// seals its JSON state files with the same line.
const ChecksumPrefix = "checksum:"

// VerifyChecksum checks the checksum line, when the file has one, and
// returns its line number (0 without one). The checksum covers every byte
// before its line, so it needs no YAML to check: a damaged file is
// reported as damaged, not as a syntax error somewhere in the damage.
// Exported for the store, which checks its files and JSON state with it.
func VerifyChecksum(name string, data []byte) (int, error) {
	return verifyChecksumAt(name, data, -1)
}

// verifyChecksumAt is verifyChecksum for a file whose checksum line, if it
// is found at offset sumAt, is known to hold the sum of the bytes before
// it.
func verifyChecksumAt(name string, data []byte, sumAt int) (int, error) {
	// The first line that starts with the prefix.
	start, line := -1, 1
	if bytes.HasPrefix(data, []byte(ChecksumPrefix)) {
		start = 0
	} else if i := checksumLineAt(data); i >= 0 {
		start = i
		line = bytes.Count(data[:start], []byte{'\n'}) + 1
	}
	if start < 0 {
		return 0, nil
	}
	rest := data[start:]
	text, after := rest, []byte(nil)
	if i := bytes.IndexByte(rest, '\n'); i >= 0 {
		text, after = rest[:i], rest[i+1:]
	}
	bad := func(col int, msg string) (int, error) {
		return line, &FileError{File: name, Line: line, Column: col, Field: "checksum", Msg: msg, err: ErrChecksum}
	}
	if rem := bytes.TrimSpace(after); len(rem) > 0 {
		l, c := posAt(data, len(data)-len(after)+bytes.Index(after, rem[:1]))
		return line, &FileError{File: name, Line: l, Column: c, Field: "checksum",
			Msg: "nothing may follow the checksum line: it covers every byte before it (delete the checksum line if you edited the file)", err: ErrChecksum}
	}
	val := string(text[len(ChecksumPrefix):])
	if i := strings.Index(val, " #"); i >= 0 {
		val = val[:i]
	}
	val = strings.TrimSpace(val)
	col := len(ChecksumPrefix) + 1 + strings.Index(string(text[len(ChecksumPrefix):]), val)
	digits, ok := strings.CutPrefix(val, "sha256:")
	want, err := hex.DecodeString(digits)
	if !ok || err != nil || len(want) != sha256.Size {
		return bad(col, fmt.Sprintf("%q is not a checksum nictab writes: want sha256: and 64 hex digits", val))
	}
	if start == sumAt {
		return line, nil
	}
	if got := sha256.Sum256(data[:start]); !bytes.Equal(got[:], want) {
		return bad(col, "does not match the content: the file changed after nictab wrote it (delete the checksum line if you edited it on purpose)")
	}
	return line, nil
}

// checksumLineAt is the offset of the first line after the file's first
// that starts with ChecksumPrefix, or -1: bytes.Index of "\n" and the
// prefix, which compares at every byte once its first byte, a newline,
// proves common (2.5 ms of a 100k-route file). This search skips to each
// "k" instead (none in a file of routes), and searches as bytes.Index
// does from the first "k" that is one too many.
func checksumLineAt(data []byte) int {
	const at = 4 // ChecksumPrefix[at] == 'k'
	for i, fails := 0, 0; ; fails++ {
		j := bytes.IndexByte(data[i:], ChecksumPrefix[at])
		if j < 0 {
			return -1
		}
		if k := i + j - at; k >= 1 && data[k-1] == '\n' && bytes.HasPrefix(data[k:], []byte(ChecksumPrefix)) {
			return k
		}
		i += j + 1
		if fails > 4+i>>4 {
			// Every line whose "k" is before i was looked at: what is
			// left starts at a newline at i-at-1 or after.
			from := max(i-at-1, 0)
			if n := bytes.Index(data[from:], []byte("\n"+ChecksumPrefix)); n >= 0 {
				return from + n + 1
			}
			return -1
		}
	}
}

// Checksum returns the checksum line's value for content: the sha256 of
// every byte before the line. Exported for the store's JSON state files.
func Checksum(content []byte) string {
	sum := sha256.Sum256(content)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// posAt converts a byte offset into a 1-based line and column (in
// characters, as editors count them).
func posAt(data []byte, off int) (line, col int) {
	off = min(max(off, 0), len(data))
	before := data[:off]
	line = bytes.Count(before, []byte{'\n'}) + 1
	lineStart := bytes.LastIndexByte(before, '\n') + 1
	return line, utf8.RuneCount(before[lineStart:]) + 1
}

func invalidUTF8At(data []byte) int {
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(data)
}

// Locate points errors found after parsing at the file: each
// *netcfg.FieldError in err (err itself, or any member of an errors.Join)
// becomes a *FileError with the file name and the line and column of its
// field, or of the nearest enclosing element the file has a position for.
// The FileError wraps the FieldError, so errors.As still finds it. Other
// errors pass through unchanged.
func (s *Snapshot) Locate(err error) error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts := j.Unwrap()
		out := make([]error, 0, len(parts))
		for _, p := range parts {
			out = append(out, s.Locate(p))
		}
		return errors.Join(out...)
	}
	var fe *netcfg.FieldError
	if !errors.As(err, &fe) || error(fe) != err {
		return err
	}
	loc := &FileError{Field: fe.Field, Msg: fe.Msg, err: fe}
	if s != nil && s.origin != nil {
		loc.File = s.origin.file
		for p := fe.Field; p != ""; p = parentPath(p) {
			if at, ok := s.origin.at(p); ok {
				loc.Line, loc.Column = at.line, at.col
				break
			}
		}
	}
	return loc
}

// parentPath strips the last step of a field path: "nics[0].gateway[1]"
// → "nics[0].gateway" → "nics[0]" → "nics" → "".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexAny(p, ".["); i >= 0 {
		return p[:i]
	}
	return ""
}
