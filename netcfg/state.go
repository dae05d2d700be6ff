package netcfg

import (
	"cmp"
	"net/netip"
	"slices"
)

// State is what detection read from one network namespace.
//
// Routes holds only what was asked for: the default routes of the main
// table (they give each NIC's gateway), the tables listed in Complete, and
// with AllOwned every route nictab owns in any table. A full Internet table
// in main is never read unless a caller asks for it.
type State struct {
	Links  []Link  `json:"links"`
	Rules  []Rule  `json:"rules"`
	Routes []Route `json:"routes"`
	// Complete lists the tables whose every route is in Routes, ascending.
	Complete []uint32 `json:"complete_tables"`
	// AllOwned is true when every route nictab owns, in any table, is in
	// Routes; with a full table in main, every one in a table a rule or a
	// name refers to (see readOwned), and for the state Apply reads before
	// and after its writes, every one in the tables the plan depends on
	// (see ReadPrior).
	AllOwned bool  `json:"all_owned"`
	Names    Names `json:"names"`
	// reading is DetectOptions.Reading while Detect reads into the state.
	reading func([]Route)
}

// Link returns the link with the given name.
func (s *State) Link(name string) (*Link, bool) {
	for i := range s.Links {
		if s.Links[i].Name == name {
			return &s.Links[i], true
		}
	}
	return nil, false
}

// LinkByIndex returns the link with the given ifindex.
func (s *State) LinkByIndex(index int) (*Link, bool) {
	for i := range s.Links {
		if s.Links[i].Index == index {
			return &s.Links[i], true
		}
	}
	return nil, false
}

// HasTable reports whether every route of table id was read.
func (s *State) HasTable(id uint32) bool {
	_, ok := slices.BinarySearch(s.Complete, id)
	return ok
}

// MarkComplete records that every route of table id is in s.Routes. It
// gives s a Complete of its own, so a State copied from s (the guard's
// rounds copy one) keeps the list it had.
func (s *State) MarkComplete(id uint32) {
	out := slices.Clone(s.Complete)
	if i, ok := slices.BinarySearch(out, id); !ok {
		out = slices.Insert(out, i, id)
	}
	s.Complete = out
}

// TableRoutes returns the routes read for table id, in the order read.
func (s *State) TableRoutes(id uint32) []Route {
	var out []Route
	for _, r := range s.Routes {
		if r.Table == id {
			out = append(out, r)
		}
	}
	return out
}

// Gateway is a default route of the main table that leaves through a NIC.
type Gateway struct {
	Addr   netip.Addr `json:"addr"`
	Metric uint32     `json:"metric"`
}

// Gateways returns, for the named NIC, the gateways of the main table's
// default routes that leave through it, per family the preferred (lowest
// metric) first.
func (s *State) Gateways(dev string) []Gateway {
	var out []Gateway
	for i := range s.Routes {
		r := &s.Routes[i]
		if r.Table != TableMain || !r.IsDefault() || r.Type != RouteUnicast {
			continue
		}
		if r.Dev == dev && r.Gw.IsValid() {
			out = append(out, Gateway{Addr: r.Gw, Metric: r.Metric})
		}
		for _, nh := range r.MultiPath {
			if nh.Dev == dev && nh.Gw.IsValid() {
				out = append(out, Gateway{Addr: nh.Gw, Metric: r.Metric})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Gateway) int {
		if c := cmp.Compare(FamilyOf(a.Addr), FamilyOf(b.Addr)); c != 0 {
			return c
		}
		return cmp.Compare(a.Metric, b.Metric)
	})
	return slices.CompactFunc(out, func(a, b Gateway) bool { return a.Addr == b.Addr })
}

// Gateway returns the preferred gateway of family f through the NIC.
func (s *State) Gateway(dev string, f Family) (netip.Addr, bool) {
	for _, g := range s.Gateways(dev) {
		if FamilyOf(g.Addr) == f {
			return g.Addr, true
		}
	}
	return netip.Addr{}, false
}

// TableUse says which table a NIC's traffic is sent to, and by which rule.
type TableUse struct {
	Table uint32 `json:"table"`
	Rule  Rule   `json:"rule"`
}

// NICTables returns the tables that rules send the NIC's own traffic to: a
// lookup rule whose source selector holds one of the NIC's addresses, or
// whose iif or oif is the NIC. Rules for main, local and default are the
// kernel's usual path and not reported. Results follow rule priority.
func (s *State) NICTables(l *Link) []TableUse {
	var out []TableUse
	for _, r := range s.Rules {
		if r.Action != ActionLookup || r.Not || ReservedTable(r.Table) {
			continue
		}
		if !ruleSelectsNIC(&r, l) {
			continue
		}
		if slices.ContainsFunc(out, func(u TableUse) bool { return u.Table == r.Table }) {
			continue
		}
		out = append(out, TableUse{Table: r.Table, Rule: r})
	}
	return out
}

func ruleSelectsNIC(r *Rule, l *Link) bool {
	if r.IIF == l.Name || r.OIF == l.Name {
		return true
	}
	if !r.From.IsValid() || r.From.Bits() == 0 {
		return false
	}
	for _, a := range l.Addrs {
		if r.From.Contains(a.Prefix.Addr()) {
			return true
		}
	}
	return false
}

// OwnedRules returns the rules nictab installed.
func (s *State) OwnedRules() []Rule {
	var out []Rule
	for _, r := range s.Rules {
		if r.Owned() {
			out = append(out, r)
		}
	}
	return out
}

// OwnedRoutes returns the routes nictab installed among those read.
func (s *State) OwnedRoutes() []Route {
	// Counted first: a Route is 336 bytes, and a slice of 100k grown by
	// doubling allocates several times what it keeps.
	n := 0
	for i := range s.Routes {
		if s.Routes[i].Owned() {
			n++
		}
	}
	if n == 0 {
		return nil
	}
	out := make([]Route, 0, n)
	for _, r := range s.Routes {
		if r.Owned() {
			out = append(out, r)
		}
	}
	return out
}

// ownedRun is OwnedRoutes without the copy when nictab's routes are one
// run of s.Routes (a table read back whole, beside none or other tables
// of others'): the run itself, capped so that an append copies.
func (s *State) ownedRun() ([]Route, bool) {
	start, end := -1, -1
	for i := range s.Routes {
		if !s.Routes[i].Owned() {
			continue
		}
		if start < 0 {
			start = i
		} else if end != i {
			return nil, false
		}
		end = i + 1
	}
	if start < 0 {
		return nil, true
	}
	return s.Routes[start:end:end], true
}

// RuleTables returns every table a lookup rule refers to, ascending.
func (s *State) RuleTables() []uint32 {
	var out []uint32
	for _, r := range s.Rules {
		if r.Action == ActionLookup && r.Table != 0 {
			out = append(out, r.Table)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
