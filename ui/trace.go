package ui

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/nictab/nictab/netcfg"
)

// TraceCompare is a packet's path now and after a plan, and the stable
// JSON of `nictab trace --planned --json`.
type TraceCompare struct {
	Now     netcfg.Path `json:"now"`
	Planned netcfg.Path `json:"planned"`
	// Changed is set when the packet goes another way after the plan:
	// another verdict, device, gateway or source.
	Changed bool `json:"changed"`
	// Summary says in a sentence what changes, or that nothing does.
	Summary string `json:"summary"`
}

// CompareTraces compares the path of one packet now and after a plan.
func CompareTraces(now, planned netcfg.Path) TraceCompare {
	c := TraceCompare{Now: now, Planned: planned}
	c.Changed = now.Verdict != planned.Verdict || now.Errno != planned.Errno || now.Dev != planned.Dev ||
		now.Gateway != planned.Gateway || now.Src != planned.Src
	switch {
	case c.Changed:
		c.Summary = fmt.Sprintf("The path changes: after the plan the packet %s; now it %s.", outcomeText(&planned), outcomeText(&now))
	case !sameDecision(&now, &planned):
		c.Summary = "The packet leaves the same way after the plan, through another rule or route."
	default:
		c.Summary = "The path does not change."
	}
	return c
}

func sameDecision(a, b *netcfg.Path) bool {
	switch {
	case (a.Rule == nil) != (b.Rule == nil), (a.Route == nil) != (b.Route == nil):
		return false
	case a.Rule != nil && !netcfg.RuleEqual(a.Rule, b.Rule):
		return false
	case a.Route != nil && !netcfg.RouteEqual(a.Route, b.Route):
		return false
	}
	return a.Table == b.Table
}

// outcomeText and hopText carry device names as they are: a comparison's
// Summary is data (trace --json); its view escapes it.

// outcomeText says where a path goes: "leaves through eno1 via
// 192.168.10.1", "is for this host", "is dropped (blackhole, Invalid
// argument)".
func outcomeText(p *netcfg.Path) string {
	switch p.Verdict {
	case netcfg.VerdictRouted:
		return "leaves " + hopText(p)
	case netcfg.VerdictLocal:
		return "is for this host"
	case netcfg.VerdictBroadcast:
		return "is a broadcast on " + p.Dev
	}
	return "is " + fateText(p)
}

// hopText is the way out of a routed path: "through eno1 via 192.168.10.1".
func hopText(p *netcfg.Path) string {
	s := "through " + p.Dev
	if p.Gateway.IsValid() {
		s += " via " + p.Gateway.String()
	}
	return s
}

// fateText is what happens to a packet that is not delivered: "dropped
// (blackhole: Invalid argument)".
func fateText(p *netcfg.Path) string {
	what := map[netcfg.Verdict]string{
		netcfg.VerdictBlackhole:   "dropped (blackhole",
		netcfg.VerdictUnreachable: "refused (unreachable",
		netcfg.VerdictProhibit:    "refused (prohibited",
		netcfg.VerdictNoRoute:     "without a route (",
		netcfg.VerdictRefused:     "refused (",
		netcfg.VerdictLoop:        "caught in a rule loop (",
	}[p.Verdict]
	if p.Verdict == netcfg.VerdictUndetermined {
		return "undetermined: nictab does not guess (see below)"
	}
	if what == "" {
		what = p.Verdict.String() + " ("
	}
	if !strings.HasSuffix(what, "(") {
		what += ": "
	}
	return what + p.Errno.String() + ")"
}

