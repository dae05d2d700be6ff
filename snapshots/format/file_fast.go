package format

import (
	"bytes"
	"net/netip"
	"slices"

	"github.com/goccy/go-yaml/token"

	"github.com/nictab/nictab/netcfg"
)

// The routes of a large file are nearly all alike: "- {table: 100, to:
// 203.0.113.0/24, via: 192.0.2.1, dev: eth0}", a decimal table, an IPv4
// prefix and gateway, a device. Decoding them through nodes and field
// paths cost about 2.5 µs and 9 allocations a route; the decoders here
// read such an entry straight from the values scan found, with no string
// but the interned ones, and take it only when every value is one the
// decoder would take as it is. Anything else (another key, a value in
// another form, a value the decoder refuses, a duplicate) is left to the
// decoder, which reads the entry as before and says what is wrong, so
// what a file decodes to and every message stay as they were
// (TestFastEntriesReadAsTheDecoder holds the two to each other).

// fastEntries is turned off only by the test that holds these decoders to
// the node decoder.
var fastEntries = true

func keyIndex(keys []string, k string) int {
	i := slices.Index(keys, k)
	if i < 0 {
		panic("snapshots: no key " + k)
	}
	return i
}

// keySet is a set of indexes into a key list.
type keySet uint64

func keySetOf(keys []string, names ...string) keySet {
	var s keySet
	for _, n := range names {
		s |= 1 << keyIndex(keys, n)
	}
	return s
}

// only reports whether every key scan found is in s.
func (fl *flowReader) only(s keySet) bool {
	for _, k := range fl.keyOf[:fl.n] {
		if k >= 64 || s&(1<<k) == 0 {
			return false
		}
	}
	return true
}

var (
	rkTable  = keyIndex(routeKeys, "table")
	rkTo     = keyIndex(routeKeys, "to")
	rkVia    = keyIndex(routeKeys, "via")
	rkDev    = keyIndex(routeKeys, "dev")
	rkSrc    = keyIndex(routeKeys, "src")
	rkMetric = keyIndex(routeKeys, "metric")
	rkFast   = keySetOf(routeKeys, "table", "to", "via", "dev", "src", "metric")

	skTable  = keyIndex(savedRouteKeys, "table")
	skType   = keyIndex(savedRouteKeys, "type")
	skTo     = keyIndex(savedRouteKeys, "to")
	skVia    = keyIndex(savedRouteKeys, "via")
	skDev    = keyIndex(savedRouteKeys, "dev")
	skSrc    = keyIndex(savedRouteKeys, "src")
	skScope  = keyIndex(savedRouteKeys, "scope")
	skProto  = keyIndex(savedRouteKeys, "protocol")
	skMetric = keyIndex(savedRouteKeys, "metric")
	skTos    = keyIndex(savedRouteKeys, "tos")
	skOnlink = keyIndex(savedRouteKeys, "onlink")
	skFast   = keySetOf(savedRouteKeys, "table", "type", "to", "via", "dev", "src", "scope", "protocol", "metric", "tos", "onlink")
)

// fastRoute decodes a route of the intent as route does, when it can,
// into r; r holds nothing to read when it cannot.
func (d *decoder) fastRoute(fl *flowReader, r *netcfg.RouteIntent) bool {
	*r = netcfg.RouteIntent{}
	if !fl.only(rkFast) {
		return false
	}
	tbl, to := fl.value(rkTable), fl.value(rkTo)
	if tbl == nil || to == nil {
		return false
	}
	var ok bool
	if r.Table, ok = fl.tableRef(tbl); !ok {
		return false
	}
	if r.To, ok = fl.prefix(to, true); !ok {
		return false
	}
	r.To = r.To.Masked()
	if v := fl.value(rkVia); v != nil {
		if r.Via, ok = fl.hostAddr(v); !ok {
			return false
		}
	}
	if v := fl.value(rkSrc); v != nil {
		if r.Src, ok = fl.hostAddr(v); !ok {
			return false
		}
	}
	if v := fl.value(rkDev); v != nil {
		if r.Dev, ok = fl.ifName(v); !ok {
			return false
		}
	}
	if v := fl.value(rkMetric); v != nil {
		if r.Metric, ok = decimal32(v); !ok {
			return false
		}
	}
	fam := netcfg.FamilyOf(r.To.Addr())
	if r.Via.IsValid() && fam == netcfg.V6 && netcfg.FamilyOf(r.Via) == netcfg.V4 ||
		r.Src.IsValid() && netcfg.FamilyOf(r.Src) != fam ||
		!r.Via.IsValid() && r.Dev == "" {
		return false
	}
	return true
}

