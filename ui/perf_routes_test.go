package ui

import (
	"net/netip"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// manyRoutes is the sandbox with n routes in table 13 behind a rule, as a
// table fed by BGP has them: half nictab's, half someone else's.
func manyRoutes(n int) netcfg.State {
	s := sandboxState()
	r := netcfg.NewRule()
	r.Family, r.Priority, r.Table, r.Proto, r.From = netcfg.V4, 900, 13, netcfg.ProtoBoot, pfx("10.99.0.0/16")
	s.Rules = append(s.Rules, r)
	for i := range n {
		rt := netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Gw: addr("192.168.10.1"), Dev: "eno1", Proto: netcfg.ProtoBoot,
			Dst: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), 0}), 24)}
		if i%2 == 0 {
			rt.Proto = netcfg.ProtoNictab
		}
		s.Routes = append(s.Routes, rt)
	}
	s.Complete = []uint32{13, 100}
	return s
}

// routesOpen is a model on the routes screen of table 13 of st.
func routesOpen(b *testing.B, st netcfg.State) Model {
	m := loaded(st)
	next, _ := m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	next, _ = next.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	m = next.(Model)
	if m.screen != screenRoutes || m.routes.table != 13 {
		b.Fatalf("screen %v, table %d", m.screen, m.routes.table)
	}
	return m
}

// BenchmarkKeystroke100kRoutes is one keystroke on the routes screen of a
// table of a hundred thousand routes: the update and the frame.
func BenchmarkKeystroke100kRoutes(b *testing.B) {
	m := routesOpen(b, manyRoutes(100000))
	b.ReportAllocs()
	for b.Loop() {
		next, _ := m.Update(down)
		m = next.(Model)
		_ = m.frame()
	}
}

// BenchmarkFilterKeystroke100kRoutes is one more letter of a filter on
// that table, then back, so each round filters again.
func BenchmarkFilterKeystroke100kRoutes(b *testing.B) {
	m := routesOpen(b, manyRoutes(100000))
	for _, k := range []tea.KeyPressMsg{{Code: '/', Text: "/"}, {Code: '1', Text: "1"}, {Code: '0', Text: "0"}} {
		next, _ := m.Update(k)
		m = next.(Model)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		k := tea.KeyPressMsg{Code: '.', Text: "."}
		if i%2 == 1 {
			k = tea.KeyPressMsg{Code: tea.KeyBackspace}
		}
		next, _ := m.Update(k)
		m = next.(Model)
		_ = m.frame()
	}
}

// BenchmarkFilterOpen100kRoutes is `/` on that table: the rows' texts are
// made then, once.
func BenchmarkFilterOpen100kRoutes(b *testing.B) {
	m := routesOpen(b, manyRoutes(100000))
	b.ReportAllocs()
	for b.Loop() {
		m.routes.hay = nil
		next, _ := m.Update(tea.KeyPressMsg{Code: '/', Text: "/"})
		next, _ = next.Update(tea.KeyPressMsg{Code: tea.KeyEscape})
		m = next.(Model)
	}
}

// BenchmarkKeystroke10kRulesEdited is BenchmarkKeystroke10kRules with
// edits pending: a rule deleted and one added, which every row shown is
// checked against.
func BenchmarkKeystroke10kRulesEdited(b *testing.B) {
	st := manyRules(10000)
	m := loaded(st)
	gone := netcfg.RuleIntent{Priority: 2000, From: pfx("10.0.0.0/32"), Table: netcfg.TableRef{ID: 1000}}
	added := netcfg.RuleIntent{Priority: 1100, FwMark: &netcfg.FwMark{Value: 0x13, Mask: 0xffffffff}, Table: netcfg.TableRef{ID: 13}}
	m.base = netcfg.Intent{Rules: []netcfg.RuleIntent{gone}}
	m.edits = m.edits.push(op{kind: opRule, ruleBefore: &gone, what: "deletion"}).push(op{kind: opRule, ruleAfter: &added, what: "new rule"})
	next, _ := m.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	next, _ = next.Update(tea.KeyPressMsg{Code: tea.KeyTab})
	m = next.(Model)
	if !m.show.Rules[len(m.show.Rules)-1].Pending {
		b.Fatal("the new rule is not listed")
	}
	b.ReportAllocs()
	for b.Loop() {
		next, _ := m.Update(down)
		m = next.(Model)
		_ = m.frame()
	}
}