// packetText is the packet as a heading: "8.8.8.8 from 192.168.10.2, sent
// by this host (IPv4, udp dport 53)".
func packetText(p *netcfg.Path) string {
	pk := p.Packet
	var b strings.Builder
	b.WriteString(pk.Dst.String())
	if pk.Src.IsValid() {
		b.WriteString(" from " + pk.Src.String())
	}
	if p.Input {
		b.WriteString(", arriving on " + netcfg.SafeText(pk.IIF))
	} else {
		b.WriteString(", sent by this host")
		if pk.OIF != "" {
			b.WriteString(" through " + netcfg.SafeText(pk.OIF))
		}
	}
	extra := []string{famLabel(p.Family)}
	if pk.IPProto != 0 {
		extra = append(extra, protoLabel(pk.IPProto))
	}
	if pk.SPort != 0 {
		extra = append(extra, "sport "+strconv.Itoa(int(pk.SPort)))
	}
	if pk.DPort != 0 {
		extra = append(extra, "dport "+strconv.Itoa(int(pk.DPort)))
	}
	if pk.Mark != 0 {
		extra = append(extra, fmt.Sprintf("mark 0x%x", pk.Mark))
	}
	if pk.UID != nil {
		extra = append(extra, "uid "+strconv.FormatUint(uint64(*pk.UID), 10))
	}
	if pk.Tos != 0 {
		extra = append(extra, fmt.Sprintf("tos 0x%02x", pk.Tos))
	}
	b.WriteString(" (" + strings.Join(extra, ", ") + ")")
	return b.String()
}

func protoLabel(p uint8) string {
	switch p {
	case netcfg.ProtoTCP:
		return "tcp"
	case netcfg.ProtoUDP:
		return "udp"
	case netcfg.ProtoICMP:
		return "icmp"
	case netcfg.ProtoICMPv6:
		return "ipv6-icmp"
	}
	return "ipproto " + strconv.Itoa(int(p))
}

// stepText is what one rule did, as the RESULT column says it.
func stepText(s *netcfg.Step, names *netcfg.Names, st Styles) string {
	table := ""
	if s.Table != 0 {
		table = "table " + names.TableLabel(s.Table)
	}
	route := ""
	if s.Route != nil {
		route = RouteText(s.Route, names)
	}
	partial := ""
	if s.Partial {
		partial = st.Warning.Render(" (table not read in full)")
	}
	switch s.Result {
	case netcfg.StepNoMatch:
		return st.Muted.Render("no match: " + netcfg.SafeText(s.Why))
	case netcfg.StepGoto:
		return fmt.Sprintf("goto %d", s.Rule.Goto)
	case netcfg.StepGotoUnresolved:
		return st.Muted.Render(fmt.Sprintf("goto %d: no rule there, next rule", s.Rule.Goto))
	case netcfg.StepNop:
		return st.Muted.Render("nop")
	case netcfg.StepNoRoute:
		return st.Muted.Render(table+": no route, next rule") + partial
	case netcfg.StepThrow:
		return st.Muted.Render(table+": "+route+", next rule") + partial
	case netcfg.StepSuppressed:
		return st.Muted.Render(table+": "+route+" suppressed ("+suppressText(s)+"), next rule") + partial
	case netcfg.StepLoop:
		return st.Danger.Render("goto " + strconv.FormatUint(uint64(s.Rule.Goto), 10) + " jumps backwards: a loop")
	}
	if s.Route != nil {
		return st.Title.Render(table+": "+route) + partial
	}
	return st.Title.Render(s.Rule.Action.String())
}

func suppressText(s *netcfg.Step) string {
	if s.Rule.SuppressPrefixLen >= 0 && s.Route != nil && s.Route.Dst.Bits() <= s.Rule.SuppressPrefixLen {
		return fmt.Sprintf("/%d ≤ suppress_prefixlength %d", s.Route.Dst.Bits(), s.Rule.SuppressPrefixLen)
	}
	return fmt.Sprintf("its device is in group %d", s.Rule.SuppressIfgroup)
}

// renderSteps lays out the rules tried, the deciding one marked.
func renderSteps(p *netcfg.Path, names *netcfg.Names, st Styles) string {
	var rows [][]string
	for i := range p.Steps {
		s := &p.Steps[i]
		mark := " "
		if s.Result == netcfg.StepDecided || s.Result == netcfg.StepLoop {
			mark = "→"
		}
		rows = append(rows, []string{mark, strconv.FormatUint(uint64(s.Rule.Priority), 10),
			netcfg.SafeText(RuleText(&s.Rule, names.TableName(s.Rule.Table), names)), stepText(s, names, st)})
	}
	if len(rows) == 0 {
		return "  " + st.Muted.Render("no rule was tried") + "\n"
	}
	return renderColumns([]string{" ", "PRIO", "RULE", "RESULT"}, rows, st)
}

