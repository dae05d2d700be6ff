package ui

import (
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// The routes screen: one table's routes, opened with enter on the tables
// pane. It lists only the rows that fit, and `/` narrows the rows already
// kept as a filter grows, so a table of a hundred thousand routes scrolls
// and filters as one of ten does.

type routesScreen struct {
	table uint32
	// rows are the indexes into State.Routes of the table's routes, in
	// the order they were read.
	rows []int
	// hay is each row's lowered text, made when a filter first needs it.
	hay    []string
	filter filter
	cursor int
	offset int
	// routes is the state's slice the rows index.
	routes []netcfg.Route
	// pending are the routes the edits add to the table that the kernel
	// does not hold yet, listed after the rows.
	pending []netcfg.Route
	// read is false when the table's routes were not read (no rule uses
	// it and nictab owns nothing in it).
	read bool
}

// load lists the table's routes of a state, keeping the cursor and the
// filter's text.
func (r *routesScreen) load(s *netcfg.State, table uint32, pending []netcfg.Route) {
	text, typing := r.filter.text, r.filter.typing
	if r.table != table {
		*r = routesScreen{}
		text, typing = "", false
	}
	r.table, r.routes, r.hay, r.pending = table, s.Routes, nil, pending
	r.read = s.HasTable(table)
	r.rows = r.rows[:0]
	for i := range s.Routes {
		if s.Routes[i].Table == table {
			r.rows = append(r.rows, i)
		}
	}
	r.filter = filter{text: text, typing: typing}
	if text != "" {
		r.filter.refilter("", r.haystack())
	}
}

func (r *routesScreen) haystack() []string {
	if r.hay != nil {
		return r.hay
	}
	// What a person looks for: owner, type, destination, gateway, NIC,
	// source, metric. Written into one buffer and cut into strings, as a
	// hundred thousand RouteStrings would take ten times as long.
	n := len(r.rows) + len(r.pending)
	r.hay = make([]string, n)
	buf := make([]byte, 0, 64*n)
	ends := make([]int, n)
	for i := range n {
		rt := r.row(i)
		if i >= len(r.rows) {
			buf = append(buf, "new "...)
		}
		switch {
		case rt.Owned():
			buf = append(buf, "nictab "...)
		case rt.Proto == netcfg.ProtoKernel:
			buf = append(buf, "kernel "...)
		default:
			buf = append(buf, "other "...)
		}
		if rt.Type != netcfg.RouteUnicast {
			buf = append(append(buf, rt.Type.String()...), ' ')
		}
		if rt.Dst.Bits() == 0 {
			buf = append(buf, "default "...)
		}
		buf = append(rt.Dst.AppendTo(buf), ' ')
		if rt.Gw.IsValid() {
			buf = append(rt.Gw.AppendTo(append(buf, "via "...)), ' ')
		}
		if rt.Dev != "" {
			buf = append(append(append(buf, "dev "...), strings.ToLower(rt.Dev)...), ' ')
		}
		if rt.Src.IsValid() {
			buf = append(rt.Src.AppendTo(append(buf, "src "...)), ' ')
		}
		buf = strconv.AppendUint(append(buf, "metric "...), uint64(rt.Metric), 10)
		ends[i] = len(buf)
	}
	all := string(buf)
	start := 0
	for i, e := range ends {
		r.hay[i] = all[start:e]
		start = e
	}
	return r.hay
}

// count is how many rows the screen lists now.
func (r *routesScreen) count() int {
	if r.filter.keep != nil {
		return len(r.filter.keep)
	}
	return len(r.rows) + len(r.pending)
}

// row is the route of row i of the whole list: read, then pending.
func (r *routesScreen) row(i int) *netcfg.Route {
	if i >= len(r.rows) {
		return &r.pending[i-len(r.rows)]
	}
	return &r.routes[r.rows[i]]
}

// isPending reports whether listed row i is a route only the edits make.
func (r *routesScreen) isPending(i int) bool {
	if r.filter.keep != nil {
		i = r.filter.keep[i]
	}
	return i >= len(r.rows)
}

// at is the route listed at row i.
func (r *routesScreen) at(i int) *netcfg.Route {
	if r.filter.keep != nil {
		i = r.filter.keep[i]
	}
	return r.row(i)
}

func (r *routesScreen) current() *netcfg.Route {
	if r.cursor < 0 || r.cursor >= r.count() {
		return nil
	}
	return r.at(r.cursor)
}

// routeRows is how many rows fit under the title and the column header.
func routeRows(height int) int { return max(height-2, 1) }

func (r *routesScreen) move(delta, height int) {
	n := r.count()
	r.cursor = min(max(r.cursor+delta, 0), max(n-1, 0))
	r.offset = window(r.cursor, r.offset, n, routeRows(height))
}

// openRoutes shows the routes of the table under the cursor.
func (m *Model) openRoutes() {
	if len(m.list.Tables) == 0 {
		m.setFlash("no table is under the cursor", true)
		return
	}
	t := m.list.Tables[m.nics.cursor[paneTables]]
	m.routes.load(&m.state, t.ID, m.pendingRoutes(t.ID))
	m.routes.move(0, m.bodyHeight())
	m.screen = screenRoutes
}

// routesKey handles a key on the routes screen.
func (m *Model) routesKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	r := &m.routes
	h := m.bodyHeight()
	f := &r.filter
	switch {
	case f.typing && msg.String() == "enter":
		f.typing = false
		return nil
	case key.Matches(msg, k.Back) && (f.typing || f.active()):
		if c := r.cursor; f.keep != nil && c < len(f.keep) {
			r.cursor = f.keep[c]
		}
		*f = filter{}
		r.move(0, h)
		return nil
	case f.typing:
		old := f.text
		if f.edit(msg) {
			if f.text != old {
				f.refilter(old, r.haystack())
				r.cursor, r.offset = 0, 0
			}
			return nil
		}
	case key.Matches(msg, k.Filter):
		f.typing = true
		r.haystack()
		return nil
	}
	page := max(routeRows(h)-1, 1)
	switch {
	case key.Matches(msg, k.Up):
		r.move(-1, h)
	case key.Matches(msg, k.Down):
		r.move(1, h)
	case key.Matches(msg, k.PageUp):
		r.move(-page, h)
	case key.Matches(msg, k.PageDown):
		r.move(page, h)
	case key.Matches(msg, k.Top):
		r.move(-r.count(), h)
	case key.Matches(msg, k.Bottom):
		r.move(r.count(), h)
	case key.Matches(msg, k.Back):
		m.screen = screenNICs
	case key.Matches(msg, k.Undo):
		m.undo()
	case m.caps.ReadOnly && (key.Matches(msg, k.New) || key.Matches(msg, k.Edit) || key.Matches(msg, k.Delete) || key.Matches(msg, k.Adopt) || key.Matches(msg, k.Preview)):
		m.setFlash("nothing changed: "+m.caps.Reason, true)
	case key.Matches(msg, k.New):
		m.routeAction("new")
	case key.Matches(msg, k.Edit):
		m.routeAction("edit")
	case key.Matches(msg, k.Delete):
		m.routeAction("delete")
	case key.Matches(msg, k.Adopt):
		m.routeAction("adopt")
	case key.Matches(msg, k.Preview):
		return m.openPreview()
	}
	return nil
}

