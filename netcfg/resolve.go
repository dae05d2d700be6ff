package netcfg

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/nictab/nictab/internal/prefault"
)

// Desired is the set of rules, routes and table names nictab should own
// after an apply, with what planning and summaries need beside it. Owned
// has no tag, so encoding/json writes its fields as Desired's own.
type Desired struct {
	Owned
	// Tables are the tables the intent manages, ascending: their routes are
	// read in full before planning.
	Tables []uint32 `json:"tables"`
	// Notes tell a person what was planned differently from what they
	// might expect, such as a NIC that needs a gateway.
	Notes []Note `json:"notes,omitempty"`
	// NICs records, per NIC of the intent, the table and the gateways that
	// were used, for summaries.
	NICs []NICPlan `json:"nics,omitempty"`
	// changes is room for the changes of the first plan made from it,
	// mapped while it was resolved (mapPlaced); nil for none.
	changes *room[Change]
}

// room is a slice made and mapped ahead of the work that fills it, for
// the first to take it: copies of what holds it share it.
type room[T any] struct {
	taken atomic.Bool
	s     []T
}

// roomMin and roomMax bound the rooms made ahead: below, the work maps
// its own in no time; above, a million routes' worth would be mapped
// before the collector can free what went before (see prefault).
const (
	roomMin = 1 << 20
	roomMax = 64 << 20
)

// newRoom returns room for n values of T, or nil when that is outside
// roomMin to roomMax.
func newRoom[T any](n int) *room[T] {
	var zero T
	if size := uintptr(n) * unsafe.Sizeof(zero); size < roomMin || size > roomMax {
		return nil
	}
	return &room[T]{s: make([]T, 0, n)}
}

// mapAhead maps the room's pages on another goroutine.
func (r *room[T]) mapAhead() {
	if r != nil {
		go prefault.Slice(r.s)
	}
}

// take returns the room, empty, when it holds n values and was not taken
// before; nil otherwise.
func (r *room[T]) take(n int) []T {
	if r == nil || n > cap(r.s) || !r.taken.CompareAndSwap(false, true) {
		return nil
	}
	return r.s[:0]
}

// NICPlan is how one NIC of an intent was resolved.
type NICPlan struct {
	Name     string       `json:"name"`
	Table    uint32       `json:"table"`
	Gateways []netip.Addr `json:"gateways,omitempty"`
	Priority uint32       `json:"priority"`
}

// Note is a remark about a resolved intent, tied to the field it concerns.
type Note struct {
	Field string `json:"field,omitempty"`
	Text  string `json:"text"`
}

// v6DefaultMetric is the metric the kernel gives an IPv6 route added
// without one; a desired route says it so it reads back identical.
const v6DefaultMetric = 1024

// NormalizeRoute fills in what the kernel fills in when a route is added,
// so that a desired route compares equal to the same route read back.
func NormalizeRoute(r *Route) {
	if r.Type == RouteUnspec {
		r.Type = RouteUnicast
	}
	if r.Family() == V6 {
		r.Scope = ScopeUniverse
		if r.Metric == 0 {
			r.Metric = v6DefaultMetric
		}
		if r.Dst.Addr().Is4In6() {
			r.Dst = netip.PrefixFrom(r.Dst.Addr().Unmap(), r.Dst.Bits()-96)
		}
	}
	r.Dst = r.Dst.Masked()
}

// Resolve turns an intent into the concrete rules, routes and names it
// means against live, as SPEC.md's "Semantics" section says. Every problem
// found is returned, each as a *FieldError, joined.
func Resolve(in Intent, live State, pr PriorityRange) (Desired, error) {
	r := newResolver(in, live, pr)
	r.collect()
	d, err := r.finish((*resolver).placeRoutes)
	if err == nil {
		// Mapped while the plan starts: it writes the room from its
		// start, slower than the kernel maps it.
		d.changes.mapAhead()
	}
	return d, err
}

func newResolver(in Intent, live State, pr PriorityRange) *resolver {
	r := &resolver{in: in, live: live, pr: pr, used: map[uint32]bool{}, names: map[string]uint32{}}
	// Room for every route's key: growing a slice of 100k of them by
	// doubling copies several times that.
	r.keys = make([]routeIdx, 0, len(in.Routes)+4*len(in.NICs))
	prefault.Slice(r.keys)
	r.tmplOf = make([]int32, 0, len(in.Routes))
	r.placed, r.d.changes = mapPlaced(len(in.Routes)+4*len(in.NICs), live)
	return r
}

