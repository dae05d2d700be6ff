package format

import (
	"bytes"
	"strings"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"
)

// flowReader reads one-line entries "- {key: value, …}" whose values are
// plain scalars made of letters, digits and . _ : / - (as nictab writes
// them), and gives back the fields the decoder would have got from the
// parser. Anything else (quotes, nesting, a duplicate or unknown key) is
// refused, and the entry goes to the parser, which says what is wrong.
type flowReader struct {
	allowed []string
	f       fields
	node    ast.MappingNode
	start   token.Token
	pos     token.Position
	slots   []flowSlot
	types   map[string]typedText
	// dash and brace are where the line scanned last has its "-" and
	// its "{".
	dash, brace int

	// What scan found on the line: n values, the key (an index into
	// allowed) and the column of each, and for each key of allowed the
	// value given it (-1 for none).
	n      int
	keyOf  []int
	vals   [][]byte
	cols   []int
	slotOf []int
	// guess is the key each position had on the last line scanned.
	guess []int
	// The last values the fast decoders read (file_fast.go).
	lastDev  lastDev
	lastAddr lastAddr
}

type typedText struct {
	typ  token.Type
	text string
}

// flowSlot is the node of one value, reused from entry to entry: the
// decoder keeps positions and decoded values, never the nodes.
type flowSlot struct {
	tk   token.Token
	pos  token.Position
	base ast.BaseNode
	str  ast.StringNode
	num  ast.IntegerNode
	bl   ast.BoolNode
}

func newFlowReader(allowed []string) *flowReader {
	n := len(allowed)
	fl := &flowReader{allowed: allowed, slots: make([]flowSlot, n), types: map[string]typedText{},
		keyOf: make([]int, n), vals: make([][]byte, n), cols: make([]int, n), slotOf: make([]int, n), guess: make([]int, n)}
	for i := range fl.guess {
		fl.guess[i] = -1
	}
	fl.f.vals = map[string]ast.Node{}
	fl.f.refused = map[string]bool{}
	fl.start = token.Token{Type: token.MappingStartType, Value: "{", Origin: "{", Position: &fl.pos}
	fl.node = ast.MappingNode{BaseNode: &ast.BaseNode{}, Start: &fl.start, IsFlowStyle: true}
	fl.f.node = &fl.node
	return fl
}

// plainType is the type the parser gives a plain scalar.
func plainType(s string) token.Type {
	// Addresses and prefixes are most values: text with a "/" or two dots
	// is never a number or a keyword to the parser (toNumber refuses
	// both), so it need not be asked.
	if strings.IndexByte(s, '/') >= 0 || strings.Count(s, ".") >= 2 {
		return token.StringType
	}
	return token.New(s, s, &token.Position{}).Type
}

// The bytes that start a plain value, go on in one, and make a key, as
// tables: scan looks at every byte of a large list.
const (
	byteStart = 1 << iota
	byteValue
	byteKey
)

var byteClass = func() (t [256]uint8) {
	for c := range t {
		b := byte(c)
		if b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '.' {
			t[c] |= byteStart | byteValue
		}
		if b == ':' || b == '/' || b == '-' {
			t[c] |= byteValue
		}
		if b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' {
			t[c] |= byteKey
		}
	}
	return t
}()

func plainStart(c byte) bool { return byteClass[c]&byteStart != 0 }

func plainByte(c byte) bool { return byteClass[c]&byteValue != 0 }

func keyByte(c byte) bool { return byteClass[c]&byteKey != 0 }

// scan splits a line into its keys and values, without typing them
// (nodes types them); it refuses every line that is not a one-line flow
// mapping of plain keys and values.
func (fl *flowReader) scan(line []byte) bool {
	i, n, _, ok := fl.scanFlow(line)
	if !ok {
		return false
	}
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if i < len(line) && (line[i] != '#' || line[i-1] != ' ') {
		return false
	}
	fl.n = n
	return true
}

// scanIn is scan of the line that starts rest, which goes on past the
// line's end: the scan stops at the line's newline as at the end of the
// line scan is given, as no byte it takes is a newline or a carriage
// return. It returns where the next line starts (the end of rest when
// none does), and whether the line is one countShape takes whole
// (simpleEntry): no comment, no carriage return, no value ending in '-'.
// Found so, a line costs no search for its end.
func (fl *flowReader) scanIn(rest []byte) (next int, simple, ok bool) {
	i, n, dashVal, ok := fl.scanFlow(rest)
	if !ok {
		return 0, false, false
	}
	for i < len(rest) && rest[i] == ' ' {
		i++
	}
	switch {
	case i == len(rest):
		next, simple = i, !dashVal
	case rest[i] == '\n':
		next, simple = i+1, !dashVal
	case rest[i] == '\r' && (i+1 == len(rest) || rest[i+1] == '\n'):
		// scan's line ends before a carriage return at its end.
		next = min(i+2, len(rest))
	case rest[i] == '#' && rest[i-1] == ' ':
		if nl := bytes.IndexByte(rest[i:], '\n'); nl >= 0 {
			next = i + nl + 1
		} else {
			next = len(rest)
		}
	default:
		return 0, false, false
	}
	fl.n = n
	return next, simple, true
}

