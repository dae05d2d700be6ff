package format

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// decoder walks the YAML tree of a snapshot file. It is written by hand
// over the parser's tree, rather than left to struct decoding, because the
// file needs what struct tags cannot say: fields that take an id or a
// name, one address or a list, an integer or a "value/mask" string; every
// problem reported at once, each with its field path; unknown keys listed
// with the allowed ones; and the position of every field kept for Locate.
type decoder struct {
	file string
	errs []error
	pos  map[string]filePos
	// checksumLine is the line verifyChecksum found the checksum on; 0
	// when it found none.
	checksumLine int

	// For the lists read entry by entry (file_lists.go): the file, the
	// lists findRegions found, where each entry read is, the caps, and
	// the values and bytes the parser may still be given.
	data     []byte
	regions  map[string]*listRegion
	lists    map[string]*itemIndex
	lim      shapeLimits
	budget   int
	textLeft int
	// capped is set when an entry passed a cap: nothing more is read.
	capped bool
	// runs are the lines of the lists read in parts that the check of
	// the whole file may skip (lineRun).
	runs []lineRun
	// ahead is the room of the long lists, by path (mapAhead).
	ahead map[string]*roomAhead
}

func newDecoder(name string, data []byte, sumLine int, lim shapeLimits, regions []listRegion) *decoder {
	d := &decoder{file: name, pos: map[string]filePos{}, checksumLine: sumLine, data: data,
		regions: map[string]*listRegion{}, lists: map[string]*itemIndex{}, ahead: map[string]*roomAhead{}, lim: lim, budget: lim.nodes, textLeft: lim.text}
	for i := range regions {
		if _, dup := d.regions[regions[i].path]; !dup {
			d.regions[regions[i].path] = &regions[i]
		}
	}
	return d
}

func (d *decoder) origin() *fileOrigin {
	o := &fileOrigin{file: d.file, pos: d.pos}
	if len(d.lists) > 0 {
		o.lists, o.data = d.lists, d.data
	}
	return o
}

// itemLine is the line of entry i of the list at path.
func (d *decoder) itemLine(path string, i int) int {
	if x := d.lists[path]; x != nil && i < len(x.lines) {
		return int(x.lines[i])
	}
	return d.pos[index(path, i)].line
}

// maxFileErrors bounds the problems reported for one file: a file of
// thousands of bad entries would otherwise cost more to report than to
// parse.
const maxFileErrors = 20

func (d *decoder) failAt(p filePos, field, format string, a ...any) {
	if len(d.errs) > maxFileErrors {
		return
	}
	if len(d.errs) == maxFileErrors {
		d.errs = append(d.errs, &FileError{File: d.file, Line: p.line, Column: p.col, Msg: fmt.Sprintf("more problems after these %d are not listed", maxFileErrors)})
		return
	}
	d.errs = append(d.errs, &FileError{File: d.file, Line: p.line, Column: p.col, Field: field, Msg: fmt.Sprintf(format, a...)})
}

func (d *decoder) fail(n ast.Node, field, format string, a ...any) {
	d.failAt(nodePos(n), field, format, a...)
}

// nodePos is where a node starts. A block mapping's own token is its first
// colon, so the first key stands for it.
func nodePos(n ast.Node) filePos {
	if m, ok := n.(*ast.MappingNode); ok && !m.IsFlowStyle && len(m.Values) > 0 {
		return nodePos(m.Values[0].Key)
	}
	if n == nil {
		return filePos{}
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return filePos{tk.Position.Line, tk.Position.Column}
	}
	return filePos{}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// describe names what a node is, for "want X, got Y" messages.
func describe(n ast.Node) string {
	switch v := n.(type) {
	case nil, *ast.NullNode:
		return "nothing"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.BoolNode:
		return "true/false"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "the number " + v.GetToken().Value
	case *ast.StringNode:
		return fmt.Sprintf("the string %q", v.Value)
	case *ast.LiteralNode:
		return "a block of text"
	}
	return "a " + strings.ToLower(n.Type().String())
}

// unsupported refuses the YAML features a snapshot file does without.
// Anchors and aliases would let one value stand in many places (and, nested,
// grow exponentially); a person's file never needs them.
func (d *decoder) unsupported(n ast.Node, path string) bool {
	switch n.(type) {
	case *ast.AnchorNode, *ast.AliasNode:
		d.fail(n, path, "YAML anchors and aliases are not used in snapshot files; write the value out")
	case *ast.TagNode:
		d.fail(n, path, "YAML tags (%s) are not used in snapshot files; write the plain value", n.GetToken().Value)
	case *ast.MergeKeyNode:
		d.fail(n, path, "YAML merge keys (<<) are not used in snapshot files; write the keys out")
	default:
		return false
	}
	return true
}

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return n == nil || ok
}

