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
// one route to the next. routeMemo makes the line of the first route of
// each kind through changeLine's and commandLines' own appenders, keeps
// what surrounds the destination, and writes the next routes of that kind
// as those two pieces around their destination: half the time of the
// printout went into writing the gateway, device, table, protocol and
// scope again on every line and looking at every byte for what needs
// escaping. What it writes is what the appenders write
// (TestPlanTextMemoSameAsSequential).

// memoWays is how many kinds of route each of the memo's lines keeps: a
// plan that alternates between a few gateways, devices or families finds
// each of them still there.
const memoWays = 4

// routeMemo is one goroutine's memo of the lines of route changes: the
// diff line and the command of each action.
type routeMemo struct {
	pw    *planWriter
	names *netcfg.Names
	netns string
	// needles are the strings a line must hold for the rewrite the lines
	// go through to change it; clean is whether there is no rewrite.
	needles []string
	clean   bool
	// diff and cmd are indexed by the change's action: add, delete
	// (replaced routes go the appenders' way).
	diff, cmd [2][memoWays]memoLine
	next      [2][2]int // the way a miss replaces next, of diff and cmd
}

// memoLine is the line of the routes that are key but for their
// destination: head, the destination, tail.
type memoLine struct {
	set bool
	key netcfg.Route
	// ok is whether the line is made so; when not, the appenders write
	// such routes.
	ok bool
	// raw is whether the rewrite can leave the line as it is
	// without looking at it.
	raw        bool
	head, tail []byte
}

func newRouteMemo(pw *planWriter, names *netcfg.Names, netns string, needles []string, rewrite bool) *routeMemo {
	return &routeMemo{pw: pw, names: names, netns: netns, needles: needles, clean: !rewrite}
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

// find is the way of ways that holds r's kind, making it when none does.
func (m *routeMemo) find(ways *[memoWays]memoLine, next *int, r *netcfg.Route, build func(l *memoLine, r *netcfg.Route)) *memoLine {
	for i := range ways {
		if l := &ways[i]; l.set && sameButDst(&l.key, r) {
			return l
		}
	}
	l := &ways[*next]
	*next = (*next + 1) % memoWays
	l.set, l.key, l.ok, l.raw = true, *r, false, false
	l.key.MultiPath, l.key.Unmodelled, l.key.Metrics, l.key.Encap = nil, nil, nil, nil
	l.head, l.tail = l.head[:0], l.tail[:0]
	build(l, r)
	return l
}

// diffLine writes c's diff line and reports whether it could.
func (m *routeMemo) diffLine(c *netcfg.Change) bool {
	k := memoIndex(c.Action)
	r := memoRoute(c)
	if k < 0 || r == nil {
		return false
	}
	l := m.find(&m.diff[k], &m.next[0][k], r, func(l *memoLine, r *netcfg.Route) { m.makeDiff(l, c, r) })
	if !l.ok {
		return false
	}
	m.write(l, r.Dst)
	return true
}

func (m *routeMemo) makeDiff(l *memoLine, c *netcfg.Change, r *netcfg.Route) {
	st := m.pw.diffStyle(c.Action)
	text, ok := appendChangeText(nil, c, m.names)
	if !ok || !st.fast {
		return
	}
	head := c.Action.Mark() + " route "
	m.split(l, text, head, r.Dst, "  "+st.pre, st.suf)
}

// commandLine writes c's command and reports whether it could.
func (m *routeMemo) commandLine(c *netcfg.Change) bool {
	k := memoIndex(c.Action)
	r := memoRoute(c)
	if k < 0 || r == nil {
		return false
	}
	l := m.find(&m.cmd[k], &m.next[1][k], r, func(l *memoLine, r *netcfg.Route) { m.makeCommand(l, c, r) })
	if !l.ok {
		return false
	}
	m.write(l, r.Dst)
	return true
}

func (m *routeMemo) makeCommand(l *memoLine, c *netcfg.Change, r *netcfg.Route) {
	st := &m.pw.command
	text, ok := c.AppendRouteCommand(nil, m.netns)
	if !ok || hasControlBytes(text) || !st.fast {
		return
	}
	head := "ip "
	if m.netns != "" {
		head += "-n " + netcfg.ShellQuote(m.netns) + " "
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

// write writes l's line for the destination dst: where nothing can
// rewrite it, straight to the chunk's lines ready to write.
func (m *routeMemo) write(l *memoLine, dst netip.Prefix) {
	pw := m.pw
	if l.raw {
		out := pw.chunk.ready()
		b := append(out.b, l.head...)
		b = appendPrefix(b, dst)
		out.b = append(b, l.tail...)
		return
	}
	b := append(pw.line[:0], l.head...)
	b = appendPrefix(b, dst)
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
	bits := p.Bits()
	binary.LittleEndian.PutUint32(s[i:], dotted[bits])
	i += int(dottedLen[bits]) - 1
	return b[:n+i]
}
