package ui

import (
	"fmt"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// FlowLines are the live connections and foreign rules a plan moves, as
// `plan`, apply's preview and the TUI's preview show them: one summary
// line ("moves 3 established connections: 192.168.30.5:22 (this
// session), 100.88.1.7:443 …"), then up to detail lines of where each
// goes now and after, and the foreign rules the plan's new rules now
// precede. The SSH session comes first, in the loudest style. Nothing
// when nothing moves.
func FlowLines(f *netcfg.FlowGuard, names *netcfg.Names, width, detail int, st Styles) []string {
	if f == nil {
		return nil
	}
	var out []string
	add := func(lead, text string, style func(...string) string) {
		ind := strings.Repeat(" ", len(lead))
		for i, l := range wrap(text, max(width-len(lead), 20)) {
			if i == 0 {
				out = append(out, lead+style(l))
			} else {
				out = append(out, ind+style(l))
			}
		}
	}
	var moved, same []*netcfg.MovedFlow
	for i := range f.Moved {
		if f.Moved[i].SameWay {
			same = append(same, &f.Moved[i])
		} else {
			moved = append(moved, &f.Moved[i])
		}
	}
	if len(moved) > 0 {
		lead := "moves"
		if moved[0].Session {
			out = append(out, st.Danger.Render(fmt.Sprintf(" MOVES %s, THIS SSH SESSION FIRST ", strings.ToUpper(plural(f.MovedSockets, "connection")))))
			lead = "   "
		}
		add(lead+" ", fmt.Sprintf("%s: %s", plural(f.MovedSockets, "established connection"), flowNames(moved)), st.Warning.Render)
		for i, m := range moved {
			if i == detail {
				add("    ", fmt.Sprintf("and %d more", len(moved)-detail), st.Muted.Render)
				break
			}
			style := st.Plain.Render
			if m.Session || m.SSH {
				style = st.Removed.Render
			}
			what := FlowEndpoint(m)
			switch {
			case m.Session:
				what += " (this session)"
			case m.SSH:
				what += " (an SSH login)"
			case m.Count > 1:
				what += fmt.Sprintf(" (×%d)", m.Count)
			}
			add("    ", netcfg.SafeText(fmt.Sprintf("%s %s: %s → %s, %s", protoWord(m.IPProto), what, HopText(m.Before, names), HopText(m.After, names), FlowCause(m, &f.Names))), style)
		}
	}
	if len(same) > 0 {
		n := 0
		for _, m := range same {
			n += m.Count
		}
		verb := "keep their"
		if n == 1 {
			verb = "keeps its"
		}
		add("    ", fmt.Sprintf("%s %s NIC and gateway, through another table: %s", plural(n, "connection"), verb, flowNames(same)), st.Muted.Render)
	}
	if len(f.Shadowed) > 0 {
		add("takes ", fmt.Sprintf("traffic from %s of other programs:", plural(len(f.Shadowed), "rule")), st.Warning.Render)
	}
	for i := range f.Shadowed {
		if i == detail {
			add("    ", fmt.Sprintf("and %d more foreign rules", len(f.Shadowed)-detail), st.Muted.Render)
			break
		}
		add("    ", netcfg.SafeText(ShadowedText(&f.Shadowed[i], &f.NamesBefore, &f.Names)), st.Plain.Render)
	}
	if note := FlowNote(f); note != "" {
		add("      ", "("+note+")", st.Muted.Render)
	}
	return out
}

// flowName is a moved flow in the summary: its endpoint, marked when it
// is the session or stands for several sockets.
func flowName(m *netcfg.MovedFlow) string {
	s := FlowEndpoint(m)
	if m.IPProto == netcfg.ProtoUDP {
		s += "/udp"
	}
	switch {
	case m.Session:
		s += " (this session)"
	case m.SSH:
		s += " (an SSH login)"
	case m.Count > 1:
		s += fmt.Sprintf(" (×%d)", m.Count)
	}
	return s
}

func protoWord(p uint8) string {
	if p == netcfg.ProtoUDP {
		return "udp"
	}
	return "tcp"
}

// flowNames lists the first few flows of a summary.
func flowNames(fs []*netcfg.MovedFlow) string {
	var ends []string
	for i, m := range fs {
		if i == 4 {
			ends = append(ends, fmt.Sprintf("… (%d more)", len(fs)-4))
			break
		}
		ends = append(ends, flowName(m))
	}
	return strings.Join(ends, ", ")
}

// RenderUnknownSessionWarning is said when nictab found no SSH session of
// its own but the change moves an SSH login to this host: that login may
// be the one nictab runs in, so the change is treated as moving it.
func RenderUnknownSessionWarning(width int, st Styles) string {
	var b strings.Builder
	b.WriteString(st.Danger.Render(" DANGER: THIS CHANGE MOVES AN SSH LOGIN, AND YOURS WAS NOT FOUND ") + "\n")
	for _, l := range wrap("If that login is yours, this session hangs and may not come back. The confirm window is on, so the change reverts by itself; --ssh-client ADDR[,LOCAL] names your client if nictab could not find it.", max(width-2, 20)) {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}