// fields is one decoded mapping: the value of each key it has.
type fields struct {
	path string
	node ast.Node
	vals map[string]ast.Node
	// refused holds the keys given with a value already reported as
	// unusable, so they are not reported missing as well.
	refused map[string]bool
}

// has reports whether key was given a value; a key given null counts as
// absent, as in most YAML consumers.
func (f *fields) has(key string) bool { return !isNull(f.vals[key]) }

// mapping decodes n as a mapping whose keys must be among allowed,
// recording the position of each value under its field path. It returns
// nil when n is not a mapping; ok is false when a key was refused, and the
// keys that were not are still returned, so their problems are reported in
// the same run.
func (d *decoder) mapping(n ast.Node, path string, allowed ...string) (*fields, bool) {
	if d.unsupported(n, path) {
		return nil, false
	}
	var pairs []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		pairs = m.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{m}
	default:
		d.fail(n, path, "want a mapping (key: value), got %s", describe(n))
		return nil, false
	}
	f := &fields{path: path, node: n, vals: map[string]ast.Node{}, refused: map[string]bool{}}
	first := map[string]filePos{}
	ok := true
	for _, kv := range pairs {
		if d.unsupported(kv.Key, path) || d.unsupported(kv.Value, join(path, keyText(kv.Key))) {
			f.refused[keyText(kv.Key)] = true
			ok = false
			continue
		}
		key := keyText(kv.Key)
		at := nodePos(kv.Key)
		field := join(path, key)
		if _, isScalar := kv.Key.(ast.ScalarNode); !isScalar || key == "" {
			d.failAt(at, path, "a key must be a plain word (one of %s)", strings.Join(allowed, ", "))
			ok = false
			continue
		}
		if !slices.Contains(allowed, key) {
			msg := fmt.Sprintf("unknown key %q (allowed here: %s)", key, strings.Join(allowed, ", "))
			if s := suggest(key, allowed); s != "" {
				msg += fmt.Sprintf("; did you mean %s?", s)
			}
			d.failAt(at, field, "%s", msg)
			ok = false
			continue
		}
		if p, dup := first[key]; dup {
			d.failAt(at, field, "given twice (first on line %d)", p.line)
			ok = false
			continue
		}
		first[key] = at
		f.vals[key] = kv.Value
		if isNull(kv.Value) {
			d.pos[field] = at
		} else {
			d.pos[field] = nodePos(kv.Value)
		}
	}
	return f, ok
}

func keyText(k ast.Node) string {
	switch v := k.(type) {
	case *ast.StringNode:
		return v.Value
	case ast.ScalarNode:
		if tk := v.GetToken(); tk != nil {
			return tk.Value
		}
	}
	return ""
}

// require reports each of keys the mapping lacks.
func (d *decoder) require(f *fields, keys ...string) bool {
	ok := true
	for _, k := range keys {
		if f.refused[k] {
			ok = false
			continue
		}
		if !f.has(k) {
			d.fail(f.node, join(f.path, k), "missing: %s needs %s:", describeSection(f.path), k)
			ok = false
		}
	}
	return ok
}

func describeSection(path string) string {
	if path == "" {
		return "the file"
	}
	return path
}

// list decodes n as a list, recording each element's position. Null is an
// empty list.
func (d *decoder) list(n ast.Node, path string) ([]ast.Node, bool) {
	if isNull(n) {
		return nil, true
	}
	if d.unsupported(n, path) {
		return nil, false
	}
	s, ok := n.(*ast.SequenceNode)
	if !ok {
		d.fail(n, path, "want a list (- item, or [a, b]), got %s", describe(n))
		return nil, false
	}
	for i, v := range s.Values {
		d.pos[index(path, i)] = nodePos(v)
	}
	return s.Values, true
}

// text decodes a scalar as text. Numbers and booleans are taken as they
// are written: a comment or host name may well look like one.
func (d *decoder) text(n ast.Node, path string) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		if v.Value != nil {
			return v.Value.Value, true
		}
		return "", true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	}
	if !d.unsupported(n, path) {
		d.fail(n, path, "want text, got %s", describe(n))
	}
	return "", false
}