// summaryRows are the lines under "Path": the rule, table and route that
// decided, and where the packet goes.
func summaryRows(p *netcfg.Path, names *netcfg.Names, st Styles) [][2]string {
	var rows [][2]string
	if p.Rule != nil {
		rows = append(rows, [2]string{"rule", fmt.Sprintf("%d: %s", p.Rule.Priority, netcfg.SafeText(RuleText(p.Rule, names.TableName(p.Rule.Table), names)))})
	} else {
		rows = append(rows, [2]string{"rule", st.Muted.Render("none")})
	}
	if p.Route != nil {
		rows = append(rows, [2]string{"table", names.TableLabel(p.Table)}, [2]string{"route", RouteText(p.Route, names)})
	} else {
		rows = append(rows, [2]string{"table", st.Muted.Render("none")}, [2]string{"route", st.Muted.Render("none")})
	}
	switch p.Verdict {
	case netcfg.VerdictRouted:
		v := netcfg.SafeText(p.Dev)
		if p.Gateway.IsValid() {
			v += " via " + p.Gateway.String()
		}
		rows = append(rows, [2]string{"leaves", st.OK.Render(v)})
	case netcfg.VerdictLocal:
		rows = append(rows, [2]string{"delivered", st.OK.Render("to this host")})
	case netcfg.VerdictBroadcast:
		rows = append(rows, [2]string{"broadcast", st.OK.Render("on " + netcfg.SafeText(p.Dev))})
	default:
		rows = append(rows, [2]string{"outcome", st.Warning.Render(fateText(p))})
	}
	src := st.Muted.Render("none")
	if p.Src.IsValid() {
		src = p.Src.String()
	}
	return append(rows, [2]string{"source", src})
}

// RenderTrace is the text of `nictab trace`: the packet, every rule the
// kernel tries in order with what it did, and where the packet goes.
func RenderTrace(p netcfg.Path, names *netcfg.Names, width int, st Styles) string {
	var b strings.Builder
	b.WriteString(st.Title.Render(packetText(&p)) + "\n\n")
	b.WriteString(st.Title.Render("Rules tried") + "\n")
	b.WriteString(renderSteps(&p, names, st))
	b.WriteString("\n" + st.Title.Render("Path") + "\n")
	var rows [][]string
	for _, r := range summaryRows(&p, names, st) {
		rows = append(rows, []string{r[0], r[1]})
	}
	b.WriteString(renderRows(rows))
	b.WriteString(footer(&p, width, st))
	return b.String()
}

// footer is the reason and the caveats of a path.
func footer(p *netcfg.Path, width int, st Styles) string {
	var b strings.Builder
	// A delivered path says everything in its rows; a refused one needs
	// its reason.
	if p.Reason != "" && !p.Verdict.Delivered() {
		b.WriteString("\n")
		for _, l := range wrap(netcfg.SafeText(p.Reason), width-2) {
			b.WriteString("  " + l + "\n")
		}
	}
	for _, n := range p.Notes {
		for i, l := range wrap(netcfg.SafeText(n), width-8) {
			lead := "  " + st.Warning.Render("note:") + " "
			if i > 0 {
				lead = "        "
			}
			b.WriteString(lead + l + "\n")
		}
	}
	return b.String()
}