// renderRoutes draws the routes screen.
func (m *Model) renderRoutes(w, h int) string {
	r := &m.routes
	st := m.st
	var b strings.Builder
	note := st.Muted.Render("  " + plural(len(r.rows), "route"))
	if len(r.pending) > 0 {
		note += st.Changed.Render(" +" + strconv.Itoa(len(r.pending)) + " new")
	}
	switch {
	case !r.read && m.managedTable(r.table) && len(r.rows) == 0:
		note = st.Muted.Render("  none yet")
	case !r.read && netcfg.ReservedTable(r.table):
		note = st.Muted.Render("  not read: the kernel's tables are not read here")
	case !r.read:
		note = st.Muted.Render("  not read: no rule uses it")
	}
	note += filterNote(&r.filter, len(r.rows)+len(r.pending), st)
	rows := routeRows(h)
	note = scrollNote(r.offset, rows, r.count(), st) + note
	if n := m.edits.len(); n > 0 {
		note += "  " + st.Changed.Render(plural(n, "unapplied edit"))
	}
	b.WriteString(paneTitle("Routes of table "+m.tableLabel(r.table), true, note, st))
	cols := []int{6, 7}
	b.WriteString("  " + st.Muted.Render(row(cols, "OWNER", "EDIT", "ROUTE")) + "\n")
	for i := r.offset; i < min(r.offset+rows, r.count()); i++ {
		rt := r.at(i)
		owner := "other"
		ownerCell := st.Warning.Render("!other")
		switch {
		case rt.Owned():
			owner, ownerCell = "nictab", st.Owned.Render("nictab")
		case rt.Proto == netcfg.ProtoKernel:
			owner, ownerCell = "kernel", st.Muted.Render("kernel")
		default:
			owner = "!other"
		}
		mark := m.pendingRouteMark(rt)
		if r.isPending(i) {
			mark = "new"
		}
		text := netcfg.SafeText(routeInTable(rt, &m.state.Names))
		sel := i == r.cursor
		line := row(cols, ownerCell, st.Changed.Render(mark), text)
		if sel {
			line = st.Selected.Render(row(cols, owner, mark, text))
		}
		b.WriteString(marker(sel) + cut(line, w-2) + "\n")
	}
	if r.count() == 0 {
		msg := "no route in this table"
		if r.filter.active() {
			msg = "no route matches the filter (esc clears it)"
		}
		b.WriteString("  " + st.Muted.Render(msg) + "\n")
	}
	return b.String()
}

