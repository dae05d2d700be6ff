package ui

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// planForText is a plan with every kind of line the printout has: rules,
// routes and names added, deleted and replaced, in two tables, with kernel
// text that needs escaping, notes and conflicts.
func planForText(t *testing.T) netcfg.Plan {
	t.Helper()
	route := func(s string) *netcfg.Route {
		r, err := netcfg.ParseRoute(s)
		if err != nil {
			t.Fatal(err)
		}
		return &r
	}
	rule := netcfg.NewRule()
	rule.Family, rule.Priority, rule.IIF, rule.Table, rule.Proto = netcfg.V4, 1000, "eth0", 13, netcfg.ProtoNictab
	evil := rule
	evil.Priority, evil.IIF = 1001, "e\x1b[2Jvil"
	hole := rule
	hole.Priority, hole.Action, hole.Table = 900, netcfg.ActionBlackhole, netcfg.TableUnspec
	moved := rule
	moved.Table = 14
	bad := route("10.1.0.0/16 dev x table 14 proto 201")
	bad.Dev = "r\x1b]0;t\a\tx"
	return netcfg.Plan{
		Changes: []netcfg.Change{
			{Action: netcfg.ChangeAdd, After: netcfg.Object{Name: &netcfg.TableName{ID: 13, Name: "vpn"}}},
			{Action: netcfg.ChangeAdd, After: netcfg.Object{Rule: &rule}},
			{Action: netcfg.ChangeAdd, After: netcfg.Object{Rule: &evil}},
			{Action: netcfg.ChangeAdd, After: netcfg.Object{Rule: &hole}},
			{Action: netcfg.ChangeReplace, Before: netcfg.Object{Rule: &rule}, After: netcfg.Object{Rule: &moved}},
			{Action: netcfg.ChangeAdd, After: netcfg.Object{Route: route("10.0.0.0/8 via 192.0.2.1 dev eth0 table 13 proto 201")}},
			{Action: netcfg.ChangeDelete, Before: netcfg.Object{Route: route("2001:db8::/32 dev eth0 table 14 proto 201")}},
			{Action: netcfg.ChangeReplace, Before: netcfg.Object{Route: route("10.2.0.0/16 dev eth0 table 14 proto 201")}, After: netcfg.Object{Route: route("10.2.0.0/16 dev eth1 table 14 proto 201 metric 5")}},
			{Action: netcfg.ChangeAdd, After: netcfg.Object{Route: bad}},
		},
		Notes:     []netcfg.Note{{Text: "route already exists; left as it is (`nictab snapshot save --adopt` takes it over)"}},
		Conflicts: []netcfg.Conflict{{Text: "nictab would re-create it:\tsomething"}},
	}
}

// TestPlanTextStreamSameAsLipgloss: the printout written line by line, with
// each style's escapes found once, is byte for byte what rendering every
// line through lipgloss gave, in every style set, with and without
// commands, in a namespace and not, and through WritePlanText's buffer.
func TestPlanTextStreamSameAsLipgloss(t *testing.T) {
	p := planForText(t)
	names := netcfg.Names{Tables: []netcfg.TableName{{ID: 13, Name: "vpn"}}}
	sets := map[string]Styles{"plain": PlainStyles(), "mono": MonoStyles(), "dark": DefaultStyles(true), "light": DefaultStyles(false)}
	empty := netcfg.Plan{}
	for name, st := range sets {
		for _, plan := range []*netcfg.Plan{&p, &empty} {
			for _, commands := range []bool{true, false} {
				for _, netns := range []string{"", "lab 1"} {
					want := lipglossPlanText(plan, &names, "/etc/iproute2/rt_tables.d/nictab.conf", netns, commands, st)
					got := RenderPlanTextIn(plan, &names, "/etc/iproute2/rt_tables.d/nictab.conf", netns, commands, st)
					if got != want {
						t.Errorf("%s, commands %v, netns %q: RenderPlanTextIn differs:\n got %q\nwant %q", name, commands, netns, got, want)
					}
					var buf bytes.Buffer
					if err := WritePlanText(&buf, plan, &names, "/etc/iproute2/rt_tables.d/nictab.conf", netns, commands, st); err != nil {
						t.Fatal(err)
					}
					if buf.String() != want {
						t.Errorf("%s, commands %v, netns %q: WritePlanText differs:\n got %q\nwant %q", name, commands, netns, buf.String(), want)
					}
				}
			}
		}
	}
	// The preview's diff goes the same way.
	for name, st := range sets {
		var got, want strings.Builder
		writePlanDiff(&got, &p, &names, " ", st)
		lipglossPlanDiff(&want, &p, &names, " ", st)
		if got.String() != want.String() {
			t.Errorf("%s: writePlanDiff differs:\n got %q\nwant %q", name, got.String(), want.String())
		}
	}
}