// RenderTraceCompare is the text of `nictab trace --planned`: the path now
// and after the plan side by side, whether it changes, and the rules tried
// in each state. Rows that differ are marked with "~". Where two columns
// do not fit in width, the two values of a row are stacked.
func RenderTraceCompare(c TraceCompare, now, planned *netcfg.Names, width int, st Styles) string {
	var b strings.Builder
	b.WriteString(st.Title.Render(packetText(&c.Now)) + "\n\n")
	a, p := summaryRows(&c.Now, now, st), summaryRows(&c.Planned, planned, st)
	labelW, colW := 0, 0
	for i := range a {
		labelW = max(labelW, lipgloss.Width(a[i][0]), lipgloss.Width(p[i][0]))
		colW = max(colW, lipgloss.Width(a[i][1]))
	}
	colW = max(colW, len("now"))
	sideBySide := 2+2+labelW+2+colW+3+maxWidth(p) <= width
	mark := func(i int) string {
		if a[i][0] != p[i][0] || a[i][1] != p[i][1] {
			return st.Changed.Render("~")
		}
		return " "
	}
	if sideBySide {
		b.WriteString("    " + strings.Repeat(" ", labelW+2) + st.Muted.Render(pad("now", colW)+"   after the plan") + "\n")
		for i := range a {
			label := a[i][0]
			if a[i][0] != p[i][0] {
				label = a[i][0] + "/" + p[i][0]
			}
			b.WriteString("  " + mark(i) + " " + pad(label, labelW) + "  " + pad(a[i][1], colW) + "   " + p[i][1] + "\n")
		}
	} else {
		for i := range a {
			b.WriteString("  " + mark(i) + " " + a[i][0] + "\n")
			b.WriteString("      " + st.Muted.Render("now  ") + " " + a[i][1] + "\n")
			after := p[i][1]
			if p[i][0] != a[i][0] {
				after = p[i][0] + ": " + after
			}
			b.WriteString("      " + st.Muted.Render("after") + " " + after + "\n")
		}
	}
	b.WriteString("\n")
	summary := netcfg.SafeText(c.Summary)
	style := st.OK
	if c.Changed {
		style = st.Warning
	}
	for _, l := range wrap(summary, width-2) {
		b.WriteString("  " + style.Render(l) + "\n")
	}
	b.WriteString("\n" + st.Title.Render("Rules tried now") + "\n")
	b.WriteString(renderSteps(&c.Now, now, st))
	b.WriteString(footer(&c.Now, width, st))
	b.WriteString("\n" + st.Title.Render("Rules tried after the plan") + "\n")
	b.WriteString(renderSteps(&c.Planned, planned, st))
	b.WriteString(footer(&c.Planned, width, st))
	return b.String()
}

func maxWidth(rows [][2]string) int {
	w := 0
	for _, r := range rows {
		w = max(w, lipgloss.Width(r[1]))
	}
	return w
}

// RenderGuard is the SSH guard's verdict as a person must see it before
// applying: loud when the change moves or cuts the session, with the rule
// or route to blame, and one quiet line when it does not.
func RenderGuard(g netcfg.Guard, width int, st Styles) string {
	client := g.Conn.Client.Addr().WithZone("").String()
	if g.Conn.Client.Port() != 0 {
		client = g.Conn.Client.String()
	}
	var b strings.Builder
	para := func(lead string, text string, style func(string) string) {
		ind := strings.Repeat(" ", lipgloss.Width(lead))
		for i, l := range wrap(netcfg.SafeText(text), width-lipgloss.Width(lead)) {
			if i == 0 {
				b.WriteString(lead + style(l) + "\n")
			} else {
				b.WriteString(ind + style(l) + "\n")
			}
		}
	}
	plain := func(s string) string { return s }
	switch g.Status {
	case netcfg.GuardSafe:
		para(st.OK.Render("SSH ok")+"  ", GuardMessage(&g), plain)
		return b.String()
	case netcfg.GuardUnknown:
		para(st.Warning.Render("SSH ?")+"  ", GuardMessage(&g), plain)
		return b.String()
	}
	what := "MOVES"
	switch g.Status {
	case netcfg.GuardBroken:
		what = "CUTS"
	case netcfg.GuardUndetermined:
		what = "MAY CUT"
	}
	b.WriteString(st.Danger.Render(" DANGER: THIS CHANGE "+what+" YOUR SSH SESSION ") + "\n")
	para("  client  ", client, plain)
	para("  now     ", "replies leave "+hopText(&g.Before), plain)
	after := "replies would be " + fateText(&g.After)
	if g.After.Verdict.Delivered() {
		after = "replies would leave " + hopText(&g.After)
	}
	para("  after   ", after, func(s string) string { return st.Removed.Render(s) })
	para("  cause   ", GuardCause(&g), func(s string) string { return st.Warning.Render(s) })
	b.WriteString("\n")
	warn := "If " + g.Conn.Client.Addr().WithZone("").String() + " cannot be reached that way, this session hangs and may not come back."
	if g.Status == netcfg.GuardBroken {
		warn = "This session will hang and may not come back."
	}
	para("  ", warn+" Keep a way in that does not depend on it, and keep the confirm window on, so the change reverts by itself.", plain)
	return b.String()
}