// pendingRouteMark says what the edits do to a live route: "" for nothing.
func (m *Model) pendingRouteMark(r *netcfg.Route) string {
	if len(m.edits.ops) == 0 {
		return ""
	}
	if m.edits.adoptingRoute(r) {
		return "adopt"
	}
	for _, o := range m.edits.ops {
		if o.kind == opRoute && o.routeBefore != nil && m.intentRouteMakes(o.routeBefore, r) {
			if o.routeAfter == nil {
				return "delete"
			}
			return "change"
		}
	}
	return ""
}

// routeInTable is a route as the routes screen lists it: without its
// table, which the title names, and without a protocol the owner column
// says.
func routeInTable(r *netcfg.Route, names *netcfg.Names) string {
	line := RouteLine(r, names)
	args := strings.Fields(line)
	out := args[:0]
	for i := 0; i < len(args); i++ {
		switch {
		case args[i] == "table" && i+1 < len(args):
			i++
		case args[i] == "proto" && i+1 < len(args) && (r.Owned() || r.Proto == netcfg.ProtoKernel):
			i++
		default:
			out = append(out, args[i])
		}
	}
	return strings.Join(out, " ")
}

// pendingRoutes are the routes the pending intent adds to a table that
// the kernel does not hold yet, as the resolver makes them.
func (m *Model) pendingRoutes(table uint32) []netcfg.Route {
	if m.edits.len() == 0 {
		return nil
	}
	in := m.intent()
	var out []netcfg.Route
	for _, o := range m.edits.ops {
		x := o.routeAfter
		if o.kind != opRoute || x == nil || m.refID(x.Table) != table ||
			!slices.ContainsFunc(in.Routes, func(y netcfg.RouteIntent) bool { return routeIntentEqual(&y, x) }) {
			continue
		}
		if slices.ContainsFunc(m.state.Routes, func(l netcfg.Route) bool { return m.intentRouteMakes(x, &l) }) {
			continue
		}
		rt := netcfg.Route{Table: table, Type: x.Type, Dst: x.To, Gw: x.Via, Dev: x.Dev, Src: x.Src, Metric: x.Metric, Proto: netcfg.ProtoNictab}
		var metrics netcfg.Metrics
		metrics.Values[netcfg.RTAXMTU], metrics.Values[netcfg.RTAXAdvMSS] = x.MTU, x.AdvMSS
		rt.Metrics = metrics.Ptr()
		switch {
		case x.Scope != nil:
			rt.Scope = *x.Scope
		case (x.Type == netcfg.RouteUnspec || x.Type == netcfg.RouteUnicast) && !x.Via.IsValid():
			rt.Scope = netcfg.ScopeLink
		default:
			rt.Scope = netcfg.ScopeUniverse
		}
		netcfg.NormalizeRoute(&rt)
		out = append(out, rt)
	}
	return out
}
