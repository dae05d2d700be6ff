package snapshots

import (
	"bytes"
	"slices"
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
	brace   int
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
	fl := &flowReader{allowed: allowed, slots: make([]flowSlot, len(allowed)), types: map[string]typedText{}}
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

func plainStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
}

func plainByte(c byte) bool { return plainStart(c) || c == ':' || c == '/' || c == '-' }

func keyByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' }

// read reads line (at lineNo) as an entry of path.
func (fl *flowReader) read(line []byte, lineNo int, path string) (*fields, ast.Node, bool) {
	i := 0
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if !bytes.HasPrefix(line[i:], []byte("- ")) {
		return nil, nil, false
	}
	for i += 2; i < len(line) && line[i] == ' '; i++ {
	}
	if i == len(line) || line[i] != '{' {
		return nil, nil, false
	}
	fl.brace = i
	fl.pos = token.Position{Line: lineNo, Column: i + 1}
	clear(fl.f.vals)
	fl.f.path = path
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
			return nil, nil, false
		}
		key := line[k:i]
		for i++; i < len(line) && line[i] == ' '; i++ {
		}
		v := i
		if i == len(line) || !plainStart(line[i]) {
			return nil, nil, false
		}
		for i < len(line) && plainByte(line[i]) {
			i++
		}
		val := line[v:i]
		if val[len(val)-1] == ':' {
			return nil, nil, false
		}
		for i < len(line) && line[i] == ' ' {
			i++
		}
		if i == len(line) || (line[i] != ',' && line[i] != '}') {
			return nil, nil, false
		}
		j := slices.Index(fl.allowed, string(key))
		if j < 0 {
			return nil, nil, false
		}
		name := fl.allowed[j]
		if _, dup := fl.f.vals[name]; dup {
			return nil, nil, false
		}
		node, ok := fl.scalar(&fl.slots[n], val, lineNo, v+1)
		if !ok {
			return nil, nil, false
		}
		fl.f.vals[name] = node
		n++
		if line[i] == '}' {
			i++
			break
		}
		i++
	}
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if i < len(line) && (line[i] != '#' || line[i-1] != ' ') {
		return nil, nil, false
	}
	return &fl.f, &fl.node, true
}

// scalar makes the node the parser makes of a plain scalar, typed by the
// parser's own rule (token.New); values it would not read as text, an
// integer or true/false go to the parser.
func (fl *flowReader) scalar(s *flowSlot, val []byte, line, col int) (ast.Node, bool) {
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