// scanFlow is scan up to the closing brace: it returns the offset after
// it, the values found, and whether one of them ends in '-'.
func (fl *flowReader) scanFlow(line []byte) (end, found int, dashVal, ok bool) {
	for k := range fl.slotOf {
		fl.slotOf[k] = -1
	}
	fl.n = 0
	i := 0
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if !bytes.HasPrefix(line[i:], []byte("- ")) {
		return 0, 0, false, false
	}
	fl.dash = i
	for i += 2; i < len(line) && line[i] == ' '; i++ {
	}
	if i == len(line) || line[i] != '{' {
		return 0, 0, false, false
	}
	fl.brace = i
	n := 0
	for i++; ; {
		for i < len(line) && line[i] == ' ' {
			i++
		}
		k := i
		for i < len(line) && keyByte(line[i]) {
			i++
		}
		if i == k || i+1 >= len(line) || line[i] != ':' || line[i+1] != ' ' {
			return 0, 0, false, false
		}
		key := line[k:i]
		for i++; i < len(line) && line[i] == ' '; i++ {
		}
		v := i
		if i == len(line) || !plainStart(line[i]) {
			return 0, 0, false, false
		}
		for i < len(line) && plainByte(line[i]) {
			i++
		}
		val := line[v:i]
		switch val[len(val)-1] {
		case ':':
			return 0, 0, false, false
		case '-':
			dashVal = true
		}
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) || (line[i] != ',' && line[i] != '}') {
			return 0, 0, false, false
		}
		// The lines of a list mostly give the same keys in the same
		// order: the key the last line had here is tried first.
		if n == len(fl.allowed) {
			return 0, 0, false, false // a key given twice
		}
		j := -1
		if g := fl.guess[n]; g >= 0 && string(key) == fl.allowed[g] {
			j = g
		} else {
			for a, name := range fl.allowed {
				if string(key) == name {
					j = a
					break
				}
			}
		}
		fl.guess[n] = j
		if j < 0 || fl.slotOf[j] >= 0 {
			return 0, 0, false, false
		}
		fl.slotOf[j], fl.keyOf[n], fl.vals[n], fl.cols[n] = n, j, val, v+1
		n++
		if line[i] == '}' {
			i++
			break
		}
		i++
	}
	return i, n, dashVal, true
}

// nodes makes the nodes of the line scan read last, as the parser makes
// them.
func (fl *flowReader) nodes(lineNo int, path string) (*fields, ast.Node, bool) {
	fl.pos = token.Position{Line: lineNo, Column: fl.brace + 1}
	clear(fl.f.vals)
	fl.f.path = path
	for s := range fl.n {
		node, ok := fl.scalar(&fl.slots[s], fl.vals[s], lineNo, fl.cols[s])
		if !ok {
			return nil, nil, false
		}
		fl.f.vals[fl.allowed[fl.keyOf[s]]] = node
	}
	return &fl.f, &fl.node, true
}

// value is the value scan found for key k of allowed (nil when none).
func (fl *flowReader) value(k int) []byte {
	if s := fl.slotOf[k]; s >= 0 {
		return fl.vals[s]
	}
	return nil
}

// typed is the text and type of a plain scalar, as the parser types it.
func (fl *flowReader) typed(val []byte) typedText {
	// Values repeat (tables, gateways, devices): one string each is
	// kept, and typed once.
	c, known := fl.types[string(val)]
	if !known {
		c.text = string(val)
		c.typ = plainType(c.text)
		if len(fl.types) < 4096 {
			fl.types[c.text] = c
		}
	}
	return c
}

// scalar makes the node the parser makes of a plain scalar, typed by the
// parser's own rule (token.New); values it would not read as text, an
// integer or true/false go to the parser.
func (fl *flowReader) scalar(s *flowSlot, val []byte, line, col int) (ast.Node, bool) {
	c := fl.typed(val)
	typ, text := c.typ, c.text
	s.pos = token.Position{Line: line, Column: col}
	s.tk = token.Token{Type: typ, CharacterType: token.CharacterTypeMiscellaneous, Indicator: token.NotIndicator, Value: text, Origin: text, Position: &s.pos}
	switch typ {
	case token.StringType:
		s.str = ast.StringNode{BaseNode: &s.base, Token: &s.tk, Value: text}
		return &s.str, true
	case token.IntegerType, token.BinaryIntegerType, token.OctetIntegerType, token.HexIntegerType:
		s.num = ast.IntegerNode{BaseNode: &s.base, Token: &s.tk}
		return &s.num, true
	case token.BoolType:
		s.bl = ast.BoolNode{BaseNode: &s.base, Token: &s.tk, Value: text == "true" || text == "True" || text == "TRUE"}
		return &s.bl, true
	}
	return nil, false
}