// TestLineStyleMatchesRender: a line style writes what lipgloss' Render
// writes for the same text, for every style nictab has, and takes the
// fast way for the styles of the plan's lines when there is colour.
func TestLineStyleMatchesRender(t *testing.T) {
	texts := []string{"+ route 10.0.0.0/8 via 192.0.2.1 dev eth0", "", " ", "a\tb", "two\nlines", "cr\r\nlf", "~ route x  →  y", "ü", "Z"}
	for name, st := range map[string]Styles{"plain": PlainStyles(), "mono": MonoStyles(), "dark": DefaultStyles(true), "light": DefaultStyles(false)} {
		for i, s := range st.all() {
			l := newLineStyle(*s)
			for _, text := range texts {
				var b strings.Builder
				pw := newPlanWriter(&b, st)
				pw.styled(&l, text)
				if want := s.Render(text); b.String() != want {
					t.Errorf("%s style %d, %q: got %q, want %q", name, i, text, b.String(), want)
				}
			}
		}
		pw := newPlanWriter(&strings.Builder{}, st)
		for _, l := range []*lineStyle{&pw.added, &pw.removed, &pw.changed, &pw.command} {
			if !l.fast {
				t.Errorf("%s: a plan line style goes through lipgloss per line", name)
			}
		}
	}
}

// The printout as it was made before it was streamed: every line through
// lipgloss, the whole plan one string. The reference the fast path is held to.
func lipglossPlanText(p *netcfg.Plan, names *netcfg.Names, namesFile, netns string, commands bool, st Styles) string {
	var b strings.Builder
	if p.Empty() && len(p.Conflicts) == 0 {
		b.WriteString(st.OK.Render("No changes.") + " The live state already matches.\n")
	} else {
		b.WriteString(st.Title.Render("Plan: "+PlanCounts(p)) + "\n")
	}
	lipglossPlanDiff(&b, p, names, "", st)
	if commands && !p.Empty() {
		b.WriteString("\n" + st.Title.Render("Equivalent commands") + "\n")
		for i := range p.Changes {
			for _, cmd := range p.Changes[i].Commands(namesFile) {
				b.WriteString("  " + CommandText(netcfg.CommandIn(netns, cmd), st) + "\n")
			}
		}
	}
	return b.String()
}
func lipglossDiffStyle(a netcfg.ChangeAction, st Styles) interface{ Render(...string) string } {
	switch a {
	case netcfg.ChangeAdd:
		return st.Added
	case netcfg.ChangeDelete:
		return st.Removed
	}
	return st.Changed
}
func lipglossPlanDiff(b *strings.Builder, p *netcfg.Plan, names *netcfg.Names, indent string, st Styles) {
	var tables []uint32
	for i := range p.Changes {
		if t := p.Changes[i].Subject().Table(); !slices.Contains(tables, t) {
			tables = append(tables, t)
		}
	}
	slices.Sort(tables)
	for _, t := range tables {
		head := "table " + netcfg.SafeText(names.TableLabel(t))
		if t == netcfg.TableUnspec {
			head = "rules that look up no table"
		}
		b.WriteString("\n" + indent + st.Header.Render(head) + "\n")
		for i := range p.Changes {
			if c := &p.Changes[i]; c.Subject().Table() == t {
				b.WriteString(indent + "  " + lipglossDiffStyle(c.Action, st).Render(refChangeText(c, names)) + "\n")
			}
		}
	}
	if len(p.Notes) > 0 {
		b.WriteString("\n" + indent + st.Title.Render("Notes") + "\n")
		for _, n := range p.Notes {
			b.WriteString(indent + "  " + st.Warning.Render("!") + " " + netcfg.SafeText(n.Text) + "\n")
		}
	}
	if len(p.Conflicts) > 0 {
		b.WriteString("\n" + indent + st.Danger.Render(" Conflicts: this plan cannot be applied ") + "\n")
		for _, c := range p.Conflicts {
			// x, not a cross: the Linux console font has no ✗.
			b.WriteString(indent + "  " + st.Removed.Render("x "+netcfg.SafeText(c.Text)) + "\n")
		}
	}
}
