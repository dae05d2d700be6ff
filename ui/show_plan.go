package ui

import (
	"fmt"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// RouteText is a route as a person reads it inside its table: without the
// table, and without nictab's own protocol.
func RouteText(r *netcfg.Route, names *netcfg.Names) string {
	if b, ok := appendRouteText(nil, r, names); ok {
		return string(b)
	}
	return routeTextWords(r, names)
}

// routeTextWords is RouteText made from RouteArgs' words, for any route.
func routeTextWords(r *netcfg.Route, names *netcfg.Names) string {
	args := netcfg.RouteArgs(r)
	out := args[:0:0]
	for i := 0; i < len(args); i++ {
		if i+1 < len(args) {
			switch args[i] {
			case "table":
				i++
				continue
			case "proto":
				if r.Proto != netcfg.ProtoNictab {
					p := args[i+1]
					if names != nil {
						p = names.ProtoName(r.Proto)
					}
					out = append(out, "proto", p)
				}
				i++
				continue
			case "metric":
				// 1024 is what the kernel gives an IPv6 route without one.
				if r.Family() == netcfg.V6 && args[i+1] == "1024" {
					i++
					continue
				}
			case "scope":
				// The scope a route gets by default says nothing.
				if (args[i+1] == "global" && r.Gw.IsValid()) || (args[i+1] == "link" && !r.Gw.IsValid()) {
					i++
					continue
				}
			}
		}
		out = append(out, args[i])
	}
	return netcfg.SafeText(strings.Join(out, " "))
}

// ObjectText is a planned object as a diff line shows it.
func ObjectText(o netcfg.Object, names *netcfg.Names) string {
	switch {
	case o.Rule != nil:
		text := fmt.Sprintf("rule  %d: %s", o.Rule.Priority, netcfg.SafeText(RuleText(o.Rule, names.TableName(o.Rule.Table), names)))
		// Without an address the IPv4 and IPv6 twins of a rule read the
		// same; the family tells them apart.
		if !o.Rule.From.IsValid() && !o.Rule.To.IsValid() {
			text += " (" + famLabel(o.Rule.Family) + ")"
		}
		return text
	case o.Route != nil:
		return "route " + RouteText(o.Route, names)
	case o.Name != nil:
		return fmt.Sprintf("name  %d %s", o.Name.ID, netcfg.SafeText(o.Name.Name))
	}
	return ""
}

// ChangeText is one change as a diff line: "+ route …", "- rule …",
// "~ route old → new".
func ChangeText(c *netcfg.Change, names *netcfg.Names) string {
	if b, ok := appendChangeText(nil, c, names); ok {
		return string(b)
	}
	return changeTextWords(c, names)
}

// changeTextWords is ChangeText made from ObjectText, for any change.
func changeTextWords(c *netcfg.Change, names *netcfg.Names) string {
	if c.Action == netcfg.ChangeReplace {
		before := ObjectText(c.Before, names)
		after := ObjectText(c.After, names)
		// The kind is said once, and so is a family both sides name.
		if i := strings.IndexByte(after, ' '); i > 0 && strings.HasPrefix(before, after[:i]) {
			after = strings.TrimLeft(after[i:], " ")
		}
		for _, fam := range [...]string{" (IPv4)", " (IPv6)"} {
			if strings.HasSuffix(before, fam) && strings.HasSuffix(after, fam) {
				before = strings.TrimSuffix(before, fam)
			}
		}
		return "~ " + before + "  →  " + after
	}
	return c.Action.Mark() + " " + ObjectText(c.Subject(), names)
}

// PlanNames is live's table names with the names a plan gives its tables,
// so a plan shows "13 vpn" before the name exists.
func PlanNames(live netcfg.Names, p *netcfg.Plan) netcfg.Names {
	out := live
	out.Tables = append(append([]netcfg.TableName(nil), live.Tables...), p.Target.Names...)
	return out
}

// PlanCounts is "3 to add, 1 to change, 2 to delete".
func PlanCounts(p *netcfg.Plan) string {
	add, del, repl := p.Counts()
	return planCounts(add, del, repl)
}

// PlanCountsOf is PlanCounts of a plan with these counts.
func PlanCountsOf(add, del, repl int) string { return planCounts(add, del, repl) }

func planCounts(add, del, repl int) string {
	return fmt.Sprintf("%d to add, %d to change, %d to delete", add, repl, del)
}

// RenderPlanText is a plan as `nictab plan` prints it: the changes as a
// diff grouped by table, notes, conflicts, and with commands the `ip`
// commands that do the same, in the order nictab runs them.
func RenderPlanText(p *netcfg.Plan, names *netcfg.Names, namesFile string, commands bool, st Styles) string {
	return RenderPlanTextIn(p, names, namesFile, "", commands, st)
}

// RenderPlanTextIn is RenderPlanText for a plan of the named network
// namespace: its `ip` commands carry `-n NAME`.
func RenderPlanTextIn(p *netcfg.Plan, names *netcfg.Names, namesFile, netns string, commands bool, st Styles) string {
	var b strings.Builder
	newPlanWriter(&b, st).plan(p, names, namesFile, netns, commands)
	return b.String()
}

func diffStyle(a netcfg.ChangeAction, st Styles) interface{ Render(...string) string } {
	switch a {
	case netcfg.ChangeAdd:
		return st.Added
	case netcfg.ChangeDelete:
		return st.Removed
	}
	return st.Changed
}

// CommandText is a shell command for a terminal. A command holding control
// characters (a device name can) is shown escaped and marked so, since
// printing it as it is would drive the terminal.
func CommandText(cmd string, st Styles) string {
	if hasControl(cmd) {
		return st.Command.Render(netcfg.SafeText(cmd)) + st.Muted.Render("  (control characters shown escaped)")
	}
	return st.Command.Render(cmd)
}

func hasControl(s string) bool {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) {
			return true
		}
	}
	return false
}

// hasControlBytes is hasControl of b, without decoding ASCII.
func hasControlBytes(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f {
			return hasControl(string(b))
		}
	}
	return false
}

// writePlanDiff writes a plan's changes under their tables, then its notes
// and conflicts, each line after indent: `nictab plan` and the TUI's
// preview show the same diff.
func writePlanDiff(b *strings.Builder, p *netcfg.Plan, names *netcfg.Names, indent string, st Styles) {
	newPlanWriter(b, st).diff(p, names, indent)
}
