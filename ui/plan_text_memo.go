package ui

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// NOTE: the 100k routes of a big plan nearly all differ only in their
// destination: one gateway, one device, one table. A route change's diff
// line and its command are the text before the destination, the
// destination, and the text after it, and only the middle changes from
// one route to the next. newPlanSteps, in the one pass it makes over the
// changes, sorts the routes into kinds that differ only in their IPv4
// destination (sameButDst) and keeps each change's kind and destination
// in a word of digest. routeMemo makes the line of the first route of each
// kind through changeLine's and commandLines' own appenders, keeps what
// surrounds the destination, and writes the other routes of that kind as
// those two pieces around the destination in their digest, without
// reading the route again: the routes of a plan read from the kernel lie
// all over memory, and reading each again for the diff and again for the
// commands cost more than writing their lines. What it writes is what the
// appenders write (TestPlanTextMemoSameAsSequential).

// memoKinds bounds the kinds of route a plan's digest tells apart, and so
// how long finding a route's kind may take; the routes past them are
// written as before.
const memoKinds = 16

// digestOf is change c's word of digest: 0, or its kind among kinds
// (added to them when new), its destination's address and length and the
// bit that says it has one.
func digestOf(c *netcfg.Change, kinds *[]netcfg.Route) uint64 {
	r := memoRoute(c)
	if r == nil || !r.Dst.Addr().Is4() {
		return 0
	}
	k := -1
	for j := range *kinds {
		if sameButDst(&(*kinds)[j], r) {
			k = j
			break
		}
	}
	if k < 0 {
		if len(*kinds) == memoKinds {
			return 0
		}
		k = len(*kinds)
		key := *r
		key.MultiPath, key.Unmodelled, key.Metrics, key.Encap = nil, nil, nil, nil
		*kinds = append(*kinds, key)
	}
	a := r.Dst.Addr().As4()
	return 1<<63 | uint64(r.Dst.Bits())<<40 | uint64(k)<<32 | uint64(binary.BigEndian.Uint32(a[:]))
}

// routeMemo is one goroutine's memo of the lines of route changes: the
// diff line and the command of each action and kind.
type routeMemo struct {
	pw *planWriter
	s  *planSteps
	// needles are the strings a line must hold for the rewrite the lines
	// go through to change it; clean is whether there is no rewrite.
	needles []string
	clean   bool
	// diff and cmd are indexed by the change's action (add, delete:
	// replaced routes go the appenders' way), then by kind.
	diff, cmd [2][memoKinds]memoLine
}

// memoLine is the line of the routes of a kind: head, the destination,
// tail.
type memoLine struct {
	set bool
	// ok is whether the line is made so; when not, the appenders write
	// such routes.
	ok bool
	// raw is whether the rewrite can leave the line as it is
	// without looking at it.
	raw        bool
	head, tail []byte
}

func newRouteMemo(pw *planWriter, s *planSteps, needles []string, rewrite bool) *routeMemo {
	return &routeMemo{pw: pw, s: s, needles: needles, clean: !rewrite}
}

// memoIndex is the memo's slot for a change's action, or -1.
func memoIndex(a netcfg.ChangeAction) int {
	switch a {
	case netcfg.ChangeAdd:
		return 0
	case netcfg.ChangeDelete:
		return 1
	}
	return -1
}

// memoRoute is the route of a change the memo can write, or nil: one
// route added or deleted, with nothing but RouteArgs' first words, to a
// destination that is an address and not the default (whose text is a
// word).
func memoRoute(c *netcfg.Change) *netcfg.Route {
	if memoIndex(c.Action) < 0 {
		return nil
	}
	s := c.Subject()
	r := s.Route
	if r == nil || s.Rule != nil || s.Name != nil || !r.Dst.IsValid() || r.Dst.Bits() == 0 || !netcfg.BasicRoute(r) {
		return nil
	}
	return r
}

// sameButDst reports whether two routes' lines differ only in their
// destination: every field a diff line or command shows but the
// destination's address, and the family that decides which of them it
// shows. TestRouteMemoKnowsEveryField fails when Route gains a field, so
// that it is added here or to BasicRoute's.
func sameButDst(a, b *netcfg.Route) bool {
	return a.Table == b.Table && a.Type == b.Type && a.Gw == b.Gw && a.Dev == b.Dev && a.Src == b.Src &&
		a.Scope == b.Scope && a.Proto == b.Proto && a.Metric == b.Metric && a.Tos == b.Tos && a.Onlink == b.Onlink &&
		netcfg.FamilyOf(a.Dst.Addr()) == netcfg.FamilyOf(b.Dst.Addr()) && a.Dst.Addr().Is4() == b.Dst.Addr().Is4()
}

// line is the memo's line of ways for change i, made from the change
// when it is the first of its kind; nil when the memo cannot write it.
func (m *routeMemo) line(ways *[2][memoKinds]memoLine, i int, d uint64, build func(l *memoLine, c *netcfg.Change, r *netcfg.Route)) *memoLine {
	c := &m.s.p.Changes[i]
	l := &ways[memoIndex(c.Action)][uint8(d>>32)]
	if !l.set {
		l.set = true
		build(l, c, c.Subject().Route)
	}
	if !l.ok {
		return nil
	}
	return l
}

// diffLine writes change i's diff line and reports whether it could.
func (m *routeMemo) diffLine(i int) bool {
	d := m.s.digest[i]
	if d == 0 {
		return false
	}
	l := m.line(&m.diff, i, d, m.makeDiff)
	if l == nil {
		return false
	}
	m.write(l, d)
	return true
}

