package ui

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// Routes on screen: new, edited and deleted explicit routes of nictab's
// tables, each an edit of the pending intent, checked as typed.

// routeEntry is an explicit route of the intent that a form edits.
type routeEntry struct{ intent netcfg.RouteIntent }

// The route form's fields, in order.
const (
	xfTable = iota
	xfTo
	xfVia
	xfDev
	xfSrc
	xfScope
	xfMetric
	xfType
	xfMTU
	xfAdvMSS
)

// intentRouteMakes reports whether resolving x gives the live route r.
func (m *Model) intentRouteMakes(x *netcfg.RouteIntent, r *netcfg.Route) bool {
	want := netcfg.Route{Table: m.refID(x.Table), Type: x.Type, Dst: x.To, Gw: x.Via, Dev: x.Dev, Src: x.Src, Metric: x.Metric}
	netcfg.NormalizeRoute(&want)
	if r.Metrics.Get(netcfg.RTAXMTU) != x.MTU || r.Metrics.Get(netcfg.RTAXAdvMSS) != x.AdvMSS {
		return false
	}
	if x.Scope != nil && *x.Scope != r.Scope {
		return false
	}
	return want.Table == r.Table && want.Type == r.Type && want.Dst == r.Dst && want.Gw == r.Gw && want.Dev == r.Dev &&
		want.Src == r.Src && want.Metric == r.Metric
}

// routeSource says where a live route of nictab's comes from in the
// pending intent: an explicit entry, or the NIC whose assignment makes it.
func (m *Model) routeSource(r *netcfg.Route) (entry *netcfg.RouteIntent, nic string) {
	in := m.intent()
	for i := range in.Routes {
		if x := &in.Routes[i]; m.intentRouteMakes(x, r) {
			return x, ""
		}
	}
	for _, n := range in.NICs {
		if n.Name == r.Dev && m.refID(n.Table) == r.Table {
			return nil, n.Name
		}
	}
	return nil, ""
}

// openRouteForm opens the route form: empty but for the table for a new
// route, or filled from the entry it edits.
func (m *Model) openRouteForm(table uint32, before *netcfg.RouteIntent) {
	f := &editForm{kind: formRoute, title: "New route in table " + m.tableLabel(table)}
	x := netcfg.RouteIntent{Table: netcfg.TableRef{ID: table}}
	if before != nil {
		x = *before
		f.routeBefore = &routeEntry{intent: x}
		f.title = "Edit route " + netcfg.SafeText(routeIntentText(&x))
	}
	addrText := func(a netip.Addr) string {
		if !a.IsValid() {
			return ""
		}
		return a.String()
	}
	to := ""
	if x.To.IsValid() {
		to = x.To.String()
		if x.To.Bits() == 0 {
			to = "default"
		}
	}
	scope, typ, metric := "", "", ""
	if x.Scope != nil {
		scope = x.Scope.String()
	}
	if x.Type != netcfg.RouteUnspec && x.Type != netcfg.RouteUnicast {
		typ = x.Type.String()
	}
	if x.Metric != 0 {
		metric = strconv.FormatUint(uint64(x.Metric), 10)
	}
	f.addField(m.st, "Table", "id or name, e.g. 13", "", 64, x.Table.String())
	f.addField(m.st, "To", "e.g. 10.20.0.0/16 or default", "", 43, to)
	f.addField(m.st, "via", "e.g. 192.168.10.1", "empty: on-link through dev", 39, addrText(x.Via))
	f.addField(m.st, "dev", "e.g. eno1", "empty: the NIC via is reached through", 15, x.Dev)
	f.addField(m.st, "src", "e.g. 192.168.10.2", "empty: the kernel picks", 39, addrText(x.Src))
	f.addField(m.st, "scope", "e.g. link", "empty: link without via, else global", 8, scope)
	f.addField(m.st, "metric", "e.g. 100", "empty: 0 (IPv6: 1024)", 10, metric)
	f.addField(m.st, "type", "unicast", "empty: unicast; or blackhole, unreachable, prohibit, throw", 11, typ)
	numText := func(v uint32) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatUint(uint64(v), 10)
	}
	f.addField(m.st, "mtu", "e.g. 1400", "empty: the NIC's", 10, numText(x.MTU))
	f.addField(m.st, "advmss", "e.g. 1360", "empty: from the mtu", 10, numText(x.AdvMSS))
	f.focus = xfTo
	f.focusInput()
	m.form = f
	m.formFrom, m.screen = m.screen, screenForm
}