// word decodes a one-line scalar: names, ids and versions, which a stray
// newline or tab would make unreadable in every listing.
func (d *decoder) word(n ast.Node, path string) (string, bool) {
	s, ok := d.text(n, path)
	if !ok {
		return "", false
	}
	if s == "" {
		d.fail(n, path, "must not be empty")
		return "", false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			d.fail(n, path, "%q holds a control character", s)
			return "", false
		}
	}
	return s, true
}

// quoted reports whether a scalar was written in quotes.
func quoted(n ast.Node) bool {
	s, ok := n.(*ast.StringNode)
	if !ok || s.Token == nil {
		return false
	}
	return s.Token.Type == token.DoubleQuoteType || s.Token.Type == token.SingleQuoteType
}

// numText returns the text of a scalar written as a number. Integers too
// large for the YAML parser reach us as plain strings, so those count too:
// the message should say "too large", not "not a number".
func (d *decoder) numText(n ast.Node, path string) (string, bool) {
	switch v := n.(type) {
	case *ast.IntegerNode:
		return v.GetToken().Value, true
	case *ast.StringNode:
		if !quoted(n) && looksNumeric(v.Value) {
			return v.Value, true
		}
		if quoted(n) && looksNumeric(v.Value) {
			d.fail(n, path, "want an integer, got the string %q: write it without quotes", v.Value)
			return "", false
		}
	}
	if !d.unsupported(n, path) {
		d.fail(n, path, "want an integer, got %s", describe(n))
	}
	return "", false
}

func looksNumeric(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	return s != "" && s[0] >= '0' && s[0] <= '9'
}

// uint decodes an integer from 0 to hi; rng says what the valid range is,
// for the message when the value is outside it.
func (d *decoder) uint(n ast.Node, path string, hi uint64, rng string) (uint64, bool) {
	s, ok := d.numText(n, path)
	if !ok {
		return 0, false
	}
	v, err := parseNum(s)
	switch {
	case errors.Is(err, errNegative), errors.Is(err, strconv.ErrRange), err == nil && v > hi:
		d.fail(n, path, "%s is out of range: %s", s, rng)
		return 0, false
	case err != nil:
		d.fail(n, path, "%v", err)
		return 0, false
	}
	return v, true
}

var errNegative = errors.New("negative")

// parseNum reads a non-negative integer: decimal, 0x hex or 0o octal.
// A decimal with a leading zero is refused: YAML 1.1 reads 013 as octal
// and YAML 1.2 as thirteen, and a person should not have to know which.
func parseNum(s string) (uint64, error) {
	t := strings.TrimPrefix(s, "+")
	if strings.HasPrefix(t, "-") {
		if v, err := strconv.ParseUint(t[1:], 0, 64); err == nil && v == 0 {
			return 0, nil
		}
		return 0, errNegative
	}
	base := 10
	switch {
	case strings.HasPrefix(t, "0x"), strings.HasPrefix(t, "0X"):
		base, t = 16, t[2:]
	case strings.HasPrefix(t, "0o"), strings.HasPrefix(t, "0O"):
		base, t = 8, t[2:]
	case len(t) > 1 && t[0] == '0':
		return 0, fmt.Errorf("%s has a leading zero: write %s (or 0o%s for octal)", s, strings.TrimLeft(t, "0"), t[1:])
	}
	v, err := strconv.ParseUint(t, base, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, strconv.ErrRange
		}
		return 0, fmt.Errorf("%q is not an integer", s)
	}
	return v, nil
}

// boolean decodes true or false.
func (d *decoder) boolean(n ast.Node, path string) (bool, bool) {
	if b, ok := n.(*ast.BoolNode); ok {
		return b.Value, true
	}
	if !d.unsupported(n, path) {
		d.fail(n, path, "want true or false, got %s", describe(n))
	}
	return false, false
}

// suggest returns the allowed key closest to a misspelt one, if any is
// close enough to be what was meant.
func suggest(key string, allowed []string) string {
	key = strings.ToLower(key)
	// A key that is the start of an allowed one ("proto" for "protocol")
	// is a better guess than any close spelling.
	for _, a := range allowed {
		if len(key) >= 3 && strings.HasPrefix(a, key) {
			return a
		}
	}
	best, bestDist := "", 3
	for _, a := range allowed {
		if dist := editDistance(key, a); dist < bestDist {
			best, bestDist = a, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