func (m *routeMemo) makeDiff(l *memoLine, c *netcfg.Change, r *netcfg.Route) {
	st := m.pw.diffStyle(c.Action)
	text, ok := appendChangeText(nil, c, m.s.names)
	if !ok || !st.fast {
		return
	}
	head := c.Action.Mark() + " route "
	m.split(l, text, head, r.Dst, "  "+st.pre, st.suf)
}

// commandLine writes change i's command and reports whether it could.
func (m *routeMemo) commandLine(i int) bool {
	d := m.s.digest[i]
	if d == 0 {
		return false
	}
	l := m.line(&m.cmd, i, d, m.makeCommand)
	if l == nil {
		return false
	}
	m.write(l, d)
	return true
}

func (m *routeMemo) makeCommand(l *memoLine, c *netcfg.Change, r *netcfg.Route) {
	st := &m.pw.command
	text, ok := c.AppendRouteCommand(nil, m.s.netns)
	if !ok || hasControlBytes(text) || !st.fast {
		return
	}
	head := "ip "
	if m.s.netns != "" {
		head += "-n " + netcfg.ShellQuote(m.s.netns) + " "
	}
	if netcfg.FamilyOf(r.Dst.Addr()) == netcfg.V6 {
		head += "-6 "
	}
	if c.Action == netcfg.ChangeAdd {
		head += "route add "
	} else {
		head += "route del "
	}
	m.split(l, text, head, r.Dst, "  "+st.pre, st.suf)
}

// split sets l from text, the line's text of a route to dst, when text is
// head, dst and a tail: the line is then pre + head, dst, the tail + suf
// and its line break.
func (m *routeMemo) split(l *memoLine, text []byte, head string, dst netip.Prefix, pre, suf string) {
	at := appendPrefix([]byte(head), dst)
	if !bytes.HasPrefix(text, at) {
		return
	}
	l.head = append(append(l.head, pre...), head...)
	l.tail = append(append(append(l.tail, text[len(at):]...), suf...), '\n')
	l.ok = true
	l.raw = m.clean || m.untouched(l.head, l.tail)
}

// prefixBytes are the bytes of a prefix's text (netip.Prefix.String):
// digits, lowercase hexadecimal, dots, colons and the slash.
const prefixBytes = "0123456789abcdef.:/"

// untouched reports whether no line head + a destination + tail holds a
// needle: none in head or tail, and none that could run from one into the
// destination or through it, made of the end of head, bytes a
// destination's text can hold, and the start of tail.
func (m *routeMemo) untouched(head, tail []byte) bool {
	for _, n := range m.needles {
		if bytes.Contains(head, []byte(n)) || bytes.Contains(tail, []byte(n)) {
			return false
		}
		for i := 0; i < len(n); i++ {
			for j := i + 1; j <= len(n) && strings.IndexByte(prefixBytes, n[j-1]) >= 0; j++ {
				if (i == 0 || bytes.HasSuffix(head, []byte(n[:i]))) && (j == len(n) || bytes.HasPrefix(tail, []byte(n[j:]))) {
					return false
				}
			}
		}
	}
	return true
}

// write writes l's line for the destination in digest word d: where
// nothing can rewrite it, straight to the chunk's lines ready to write.
func (m *routeMemo) write(l *memoLine, d uint64) {
	pw := m.pw
	if l.raw {
		out := pw.chunk.ready()
		b := append(out.b, l.head...)
		b = appendPrefix4(b, uint32(d), int(d>>40)&63)
		out.b = append(b, l.tail...)
		return
	}
	b := append(pw.line[:0], l.head...)
	b = appendPrefix4(b, uint32(d), int(d>>40)&63)
	pw.line = append(b, l.tail...)
	pw.bytes(pw.line)
}

// dotted holds the text of each byte in decimal and a dot after it, as
// the little-endian bytes of a word, and its length in dottedLen.
var dotted, dottedLen = func() (t [256]uint32, n [256]uint8) {
	for i := range t {
		s := strconv.AppendUint(nil, uint64(i), 10)
		s = append(s, '.')
		n[i] = uint8(len(s))
		s = append(s, 0, 0, 0)
		t[i] = binary.LittleEndian.Uint32(s)
	}
	return t, n
}()

// appendPrefix appends p.AppendTo's text, an IPv4 prefix's a word at a
// time from a table: netip writes each digit by division, and the
// destination is the one part of most lines of a big plan written anew.
func appendPrefix(b []byte, p netip.Prefix) []byte {
	a := p.Addr()
	if !a.Is4() || !p.IsValid() {
		return p.AppendTo(b)
	}
	v := a.As4()
	return appendPrefix4(b, binary.BigEndian.Uint32(v[:]), p.Bits())
}

// appendPrefix4 is appendPrefix of the IPv4 prefix of address a and
// length bits.
func appendPrefix4(b []byte, a uint32, bits int) []byte {
	var v [4]byte
	binary.BigEndian.PutUint32(v[:], a)
	// Four words of a byte and its dot, then the length's: the words
	// may write past the text, never past 20 bytes.
	b = slices.Grow(b, 20)
	n := len(b)
	s := b[n : n+20]
	i := 0
	for _, o := range v {
		binary.LittleEndian.PutUint32(s[i:], dotted[o])
		i += int(dottedLen[o])
	}
	s[i-1] = '/'
	binary.LittleEndian.PutUint32(s[i:], dotted[bits])
	i += int(dottedLen[bits]) - 1
	return b[:n+i]
}