// checkRouteForm checks every field of the route form.
func (m *Model) checkRouteForm(f *editForm) formCheck {
	c := formCheck{problems: map[int]string{}, notes: map[int]string{}}
	var x netcfg.RouteIntent
	id, msg := m.checkTableRef(f.value(xfTable))
	if msg != "" {
		c.problems[xfTable] = msg
	}
	x.Table = netcfg.TableRef{ID: id}
	if id != 0 && msg == "" && !m.managedTable(id) {
		c.notes[xfTable] = "table " + m.tableLabel(id) + " is not nictab's: this route will be nictab's in someone else's table"
	}
	if s := f.value(xfType); s != "" {
		t, err := netcfg.ParseRouteType(s)
		switch {
		case err != nil:
			c.problems[xfType] = fmt.Sprintf("%q is not a route type (unicast, blackhole, unreachable, prohibit, throw, local, broadcast, anycast, multicast, nat)", s)
		case t != netcfg.RouteUnicast:
			x.Type = t
		}
	}
	addr := func(i int) netip.Addr {
		s := f.value(i)
		if s == "" {
			return netip.Addr{}
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			c.problems[i] = fmt.Sprintf("%q is not an address", s)
			return netip.Addr{}
		}
		return a.Unmap()
	}
	x.Via, x.Src = addr(xfVia), addr(xfSrc)
	switch s := f.value(xfTo); {
	case s == "":
		c.problems[xfTo] = "type the destination: a prefix such as 10.20.0.0/16, or default"
	case s == "default" || s == "all":
		x.To = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if x.Via.Is6() || x.Src.Is6() {
			x.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
	default:
		p, msg := parsePrefixOrAddr(s)
		if msg != "" {
			c.problems[xfTo] = msg
		}
		x.To = p
	}
	if x.To.IsValid() {
		v4 := x.To.Addr().Is4()
		if x.Via.IsValid() && !v4 && x.Via.Is4() {
			c.problems[xfVia] = "an IPv6 route cannot go via an IPv4 address"
		}
		if x.Src.IsValid() && x.Src.Is4() != v4 {
			c.problems[xfSrc] = "src must be of the destination's family"
		}
	}
	if s := f.value(xfDev); s != "" {
		if _, ok := m.state.Link(s); !ok {
			c.problems[xfDev] = "no NIC named " + netcfg.SafeText(s) + " here"
		}
		x.Dev = s
	}
	if s := f.value(xfScope); s != "" {
		sc, err := netcfg.ParseScope(s)
		if err != nil {
			c.problems[xfScope] = err.Error()
		}
		x.Scope = &sc
	}
	if s := f.value(xfMetric); s != "" {
		v, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			c.problems[xfMetric] = fmt.Sprintf("%q is not a number from 0 to 4294967295", s)
		}
		x.Metric = uint32(v)
	}
	for _, mf := range []struct {
		i   int
		dst *uint32
		min uint64
	}{{xfMTU, &x.MTU, 68}, {xfAdvMSS, &x.AdvMSS, 1}} {
		if s := f.value(mf.i); s != "" {
			v, err := strconv.ParseUint(s, 10, 32)
			if err != nil || v < mf.min {
				c.problems[mf.i] = fmt.Sprintf("%q is not a number from %d to 4294967295", s, mf.min)
				continue
			}
			*mf.dst = uint32(v)
		}
	}
	if (x.Type == netcfg.RouteUnspec || x.Type == netcfg.RouteUnicast) && !x.Via.IsValid() && x.Dev == "" {
		if _, bad := c.problems[xfVia]; !bad {
			c.problems[xfVia] = "a unicast route needs via or dev"
		}
	}
	if len(c.problems) > 0 {
		return c
	}
	in := m.intent()
	for i := range in.Routes {
		o := &in.Routes[i]
		if m.refID(o.Table) == id && o.To == x.To && o.Metric == x.Metric && (f.routeBefore == nil || !routeIntentEqual(&f.routeBefore.intent, o)) {
			c.problems[xfMetric] = "table " + m.tableLabel(id) + " already gets a route to " + x.To.String() + " at this metric: " + netcfg.SafeText(routeIntentText(o))
			return c
		}
	}
	c.op = op{kind: opRoute, routeAfter: &x}
	if f.routeBefore != nil {
		b := f.routeBefore.intent
		c.op.routeBefore = &b
		c.op.what = "edit of route " + routeIntentText(&b)
		c.meaning = "changes the route to: " + netcfg.SafeText(routeIntentText(&x)) + "."
	} else {
		c.op.what = "new route " + routeIntentText(&x)
		c.meaning = "adds the route: " + netcfg.SafeText(routeIntentText(&x)) + "."
	}
	return c
}

