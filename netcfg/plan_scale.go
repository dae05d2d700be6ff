package netcfg

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"hash"
	"net/netip"
	"slices"
	"strconv"

	"github.com/nictab/nictab/internal/prefault"
)

// NOTE: planning, fingerprinting and verifying touch every route of the
// tables they cover, 100k and more on a router. The helpers here do that
// work without an allocation per route and with map keys the garbage
// collector need not scan; what they compute is exactly what the plain
// code they replace computed (RouteKey, RouteString), which tests check.

// routeIdx is a RouteKey as plain memory. RouteKey holds a netip.Prefix,
// whose address carries a pointer: a map of 100k of those is slow to hash
// and is scanned by every garbage collection.
type routeIdx struct {
	// addr is the destination's 16 bytes as two big-endian words, which
	// compare as the bytes do, in two comparisons; from is an IPv6
	// route's source prefix (routeSrcPrefix) the same way, fromBits -1
	// when it has none. The fields are ordered to pack into 48 bytes.
	addrHi, addrLo uint64
	fromHi, fromLo uint64
	table          uint32
	metric         uint32
	bits           int16 // -1 for an invalid prefix
	fromBits       int16
	fam            uint8 // 0 invalid, 4, 6
	tos            uint8
}

func routeIdxOf(r *Route) routeIdx {
	a := r.Dst.Addr()
	k := routeIdx{table: r.Table, metric: r.Metric, bits: int16(r.Dst.Bits()), tos: r.Tos, fromBits: -1}
	k.addrHi, k.addrLo = words(a.As16())
	if f := routeSrcPrefix(r); f.IsValid() {
		k.fromHi, k.fromLo = words(f.Addr().As16())
		k.fromBits = int16(f.Bits())
	}
	switch {
	case a.Is4():
		k.fam = 4
	case a.Is6():
		k.fam = 6
	}
	return k
}