type resolver struct {
	in    Intent
	live  State
	pr    PriorityRange
	errs  []error
	d     Desired
	used  map[uint32]bool // priorities allocated in this resolve
	names map[string]uint32
	// The desired routes are numbered in the order they are found: the
	// NICs' routes, in d.Routes until finish, then the intent's own but
	// those refused, whose positions skipped lists. keys[p] is route p's
	// key. origin[p] is where in the intent NIC route p came from, as
	// originField reads it: a string per route would be 100k of them for
	// the error that names one.
	origin  []int32
	skipped []int32
	keys    []routeIdx
	// devOK is the last device a route named that is known to exist:
	// the routes of a file mostly name one.
	devOK string
	// gotos are the explicit goto rules, checked once every rule has its
	// priority.
	gotos []gotoRule
	// tmpls are the attributes the intent's routes share (routeTemplate);
	// tmplOf[i] is the one of the i-th intent route collected, -1 for
	// none.
	tmpls  []routeTemplate
	tmplOf []int32
	// placed is the room placeRoutes fills, made and mapped ahead
	// (mapPlaced).
	placed []Route
}

// addRoute appends rt, normalised, to the desired routes; from is where
// in the intent it came from (see originField).
func (r *resolver) addRoute(from int32, rt *Route) {
	r.d.Routes = append(r.d.Routes, *rt)
	NormalizeRoute(&r.d.Routes[len(r.d.Routes)-1])
	r.origin = append(r.origin, from)
	r.keys = append(r.keys, routeIdxOf(&r.d.Routes[len(r.d.Routes)-1]))
}

// originOfNIC is the origin of the routes of nics[i]; routes[i]'s is i.
func originOfNIC(i int) int32 { return -int32(i) - 1 }

// originField is the intent field of an origin.
func originField(o int32) string {
	if o < 0 {
		return fmt.Sprintf("nics[%d].table", -o-1)
	}
	return fmt.Sprintf("routes[%d]", o)
}

func (r *resolver) fail(err *FieldError) { r.errs = append(r.errs, err) }

// collect resolves every part of the intent, its routes up to their keys.
func (r *resolver) collect() {
	ids := map[uint32]int{}
	for i, t := range r.in.Tables {
		f := fmt.Sprintf("tables[%d]", i)
		if ReservedTable(t.ID) {
			r.fail(fieldErr(f+".id", "table %d is reserved by the kernel (0 unspec, 253 default, 254 main, 255 local); use 1–252 or 256–4294967295", t.ID))
			continue
		}
		if j, dup := ids[t.ID]; dup {
			r.fail(fieldErr(f+".id", "table %d is defined twice (also tables[%d])", t.ID, j))
			continue
		}
		ids[t.ID] = i
		if t.Name == "" {
			continue
		}
		if !ValidTableName(t.Name) {
			r.fail(fieldErr(f+".name", "%q is not a usable table name (printable ASCII without spaces or #, not a number, at most 64 bytes, as rt_tables reads it)", t.Name))
			continue
		}
		if _, dup := r.names[t.Name]; dup {
			r.fail(fieldErr(f+".name", "table name %q is used twice", t.Name))
			continue
		}
		if id, ok := r.live.Names.TableID(t.Name); ok && id != t.ID && !r.ownedName(t.Name) {
			r.fail(fieldErr(f+".name", "%q already names table %d in %s", t.Name, id, r.live.Names.Dir))
			continue
		}
		r.names[t.Name] = t.ID
		r.d.Names = append(r.d.Names, TableName{ID: t.ID, Name: t.Name})
	}
	seen := map[string]int{}
	for i, n := range r.in.NICs {
		if j, dup := seen[n.Name]; dup {
			r.fail(fieldErr(fmt.Sprintf("nics[%d].name", i), "NIC %s is listed twice (also nics[%d])", n.Name, j))
			continue
		}
		seen[n.Name] = i
		r.nic(i, n)
	}
	for i, x := range r.in.Rules {
		r.rule(i, x)
	}
	r.checkGotos()
	for i := range r.in.Routes {
		r.route(i, &r.in.Routes[i])
	}
}

// finish checks and sorts the routes collect found, through place, and
// the rest of the desired state.
func (r *resolver) finish(place func(*resolver) []Route) (Desired, error) {
	routes := place(r)
	if len(r.errs) > 0 {
		return Desired{}, errors.Join(r.errs...)
	}
	r.d.Routes = routes
	slices.SortFunc(r.d.Rules, func(a, b Rule) int { return CompareRules(&a, &b) })
	slices.SortFunc(r.d.Names, func(a, b TableName) int { return cmpU32(a.ID, b.ID) })
	slices.Sort(r.d.Tables)
	r.d.Tables = slices.Compact(r.d.Tables)
	return r.d, nil
}

// ownedName reports whether nictab's own names file holds name, so that a
// rename of one of its tables is not refused as a clash.
func (r *resolver) ownedName(name string) bool {
	return slices.ContainsFunc(r.live.Names.OwnedTables(), func(t TableName) bool { return t.Name == name })
}