// routeIntentText is an explicit route as `ip route` would say it.
func routeIntentText(x *netcfg.RouteIntent) string {
	var s []string
	if x.Type != netcfg.RouteUnspec && x.Type != netcfg.RouteUnicast {
		s = append(s, x.Type.String())
	}
	dst := x.To.String()
	if x.To.IsValid() && x.To.Bits() == 0 {
		dst = "default"
	}
	s = append(s, dst)
	if x.Via.IsValid() {
		s = append(s, "via", x.Via.String())
	}
	if x.Dev != "" {
		s = append(s, "dev", x.Dev)
	}
	if x.Src.IsValid() {
		s = append(s, "src", x.Src.String())
	}
	if x.Scope != nil {
		s = append(s, "scope", x.Scope.String())
	}
	if x.Metric != 0 {
		s = append(s, "metric", strconv.FormatUint(uint64(x.Metric), 10))
	}
	if x.MTU != 0 {
		s = append(s, "mtu", strconv.FormatUint(uint64(x.MTU), 10))
	}
	if x.AdvMSS != 0 {
		s = append(s, "advmss", strconv.FormatUint(uint64(x.AdvMSS), 10))
	}
	return strings.Join(append(s, "table", x.Table.String()), " ")
}

// routeAction handles n, e, d and A on the routes screen.
func (m *Model) routeAction(act string) {
	rs := &m.routes
	if act == "new" {
		m.openRouteForm(rs.table, nil)
		return
	}
	r := rs.current()
	if r == nil {
		m.setFlash("no route is under the cursor", true)
		return
	}
	text := netcfg.SafeText(netcfg.RouteString(r))
	switch {
	case r.Proto == netcfg.ProtoKernel:
		m.setFlash("route "+text+" is the kernel's own: nictab leaves it alone", true)
		return
	case !r.Owned():
		if act != "adopt" {
			m.setFlash("route "+text+" is not nictab's: A adopts it (moving no packet), then it can be changed", true)
			return
		}
		m.adoptRoute(r)
		return
	case act == "adopt":
		m.setFlash("route "+text+" is nictab's already", true)
		return
	}
	entry, nic := m.routeSource(r)
	switch {
	case entry == nil && m.pendingRouteMark(r) == "delete":
		m.setFlash("route "+text+" is to be deleted already (u undoes)", true)
	case entry == nil && nic != "":
		m.setFlash("route "+text+" is made by "+netcfg.SafeText(nic)+"'s assignment: change it on the NICs pane (a)", true)
	case entry == nil:
		m.setFlash("route "+text+" is nictab's but in no entry of the intent: the next apply deletes it", true)
	case act == "edit":
		m.openRouteForm(rs.table, entry)
	case act == "delete":
		b := *entry
		m.edits = m.edits.push(op{kind: opRoute, routeBefore: &b, what: "deletion of route " + routeIntentText(&b)})
		m.setFlash("route "+netcfg.SafeText(routeIntentText(&b))+" will be deleted when applied (p previews, u undoes)", false)
	}
}

// adoptRoute marks a route of someone else's to be taken over.
func (m *Model) adoptRoute(r *netcfg.Route) {
	text := netcfg.SafeText(netcfg.RouteString(r))
	switch {
	case m.edits.adoptingRoute(r):
		m.setFlash("route "+text+" is marked for adoption already (u undoes)", true)
		return
	case len(r.Opaque()) > 0:
		m.setFlash("route "+text+" holds attributes nictab cannot reproduce: it is never adopted", true)
		return
	}
	if _, ok := netcfg.RouteIntentOf(r); !ok {
		m.setFlash("route "+text+" cannot be said in a snapshot's routes: `nictab snapshot save --adopt` takes it over with the rest", true)
		return
	}
	c := *r
	m.edits = m.edits.push(op{kind: opAdoptRoute, adoptRoute: &c, what: "adoption of route " + netcfg.RouteString(r)})
	m.setFlash("route "+text+" will become nictab's when applied, moving no packet (p previews, u undoes)", false)
}