// fastSavedRoute decodes a route of the resolved section as savedRoute
// does, when it can, into r.
func (d *decoder) fastSavedRoute(fl *flowReader, r *netcfg.Route) bool {
	*r = netcfg.Route{Type: netcfg.RouteUnicast}
	if !fl.only(skFast) {
		return false
	}
	tbl, to := fl.value(skTable), fl.value(skTo)
	if tbl == nil || to == nil {
		return false
	}
	var ok bool
	if r.Table, ok = decimal32(tbl); !ok {
		return false
	}
	if v := fl.value(skType); v != nil {
		t, good := fl.text(v)
		if !good || t.typ != token.StringType && t.typ != token.BoolType {
			return false
		}
		typ, err := netcfg.ParseRouteType(t.text)
		if err != nil {
			return false
		}
		r.Type = typ
	}
	if r.Dst, ok = fl.prefix(to, false); !ok {
		return false
	}
	if v := fl.value(skVia); v != nil {
		if r.Gw, ok = fl.addr(v, false); !ok {
			return false
		}
	}
	if v := fl.value(skDev); v != nil {
		if r.Dev, ok = fl.ifName(v); !ok {
			return false
		}
	}
	if v := fl.value(skSrc); v != nil {
		if r.Src, ok = fl.addr(v, false); !ok {
			return false
		}
	}
	if v := fl.value(skScope); v != nil {
		t, good := fl.text(v)
		if !good {
			return false
		}
		sc, err := netcfg.ParseScope(t.text)
		if err != nil {
			return false
		}
		r.Scope = sc
	}
	for _, n := range []struct {
		k   int
		dst *uint8
	}{{skProto, &r.Proto}, {skTos, &r.Tos}} {
		if v := fl.value(n.k); v != nil {
			x, good := decimal32(v)
			if !good || x > 255 {
				return false
			}
			*n.dst = uint8(x)
		}
	}
	if v := fl.value(skMetric); v != nil {
		if r.Metric, ok = decimal32(v); !ok {
			return false
		}
	}
	if v := fl.value(skOnlink); v != nil {
		t, good := fl.text(v)
		if !good || t.typ != token.BoolType {
			return false
		}
		r.Onlink = t.text == "true" || t.text == "True" || t.text == "TRUE"
	}
	return true
}

// text is a value as the decoder's text gets it, and its type; false for
// a value read would not make a node of.
func (fl *flowReader) text(v []byte) (typedText, bool) {
	t := fl.typed(v)
	switch t.typ {
	case token.StringType, token.BoolType, token.IntegerType, token.BinaryIntegerType, token.OctetIntegerType, token.HexIntegerType:
		return t, true
	}
	return t, false
}

// tableRef is tableRef's for a table by decimal id or by a name.
func (fl *flowReader) tableRef(v []byte) (netcfg.TableRef, bool) {
	if id, ok := decimal32(v); ok {
		return netcfg.TableRef{ID: id}, !netcfg.ReservedTable(id)
	}
	t, ok := fl.text(v)
	if !ok || t.typ != token.StringType || isNumber(t.text) {
		return netcfg.TableRef{}, false
	}
	if _, builtin := builtinTableIDs[t.text]; builtin || !netcfg.ValidTableName(t.text) {
		return netcfg.TableRef{}, false
	}
	return netcfg.TableRef{Name: t.text}, true
}

