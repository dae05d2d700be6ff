package ui

import (
	"strconv"

	"github.com/nictab/nictab/netcfg"
)

// pendingCounts sets, on each listed table, the rules and routes the
// pending edits add to it and take from it: explicit rules and routes
// added, edited or deleted on screen, and everything of nictab's in a
// table the edits delete. A NIC's assignment is counted by the preview,
// which resolves it.
func (m *Model) pendingCounts(tables []TableView) {
	if m.edits.len() == 0 {
		return
	}
	idx := make(map[uint32]int, len(tables))
	for i := range tables {
		idx[tables[i].ID] = i
	}
	gone := map[uint32]bool{}
	routeDeletes := false
	for _, o := range m.edits.ops {
		switch {
		case o.kind == opTable && o.tableBefore != nil && o.tableAfter == nil:
			gone[o.tableBefore.ID] = true
			routeDeletes = true
		case o.kind == opRoute && o.routeBefore != nil:
			routeDeletes = true
		}
	}
	for i := range m.show.Rules {
		rv := &m.show.Rules[i]
		j, ok := idx[rv.Table]
		if !ok || rv.Action != netcfg.ActionLookup {
			continue
		}
		switch {
		case rv.Pending:
			tables[j].RulesAdd++
		case rv.Owned && (gone[rv.Table] || m.pendingRuleMark(&rv.Rule) != ""):
			// An edit replaces the rule: the new one is counted as added.
			tables[j].RulesDel++
		}
	}
	for i := range tables {
		tables[i].RoutesAdd = len(m.pendingRoutes(tables[i].ID))
	}
	if !routeDeletes {
		return
	}
	for i := range m.state.Routes {
		r := &m.state.Routes[i]
		j, ok := idx[r.Table]
		if ok && r.Owned() && (gone[r.Table] || m.pendingRouteMark(r) != "" && m.pendingRouteMark(r) != "adopt") {
			tables[j].RoutesDel++
		}
	}
}

// countDelta is "+1", "-2", "+1-2", or "" for no change.
func countDelta(add, del int) string {
	s := ""
	if add > 0 {
		s += "+" + strconv.Itoa(add)
	}
	if del > 0 {
		s += "-" + strconv.Itoa(del)
	}
	return s
}