// table returns the id ref names, or fails at the field field returns,
// which is made only then.
func (r *resolver) table(field func() string, ref TableRef) (uint32, bool) {
	id := ref.ID
	if ref.Name != "" {
		var ok bool
		if id, ok = r.names[ref.Name]; !ok {
			if id, ok = r.live.Names.TableID(ref.Name); !ok {
				r.fail(fieldErr(field(), "no table is named %q: define it under tables: (e.g. {id: 13, name: %s}) or use its id", ref.Name, ref.Name))
				return 0, false
			}
		}
	}
	if ReservedTable(id) {
		r.fail(fieldErr(field(), "table %d is reserved by the kernel (0 unspec, 253 default, 254 main, 255 local); use 1–252 or 256–4294967295", id))
		return 0, false
	}
	// Sorted and made unique at the end; a run of routes of one table
	// adds it once.
	if k := len(r.d.Tables); k == 0 || r.d.Tables[k-1] != id {
		r.d.Tables = append(r.d.Tables, id)
	}
	return id, true
}

func (r *resolver) nic(i int, n NICIntent) {
	f := fmt.Sprintf("nics[%d]", i)
	link, ok := r.live.Link(n.Name)
	if !ok {
		var have []string
		for _, l := range r.live.Links {
			if !l.Loopback {
				have = append(have, l.Name)
			}
		}
		r.fail(fieldErr(f+".name", "no NIC named \"%s\" here (NICs: %s)", n.Name, strings.Join(have, ", ")))
		return
	}
	table, ok := r.table(func() string { return f + ".table" }, n.Table)
	if !ok {
		return
	}
	var addrs []netip.Prefix
	fams := map[Family]bool{}
	for _, a := range link.Addrs {
		// Link-local IPv6 addresses exist on every NIC and never source
		// routed traffic; rules and routes for them would only add noise.
		if a.Prefix.Addr().Is6() && a.Prefix.Addr().IsLinkLocalUnicast() {
			continue
		}
		addrs = append(addrs, a.Prefix)
		fams[FamilyOf(a.Prefix.Addr())] = true
	}
	np := NICPlan{Name: n.Name, Table: table}

	gws := map[Family]netip.Addr{}
	for j, g := range n.Gateways {
		gf := fmt.Sprintf("%s.gateway", f)
		if len(n.Gateways) > 1 {
			gf = fmt.Sprintf("%s.gateway[%d]", f, j)
		}
		fam := FamilyOf(g)
		if _, dup := gws[fam]; dup {
			r.fail(fieldErr(gf, "more than one %s gateway", fam))
			continue
		}
		if !onLink(g, addrs) {
			r.fail(fieldErr(gf, "gateway %s is outside every prefix of %s (%s)", g, n.Name, prefixList(addrs, fam)))
			continue
		}
		if why := gatewayProblem(g, addrs); why != "" {
			r.fail(fieldErr(gf, "gateway %s is %s of %s: packets sent there go nowhere", g, why, n.Name))
			continue
		}
		gws[fam] = g
	}
	for _, fam := range []Family{V4, V6} {
		if !fams[fam] {
			continue
		}
		if _, ok := gws[fam]; ok {
			continue
		}
		if g, ok := r.live.Gateway(n.Name, fam); ok {
			gws[fam] = g
			continue
		}
		r.d.Notes = append(r.d.Notes, Note{Field: f + ".gateway", Text: fmt.Sprintf("%s needs a gateway: main has no %s default route through it, so table %d gets no %s default route (give one with gateway:)", n.Name, fam, table, fam)})
	}

	prio, ok := r.nicPriority(f, n, link, table)
	if !ok {
		return
	}
	np.Priority = prio

	sel := n.Select
	if len(sel) == 0 {
		sel = []Selector{SelectFrom}
	}
	for _, s := range sel {
		switch s {
		case SelectFrom:
			for _, a := range addrs {
				rl := r.newRule(FamilyOf(a.Addr()), prio, table)
				rl.From = netip.PrefixFrom(a.Addr(), a.Addr().BitLen())
				r.d.Rules = append(r.d.Rules, rl)
			}
		case SelectOIF, SelectIIF, SelectFwmark:
			if s == SelectFwmark && n.FwMark == nil {
				r.fail(fieldErr(f+".select", "select: [fwmark] needs fwmark: (e.g. fwmark: 0x13)"))
				return
			}
			for _, fam := range []Family{V4, V6} {
				if !fams[fam] {
					continue
				}
				rl := r.newRule(fam, prio, table)
				switch s {
				case SelectOIF:
					rl.OIF = n.Name
				case SelectIIF:
					rl.IIF = n.Name
				case SelectFwmark:
					m := *n.FwMark
					rl.Mark = &m
				}
				r.d.Rules = append(r.d.Rules, rl)
			}
		default:
			r.fail(fieldErr(f+".select", "unknown selector %q (want from, oif, iif or fwmark)", s))
			return
		}
	}
	if n.FwMark != nil && !slices.Contains(sel, SelectFwmark) {
		r.fail(fieldErr(f+".fwmark", "fwmark is set but select does not include fwmark"))
		return
	}

	// One connected route per prefix, sourced from its first address.
	seenPrefix := map[netip.Prefix]bool{}
	for _, a := range addrs {
		p := a.Masked()
		if seenPrefix[p] || a.Bits() == a.Addr().BitLen() {
			continue
		}
		seenPrefix[p] = true
		r.addRoute(originOfNIC(i), &Route{Table: table, Type: RouteUnicast, Dst: p, Dev: n.Name, Src: a.Addr(), Scope: ScopeLink, Proto: ProtoNictab})
	}
	for _, fam := range []Family{V4, V6} {
		g, ok := gws[fam]
		if !ok {
			continue
		}
		dst := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if fam == V6 {
			dst = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
		r.addRoute(originOfNIC(i), &Route{Table: table, Type: RouteUnicast, Dst: dst, Gw: g, Dev: n.Name, Scope: ScopeUniverse, Proto: ProtoNictab})
		np.Gateways = append(np.Gateways, g)
	}
	r.d.NICs = append(r.d.NICs, np)
}

func (r *resolver) newRule(f Family, prio, table uint32) Rule {
	rl := NewRule()
	rl.Family = f
	rl.Priority = prio
	rl.Table = table
	rl.Proto = ProtoNictab
	return rl
}

func onLink(g netip.Addr, addrs []netip.Prefix) bool {
	if g.Is6() && g.IsLinkLocalUnicast() {
		return true
	}
	for _, p := range addrs {
		if p.Masked().Contains(g) {
			return true
		}
	}
	return false
}

func prefixList(ps []netip.Prefix, f Family) string {
	var s []string
	for _, p := range ps {
		if FamilyOf(p.Addr()) == f {
			s = append(s, p.String())
		}
	}
	if len(s) == 0 {
		return "it has no " + f.String() + " address"
	}
	return strings.Join(s, ", ")
}

// IfNameProblem says what makes s unusable as an interface name, following
// the kernel's dev_valid_name, or "" when it is usable.
func IfNameProblem(s string) string {
	switch {
	case s == "":
		return "it is empty"
	case len(s) > 15:
		return fmt.Sprintf("%d bytes long, the kernel allows 15", len(s))
	case s == "." || s == "..":
		return "the kernel refuses . and .."
	}
	for _, c := range []byte(s) {
		if c == '/' || c == ':' || c == 0 || c == ' ' || (c >= '\t' && c <= '\r') {
			return "it may not hold '/', ':' or white space"
		}
	}
	return ""
}

func (r *resolver) route(i int, x *RouteIntent) {
	if !r.intentRouteKey(i, x) {
		r.skipped = append(r.skipped, int32(i))
	}
}

// intentRouteKey checks routes[i] and adds its key, or fails.
func (r *resolver) intentRouteKey(i int, x *RouteIntent) bool {
	// The field is named only for an error.
	f := func() string { return fmt.Sprintf("routes[%d]", i) }
	table, ok := r.table(func() string { return f() + ".table" }, x.Table)
	if !ok {
		return false
	}
	if !x.To.IsValid() {
		r.fail(fieldErr(f()+".to", "a route needs a destination (to: 10.0.0.0/8, or to: default)"))
		return false
	}
	if x.Via.IsValid() && FamilyOf(x.Via) != FamilyOf(x.To.Addr()) && FamilyOf(x.To.Addr()) == V6 {
		r.fail(fieldErr(f()+".via", "an IPv6 route cannot go via the IPv4 address %s", x.Via))
		return false
	}
	if x.Dev != "" && x.Dev != r.devOK {
		if _, ok := r.live.Link(x.Dev); !ok {
			r.fail(fieldErr(f()+".dev", "no NIC named \"%s\" here", x.Dev))
			return false
		}
		r.devOK = x.Dev
	}
	if (x.Type == RouteUnspec || x.Type == RouteUnicast) && !x.Via.IsValid() && x.Dev == "" {
		r.fail(fieldErr(f(), "a unicast route needs via: or dev:"))
		return false
	}
	// The route itself is made once, where it goes in the sorted list
	// (placeRoutes); here only its key.
	var rt Route
	intentRoute(&rt, x, table, false)
	r.keys = append(r.keys, routeIdxOf(&rt))
	t := int32(-1)
	if x.MTU == 0 && x.AdvMSS == 0 {
		t = r.template(&rt)
	}
	r.tmplOf = append(r.tmplOf, t)
	return true
}