// ifName is ifName's.
func (fl *flowReader) ifName(v []byte) (string, bool) {
	if m := &fl.lastDev; m.text != nil && bytes.Equal(v, m.text) {
		return m.name, true
	}
	t, ok := fl.text(v)
	if !ok || netcfg.IfNameProblem(t.text) != "" {
		return "", false
	}
	fl.lastDev = lastDev{v, t.text}
	return t.text, true
}

// lastDev and lastAddr are the last value ifName and addr took, and what
// they made of it: the routes of a list mostly go through one gateway and
// one device, and reading them again was a fifth of a route's time. text
// is the line's own bytes, which stay as they are while the file is read.
type lastDev struct {
	text []byte
	name string
}

type lastAddr struct {
	text   []byte
	strict bool
	a      netip.Addr
}

// addr is addr's: an address, no prefix, no zone, and when strict no
// IPv4-mapped IPv6 address.
func (fl *flowReader) addr(v []byte, strict bool) (netip.Addr, bool) {
	if m := &fl.lastAddr; m.text != nil && m.strict == strict && bytes.Equal(v, m.text) {
		return m.a, true
	}
	a, ok := fl.parseAddr(v, strict)
	if ok {
		fl.lastAddr = lastAddr{v, strict, a}
	}
	return a, ok
}

func (fl *flowReader) parseAddr(v []byte, strict bool) (netip.Addr, bool) {
	if a, ok := parseIPv4(v); ok {
		return a, true
	}
	if bytes.IndexByte(v, '/') >= 0 {
		return netip.Addr{}, false
	}
	if _, ok := fl.text(v); !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(string(v))
	if err != nil || a.Zone() != "" || strict && a.Is4In6() {
		return netip.Addr{}, false
	}
	return a, true
}

// hostAddr is hostAddr's.
func (fl *flowReader) hostAddr(v []byte) (netip.Addr, bool) {
	a, ok := fl.addr(v, true)
	if !ok || a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return netip.Addr{}, false
	}
	return a, true
}

// prefix is prefix's for a route's destination (routeDst, not masked here)
// when strict, or a saved one's (exactPrefix); "default" is left to the
// decoder.
func (fl *flowReader) prefix(v []byte, strict bool) (netip.Prefix, bool) {
	slash := bytes.IndexByte(v, '/')
	if slash < 0 {
		a, ok := fl.addr(v, strict)
		if !ok {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	if a, ok := parseIPv4(v[:slash]); ok {
		if bits, ok := decimal32(v[slash+1:]); ok && bits <= 32 {
			return netip.PrefixFrom(a, int(bits)), true
		}
		return netip.Prefix{}, false
	}
	if _, ok := fl.text(v); !ok {
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(string(v))
	if err != nil || strict && p.Addr().Is4In6() {
		return netip.Prefix{}, false
	}
	return p, true
}

// decimal32 reads a decimal of 0–4294967295 written as the decoder reads
// it (parseNum): digits only, no leading zero.
func decimal32(v []byte) (uint32, bool) {
	if len(v) == 0 || len(v) > 10 || len(v) > 1 && v[0] == '0' {
		return 0, false
	}
	var n uint64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<32-1 {
		return 0, false
	}
	return uint32(n), true
}

// parseIPv4 reads the dotted quads netip.ParseAddr reads as IPv4: four
// decimals of 0–255, no leading zeros. It refuses everything else,
// which goes to netip. Each field is read as at most three digits, or a
// lone zero, with no test per byte but the digit's: it reads every
// route's destination.
func parseIPv4(v []byte) (netip.Addr, bool) {
	var a [4]byte
	i := 0
	for f := range 4 {
		if f > 0 {
			if i >= len(v) || v[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		if i >= len(v) || v[i]-'0' > 9 {
			return netip.Addr{}, false
		}
		val := uint(v[i] - '0')
		i++
		if val != 0 {
			for n := 1; n < 3 && i < len(v) && v[i]-'0' <= 9; n++ {
				val = val*10 + uint(v[i]-'0')
				i++
			}
		}
		if val > 255 {
			return netip.Addr{}, false
		}
		a[f] = byte(val)
	}
	if i != len(v) {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(a), true
}