func words(b [16]byte) (hi, lo uint64) {
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// RouteLabels names a route's device, table and protocol for AppendRoute.
// Each method appends its label to b.
type RouteLabels interface {
	Dev(b []byte, dev string) []byte
	Table(b []byte, id uint32) []byte
	Proto(b []byte, p uint8) []byte
}

// numericLabels writes tables and protocols as numbers and devices as
// they are: RouteString's form.
type numericLabels struct{}

func (numericLabels) Dev(b []byte, dev string) []byte  { return append(b, dev...) }
func (numericLabels) Table(b []byte, id uint32) []byte { return strconv.AppendUint(b, uint64(id), 10) }
func (numericLabels) Proto(b []byte, p uint8) []byte   { return strconv.AppendUint(b, uint64(p), 10) }

// appendRouteString appends RouteString(r) to b.
func appendRouteString(b []byte, r *Route) []byte { return AppendRoute(b, r, numericLabels{}) }

// AppendRouteHead appends the start of a route's words: its type unless
// unicast, its destination, tos and gateway. quoted puts the type and an
// invalid destination's text through ShellQuote, for a command line.
// Every writer of a route's words without a slice of strings begins so:
// AppendRoute, the basic ip command, ui's plan line.
func AppendRouteHead(b []byte, r *Route, quoted bool) []byte {
	return appendGw(appendRouteDst(b, r, quoted), r)
}

// appendRouteDst is what AppendRouteHead writes before the gateway.
func appendRouteDst(b []byte, r *Route, quoted bool) []byte {
	word := func(b []byte, s string) []byte {
		if quoted {
			return appendShellQuote(b, s)
		}
		return append(b, s...)
	}
	if r.Type != RouteUnicast && r.Type != RouteUnspec {
		b = word(b, r.Type.String())
		b = append(b, ' ')
	}
	switch {
	case r.IsDefault():
		b = append(b, "default"...)
	case !r.Dst.IsValid():
		b = word(b, r.Dst.String())
	default:
		b = r.Dst.AppendTo(b)
	}
	if r.Tos != 0 {
		const hex = "0123456789abcdef"
		b = append(b, " tos 0x"...)
		b = append(b, hex[r.Tos>>4], hex[r.Tos&0xf])
	}
	return b
}

func appendGw(b []byte, r *Route) []byte {
	if r.Gw.IsValid() {
		b = append(b, " via "...)
		b = r.Gw.AppendTo(b)
	}
	return b
}

// AppendRoute appends the route in RouteArgs' form to b without building
// a string per field, so a million routes print or hash in one buffer.
func AppendRoute(b []byte, r *Route, l RouteLabels) []byte {
	return appendRouteTail(AppendRouteHead(b, r, false), r, l)
}

// appendRouteTail is what AppendRoute writes after AppendRouteHead.
func appendRouteTail(b []byte, r *Route, l RouteLabels) []byte {
	if r.Dev != "" {
		b = append(b, " dev "...)
		b = l.Dev(b, r.Dev)
	}
	b = append(b, " table "...)
	b = l.Table(b, r.Table)
	if r.Proto != ProtoUnspec {
		b = append(b, " proto "...)
		b = l.Proto(b, r.Proto)
	}
	fam := r.Family()
	if fam == V4 {
		b = append(b, " scope "...)
		b = appendScope(b, r.Scope)
	}
	if r.Src.IsValid() {
		b = append(b, " src "...)
		b = r.Src.AppendTo(b)
	}
	if r.Metric != 0 || fam == V6 {
		b = append(b, " metric "...)
		b = strconv.AppendUint(b, uint64(r.Metric), 10)
	}
	if r.Onlink {
		b = append(b, " onlink"...)
	}
	for _, nh := range r.MultiPath {
		b = append(b, " nexthop"...)
		if nh.Gw.IsValid() {
			b = append(b, " via "...)
			b = nh.Gw.AppendTo(b)
		}
		if nh.Dev != "" {
			b = append(b, " dev "...)
			b = l.Dev(b, nh.Dev)
		}
		b = append(b, " weight "...)
		b = strconv.AppendInt(b, int64(max(nh.Weight, 1)), 10)
		if nh.Onlink {
			b = append(b, " onlink"...)
		}
		if nh.Realms != 0 {
			b = append(b, " realms "...)
			b = append(b, Realms(nh.Realms)...)
		}
	}
	if r.hasExtras() {
		for _, a := range routeModelArgs(r) {
			b = append(append(b, ' '), a...)
		}
		for _, a := range routeOpaqueArgs(r) {
			b = append(append(b, ' '), a...)
		}
	}
	return b
}

// The names of the scopes nearly every route has, looked up once:
// Scope.String is a map lookup, 100k of them in a fingerprint.
var universeText, linkText = ScopeUniverse.String(), ScopeLink.String()

func appendScope(b []byte, s Scope) []byte {
	switch s {
	case ScopeUniverse:
		return append(b, universeText...)
	case ScopeLink:
		return append(b, linkText...)
	}
	return append(b, s.String()...)
}

// hashRouteStrings writes "route " + RouteString(r) + "\n" for every route
// to h, the lines in byte order.
func hashRouteStrings(h hash.Hash, routes []Route) {
	arena := make([]byte, 0, routeStringsSize(routes))
	spans := make([]strSpan, len(routes))
	var tails routeTails
	for i := range routes {
		off := len(arena)
		arena = tails.appendRouteString(arena, &routes[i])
		var p [8]byte
		copy(p[:], arena[off:])
		spans[i] = strSpan{pre: binary.BigEndian.Uint64(p[:]), off: uint32(off), end: uint32(len(arena))}
	}
	sortSpans(arena, spans)
	buf := make([]byte, 0, 64<<10)
	for _, s := range spans {
		if len(buf) > 60<<10 {
			h.Write(buf)
			buf = buf[:0]
		}
		buf = append(buf, "route "...)
		buf = append(buf, arena[s.off:s.end]...)
		buf = append(buf, '\n')
	}
	h.Write(buf)
}

// routeStringsSize is about the bytes of the strings of routes, from
// those of a few of them, and a little over: an arena grown by doubling
// copied what it held each time (a route's string is 70 bytes and more,
// and the arena was sized at 64 a route).
func routeStringsSize(routes []Route) int {
	const sample = 64
	if len(routes) <= sample {
		return len(routes) * 128
	}
	var buf [256]byte
	n := 0
	for i := range sample {
		n += len(appendRouteString(buf[:0], &routes[i*(len(routes)/sample)]))
	}
	return len(routes)/sample*n*9/8 + 4096
}

// routeTails holds the text of the last few routes after their
// destination: the routes of a table mostly differ in that alone, and
// writing the rest (gateway, device, table, protocol, scope, metric) was
// half of a fingerprint's time.
type routeTails struct {
	keys  [4]tailKey
	texts [4][]byte
	n     int
}

// tailKey is every field what appendRouteTail and appendGw write depends
// on, for a route without next hops or extras.
type tailKey struct {
	gw, src      netip.Addr
	dev          string
	table        uint32
	metric       uint32
	proto        uint8
	scope        Scope
	fam          Family
	onlink, used bool
}

// appendRouteString is appendRouteString(b, r).
func (t *routeTails) appendRouteString(b []byte, r *Route) []byte {
	if len(r.MultiPath) > 0 || r.hasExtras() {
		return appendRouteString(b, r)
	}
	k := tailKey{gw: r.Gw, src: r.Src, dev: r.Dev, table: r.Table, metric: r.Metric, proto: r.Proto, scope: r.Scope, fam: r.Family(), onlink: r.Onlink, used: true}
	b = appendRouteDst(b, r, false)
	for i := range t.keys {
		if t.keys[i] == k {
			return append(b, t.texts[i]...)
		}
	}
	i := t.n % len(t.keys)
	t.n++
	start := len(b)
	b = appendRouteTail(appendGw(b, r), r, numericLabels{})
	t.keys[i], t.texts[i] = k, append(t.texts[i][:0], b[start:]...)
	return b
}

// strSpan is one string of an arena with its first 8 bytes, big-endian
// and zero-padded, so that comparing pre orders most pairs as bytes do.
type strSpan struct {
	pre      uint64
	off, end uint32
}

// sortSpans sorts spans by the bytes they cover: a radix sort on pre, then
// a comparison sort of each run that shares it.
func sortSpans(arena []byte, spans []strSpan) {
	if len(spans) < 2 {
		return
	}
	tmp := make([]strSpan, len(spans))
	src, dst := spans, tmp
	var count [256]int
	for shift := uint(0); shift < 64; shift += 8 {
		clear(count[:])
		for _, s := range src {
			count[byte(s.pre>>shift)]++
		}
		if count[byte(src[0].pre>>shift)] == len(src) {
			continue // every key has the same byte here
		}
		pos := 0
		for i, c := range count {
			count[i] = pos
			pos += c
		}
		for _, s := range src {
			b := byte(s.pre >> shift)
			dst[count[b]] = s
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &spans[0] {
		copy(spans, src)
	}
	for i := 0; i < len(spans); {
		j := i + 1
		for j < len(spans) && spans[j].pre == spans[i].pre {
			j++
		}
		if j-i > 1 {
			slices.SortFunc(spans[i:j], func(a, b strSpan) int {
				return bytes.Compare(arena[a.off:a.end], arena[b.off:b.end])
			})
		}
		i = j
	}
}

// compareIdx orders routeIdx keys; 0 means the same RouteKey.
func compareIdx(a, b *routeIdx) int {
	if c := cmp.Compare(a.table, b.table); c != 0 {
		return c
	}
	if c := cmp.Compare(a.fam, b.fam); c != 0 {
		return c
	}
	if c := cmp.Compare(a.addrHi, b.addrHi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.addrLo, b.addrLo); c != 0 {
		return c
	}
	if c := cmp.Compare(a.bits, b.bits); c != 0 {
		return c
	}
	if c := cmp.Compare(a.tos, b.tos); c != 0 {
		return c
	}
	if c := cmp.Compare(a.metric, b.metric); c != 0 {
		return c
	}
	if c := cmp.Compare(a.fromHi, b.fromHi); c != 0 {
		return c
	}
	if c := cmp.Compare(a.fromLo, b.fromLo); c != 0 {
		return c
	}
	return cmp.Compare(a.fromBits, b.fromBits)
}

// keyOrder returns the keys of routes and their positions sorted by key,
// equal keys in list order. Lists read from the kernel or resolved from
// an intent are mostly in key order already, which is checked first.
func keyOrder(routes []Route) ([]routeIdx, []int32) {
	keys, order, _ := keyRuns(routes)
	return keys, order
}

// keyRuns is keyOrder with the runs of the order whose keys are equal up
// to the metric, so that its users need not compare keys through order,
// which misses the cache when the routes came scattered.
func keyRuns(routes []Route) ([]routeIdx, []int32, []headRun) {
	keys := make([]routeIdx, len(routes))
	prefault.Slice(keys)
	for i := range routes {
		keys[i] = routeIdxOf(&routes[i])
	}
	order, runs := orderKeys(keys)
	return keys, order, runs
}

// keyedRoutes is a list of routes with its key order: the keys and
// order keyOrder gives, or neither for a list strictly in key order as it
// is, whose keys are made again as they are read.
//
// NOTE: the routes a resolve or a read from the kernel gives are in that
// order. Their keys and order held 5.2 MB of fresh memory at 100k routes,
// which this machine maps at 2–3 µs a page on its first write; making a
// key again as it is read costs less. BenchmarkProposePlan100k (GOGC=off,
// medians of 7 alternated runs on a loaded machine): 13.3 → 11.7 ms and
// 13.7 → 8.5 MB a plan.
type keyedRoutes struct {
	routes []Route
	keys   []routeIdx
	order  []int32
}

// keyed returns routes with their key order, and reports whether they
// are strictly in key order as they are, as keyOrderStrict does.
func keyed(routes []Route) (keyedRoutes, bool) {
	if strictlyKeyed(routes) {
		return keyedRoutes{routes: routes}, true
	}
	keys, order := keyOrder(routes)
	return keyedRoutes{routes: routes, keys: keys, order: order}, false
}

// strictlyKeyed reports whether routes are in strictly ascending key
// order, no two of them the same up to the metric: keyOrderStrict's
// report, without its arrays.
func strictlyKeyed(routes []Route) bool {
	if len(routes) == 0 {
		return true
	}
	prev := routeIdxOf(&routes[0])
	for i := 1; i < len(routes); i++ {
		k := routeIdxOf(&routes[i])
		if !strictlyBefore(&prev, &k) {
			return false
		}
		prev = k
	}
	return true
}

// strictlyBefore reports whether a comes before b and is not the same
// key up to the metric.
func strictlyBefore(a, b *routeIdx) bool { return compareIdx(a, b) < 0 && !sameIdxHead(a, b) }

// keyCursor walks a keyedRoutes in key order: pos is the position of the
// route it is at, key its key. Over a list without keys, disordered says
// it has passed two routes not strictly in key order.
type keyCursor struct {
	k          *keyedRoutes
	i          int
	pos        int32
	key        routeIdx
	disordered bool
}

func newKeyCursor(k *keyedRoutes) keyCursor {
	c := keyCursor{k: k, i: -1}
	c.next()
	return c
}

func (c *keyCursor) ok() bool { return c.i < len(c.k.routes) }

func (c *keyCursor) next() {
	if c.i++; !c.ok() {
		return
	}
	if c.k.order == nil {
		k := routeIdxOf(&c.k.routes[c.i])
		if c.i > 0 && !strictlyBefore(&c.key, &k) {
			c.disordered = true
		}
		c.pos, c.key = int32(c.i), k
		return
	}
	c.pos = c.k.order[c.i]
	c.key = c.k.keys[c.pos]
}

// matchPlanned is matchKeyed of live and want with their key orders, and
// reports whether each is strictly in key order as it is (keyed's
// report). Both are first taken to be, the usual case, which needs one
// pass over each and no keys kept; when one is not, its keys are sorted
// and the merge made again. BenchmarkProposePlan100k (GOGC=off, medians
// of 7 alternated runs): 8.96 → 6.97 ms against a check of both orders
// before the merge, a pass over 25 MB of routes of its own.
func matchPlanned(live, want []Route) (match, foreign, owned []int32, wanted []bool, liveStrict, wantStrict bool) {
	lk, wk := keyedRoutes{routes: live}, keyedRoutes{routes: want}
	match, foreign, owned, wanted, ordered := matchKeyed(&lk, &wk)
	if ordered {
		return match, foreign, owned, wanted, true, true
	}
	lk, liveStrict = keyed(live)
	wk, wantStrict = keyed(want)
	match, foreign, owned, wanted, _ = matchKeyed(&lk, &wk)
	return match, foreign, owned, wanted, liveStrict, wantStrict
}

// matchKeyed is matchOrdered and routeSharers in one merge of the two
// lists: match, wanted, foreign and owned as those give them, except that
// match, foreign and owned are nil when no live route has the key of a
// wanted one (match and foreign all -1, owned all 0), as when a table is
// filled from empty: 1.2 MB at 100k routes, not written. ordered is false
// when a list without keys was found not strictly in key order: then the
// rest is wrong.
func matchKeyed(lk, wk *keyedRoutes) (match, foreign, owned []int32, wanted []bool, ordered bool) {
	live := lk.routes
	wanted = make([]bool, len(live))
	l, w := newKeyCursor(lk), newKeyCursor(wk)
	for w.ok() {
		k := w.key
		for l.ok() && compareIdx(&l.key, &k) < 0 {
			l.next()
		}
		partner, f, n := int32(-1), int32(-1), int32(0)
		for ; l.ok() && compareIdx(&l.key, &k) == 0; l.next() {
			p := l.pos
			wanted[p] = true
			if live[p].Owned() {
				partner = p
				n++
				continue
			}
			if partner < 0 {
				partner = p
			}
			if f < 0 {
				f = p
			}
		}
		if partner >= 0 && match == nil {
			match, foreign, owned = unmatched(len(wk.routes))
		}
		for ; w.ok() && compareIdx(&w.key, &k) == 0; w.next() {
			if match != nil {
				match[w.pos], foreign[w.pos], owned[w.pos] = partner, f, n
			}
		}
		if w.disordered || l.disordered {
			return nil, nil, nil, nil, false
		}
	}
	if lk.order == nil {
		// The rest of live, for its order.
		for l.ok() && !l.disordered {
			l.next()
		}
	}
	return match, foreign, owned, wanted, !l.disordered
}

// NOTE: a plan that fills tables from empty, or nearly, reads the wanted
// routes twice, to match them and to make their changes: 25 MB of routes
// at 100k, just written by the resolve and out of the cache, about 3.5 ms
// a pass. Matched as the plan comes to each, they are read once; the
// changes are then sized for an add per wanted route, which is right but
// for the few live routes. bench/timeline.sh's 100k routes into an empty
// table (9 alternated runs, medians, load 6): "plan made" 9.1 → 6.7 ms.

// streamMatchable says whether planChanges matches the routes of live
// and want with a streamMatch: when live has few of them to want's.
func streamMatchable(live, want []Route) bool { return len(live) <= len(want)/8 }

// streamMatch is matchKeyed made route by route, for wanted routes given
// in turn, for lists without keys: finish says whether both were
// strictly in key order, without which what at gave is wrong.
type streamMatch struct {
	live       []Route
	lk         keyedRoutes
	l          keyCursor
	prev       routeIdx
	started    bool
	disordered bool
	wanted     []bool
}

func newStreamMatch(live []Route) *streamMatch {
	s := &streamMatch{live: live, lk: keyedRoutes{routes: live}, wanted: make([]bool, len(live))}
	s.l = newKeyCursor(&s.lk)
	return s
}

// at is, for the next wanted route w, matchKeyed's partner, first foreign
// route and count of routes of nictab's of its key.
func (s *streamMatch) at(w *Route) (partner, foreign *Route, owned int) {
	k := routeIdxOf(w)
	if s.started && !strictlyBefore(&s.prev, &k) {
		s.disordered = true
	}
	s.started, s.prev = true, k
	l := &s.l
	for l.ok() && compareIdx(&l.key, &k) < 0 {
		l.next()
	}
	for ; l.ok() && compareIdx(&l.key, &k) == 0; l.next() {
		r := &s.live[l.pos]
		s.wanted[l.pos] = true
		if r.Owned() {
			partner = r
			owned++
			continue
		}
		if partner == nil {
			partner = r
		}
		if foreign == nil {
			foreign = r
		}
	}
	return partner, foreign, owned
}

// finish returns matchKeyed's wanted, and reports whether both lists
// were strictly in key order.
func (s *streamMatch) finish() ([]bool, bool) {
	for s.l.ok() && !s.l.disordered {
		s.l.next()
	}
	return s.wanted, !s.disordered && !s.l.disordered
}

// unmatched is matchKeyed's match, foreign and owned for n wanted routes
// that no live route shares a key with.
func unmatched(n int) (match, foreign, owned []int32) {
	match, foreign, owned = make([]int32, n), make([]int32, n), make([]int32, n)
	for i := range match {
		match[i], foreign[i] = -1, -1
	}
	return match, foreign, owned
}

// matchRoutes pairs every wanted route with the live route of the same
// key, as a map from key to live route would: among live routes sharing a
// key the last one nictab owns, else the first. match[i] is the index in
// live of want[i]'s partner, or -1; wanted[j] says whether some wanted
// route has live[j]'s key.
func matchRoutes(live, want []Route) (match []int32, wanted []bool) {
	lk, lo := keyOrder(live)
	wk, wo := keyOrder(want)
	return matchOrdered(live, lk, lo, wk, wo)
}

// matchOrdered is matchRoutes of lists whose keyOrder is known.
func matchOrdered(live []Route, lk []routeIdx, lo []int32, wk []routeIdx, wo []int32) (match []int32, wanted []bool) {
	match = make([]int32, len(wk))
	wanted = make([]bool, len(live))
	i, j := 0, 0
	for j < len(wo) {
		// The run of wanted routes with one key.
		k := &wk[wo[j]]
		j2 := j + 1
		for j2 < len(wo) && compareIdx(&wk[wo[j2]], k) == 0 {
			j2++
		}
		for i < len(lo) && compareIdx(&lk[lo[i]], k) < 0 {
			i++
		}
		partner := int32(-1)
		for ; i < len(lo) && compareIdx(&lk[lo[i]], k) == 0; i++ {
			l := lo[i]
			wanted[l] = true
			if partner < 0 || live[l].Owned() {
				partner = l
			}
		}
		for ; j < j2; j++ {
			match[wo[j]] = partner
		}
	}
	return match, wanted
}

// routesSorted reports whether routes are in RouteKey order, comparing
// them in place: a Route is 248 bytes, and slices.IsSortedFunc would copy
// two per comparison.
func routesSorted(routes []Route) bool {
	for i := 1; i < len(routes); i++ {
		if compareRouteKeys(&routes[i-1], &routes[i]) > 0 {
			return false
		}
	}
	return true
}

// compareRouteKeys is a.Key().Compare(b.Key()) without the two keys.
func compareRouteKeys(a, b *Route) int {
	if a.Table != b.Table {
		return cmpU32(a.Table, b.Table)
	}
	if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
		return c
	}
	if a.Dst.Bits() != b.Dst.Bits() {
		return a.Dst.Bits() - b.Dst.Bits()
	}
	if a.Tos != b.Tos {
		return int(a.Tos) - int(b.Tos)
	}
	if a.Metric != b.Metric {
		return cmpU32(a.Metric, b.Metric)
	}
	if c := a.From.Addr().Compare(b.From.Addr()); c != 0 {
		return c
	}
	return a.From.Bits() - b.From.Bits()
}

// sortRoutes sorts routes by RouteKey, as slices.SortStableFunc would.
// Routes mostly come in that order already, which is checked first;
// otherwise packed copies of their keys are sorted (orderPacked) and the
// routes then moved into place.
func sortRoutes(routes []Route) {
	if routesSorted(routes) {
		return
	}
	packed := make([]packedKey, len(routes))
	for i := range routes {
		k := routeIdxOf(&routes[i])
		packed[i] = packIdx(&k, i)
	}
	order, _ := orderPacked(packed, func(a, b int32) int { return compareRouteKeys(&routes[a], &routes[b]) })
	permuteRoutes(routes, order)
}

// sortRoutesKeyed is sortRoutes given keyRuns(routes), which resolving
// has computed for its clash check: the two orders differ only within
// runs of keys equal up to the metric (compareIdx orders source prefixes
// by their bytes, compareRouteKeys IPv4 ones first), so only those are
// sorted again. order is spent.
func sortRoutesKeyed(routes []Route, order []int32, runs []headRun) {
	for _, r := range runs {
		slices.SortFunc(order[r.start:r.end], func(a, b int32) int {
			if c := compareRouteKeys(&routes[a], &routes[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
	}
	for i, o := range order {
		if o != int32(i) {
			permuteRoutes(routes, order)
			return
		}
	}
}

// sameIdxHead reports whether a and b are the same key up to the metric.
func sameIdxHead(a, b *routeIdx) bool {
	return a.table == b.table && a.fam == b.fam && a.addrHi == b.addrHi && a.addrLo == b.addrLo &&
		a.bits == b.bits && a.tos == b.tos && a.metric == b.metric
}

// permuteRoutes moves routes[order[i]] to routes[i] for every i along the
// permutation's cycles, each route once, instead of swapping 248-byte
// structs through a sort. order is spent.
func permuteRoutes(routes []Route, order []int32) {
	for i := range order {
		if order[i] < 0 {
			continue
		}
		tmp := routes[i]
		j := i
		for {
			k := int(order[j])
			order[j] = -1
			if k == i {
				routes[j] = tmp
				break
			}
			routes[j] = routes[k]
			j = k
		}
	}
}
