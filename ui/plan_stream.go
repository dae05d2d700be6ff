package ui

import (
	"cmp"
	"io"
	"slices"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/nictab/nictab/netcfg"
)

// lineStyle renders one line of text as its lipgloss style would, without
// running lipgloss per line: a plan of 100k routes is 200k lines, and
// lipgloss' Render (borders, padding, alignment, width, all asked of the
// style each time) cost more than building the lines. The style's prefix
// and suffix are found once; a style whose rendering is not prefix + text
// + suffix (spaces styled apart under underline, a transform) and a line
// lipgloss would change (tabs, line breaks) keep going through lipgloss.
type lineStyle struct {
	st       lipgloss.Style
	pre, suf string
	fast     bool
}

// lineProbe holds a space, a rune outside ASCII and the plan's arrow, what a
// plan line holds; the check below is only as good as the probe.
const lineProbe = "~ a-1 ü  →  b"

func newLineStyle(st lipgloss.Style) lineStyle {
	l := lineStyle{st: st}
	r := st.Render("Z")
	i := strings.IndexByte(r, 'Z')
	if i < 0 || strings.IndexByte(r[i+1:], 'Z') >= 0 {
		return l
	}
	l.pre, l.suf = r[:i], r[i+1:]
	l.fast = st.Render(lineProbe) == l.pre+lineProbe+l.suf
	return l
}

// plainLine is text lipgloss passes through a one-line style unchanged
// but for its escapes around it: no tab (made spaces), no line break, not
// empty (an empty string gets no escapes).
func plainLine(s string) bool {
	return s != "" && !strings.ContainsAny(s, "\t\n\r")
}

// planWriter writes a plan's lines to w as they are made, so that the
// printout of a big plan is never one string in memory.
type planWriter struct {
	w   stringWriter
	err error
	st  Styles
	// line is the buffer a line of a route's change or command is built
	// in, reused for the next.
	line []byte
	// text is the buffer a change's text or command is built in.
	text []byte

	added, removed, changed, command lineStyle

	// chunk and memo are set on the writers of a chunked printout: the
	// chunk it makes, and the memo that writes most route changes' lines
	// into it.
	chunk *chunkOut
	memo  *routeMemo
}

type stringWriter interface {
	io.Writer
	io.StringWriter
}

func newPlanWriter(w stringWriter, st Styles) *planWriter {
	return &planWriter{
		w: w, st: st,
		added: newLineStyle(st.Added), removed: newLineStyle(st.Removed),
		changed: newLineStyle(st.Changed), command: newLineStyle(st.Command),
	}
}

func (pw *planWriter) s(str string) {
	if pw.err == nil {
		_, pw.err = pw.w.WriteString(str)
	}
}

func (pw *planWriter) bytes(b []byte) {
	if pw.err == nil {
		_, pw.err = pw.w.Write(b)
	}
}

// styledLine writes indent, two spaces, text in the style l and a line
// break, in one write when l renders text as prefix + text + suffix. Its
// callers' text is never empty and holds no control character (no tab,
// no line break), what they checked already: lipgloss would give it
// prefix + text + suffix, and looking at every byte again cost an eighth
// of a big plan's printout.
func (pw *planWriter) styledLine(indent string, l *lineStyle, text []byte) {
	if !l.fast {
		pw.s(indent)
		pw.s("  ")
		pw.styled(l, string(text))
		pw.s("\n")
		return
	}
	b := append(pw.line[:0], indent...)
	b = append(b, "  "...)
	b = append(b, l.pre...)
	b = append(b, text...)
	b = append(b, l.suf...)
	pw.line = append(b, '\n')
	pw.bytes(pw.line)
}

func (pw *planWriter) styled(l *lineStyle, text string) {
	if !l.fast || !plainLine(text) {
		pw.s(l.st.Render(text))
		return
	}
	pw.s(l.pre)
	pw.s(text)
	pw.s(l.suf)
}

func (pw *planWriter) diffStyle(a netcfg.ChangeAction) *lineStyle {
	switch a {
	case netcfg.ChangeAdd:
		return &pw.added
	case netcfg.ChangeDelete:
		return &pw.removed
	}
	return &pw.changed
}

// changesByTable returns the tables of changes, ascending, and for each
// the positions of its changes in order: one pass over the changes and a
// sort of their positions, where looking every change's table up among
// the tables and walking the changes once per table took tables × changes.
func changesByTable(changes []netcfg.Change) ([]uint32, [][]int32) {
	var tables []uint32
	last, one := uint32(0), true
	for i := range changes {
		t := changes[i].Subject().Table()
		if i == 0 {
			last = t
		} else if t != last {
			one = false
		}
	}
	if len(changes) == 0 {
		return nil, nil
	}
	order := make([]int32, len(changes))
	for i := range order {
		order[i] = int32(i)
	}
	if one {
		return []uint32{last}, [][]int32{order}
	}
	table := func(i int32) uint32 { return changes[i].Subject().Table() }
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(table(a), table(b)) })
	var runs [][]int32
	for k := 0; k < len(order); {
		t, end := table(order[k]), k+1
		for end < len(order) && table(order[end]) == t {
			end++
		}
		tables = append(tables, t)
		runs = append(runs, order[k:end])
		k = end
	}
	return tables, runs
}

// WritePlanText writes to w what RenderPlanTextIn returns, line by line
// through a buffer, a big plan in chunks made on every core: what `nictab
// plan` and `apply` print.
func WritePlanText(w io.Writer, p *netcfg.Plan, names *netcfg.Names, namesFile, netns string, commands bool, st Styles) error {
	return writePlanText(w, p, names, namesFile, netns, commands, st, planWorkers(len(p.Changes)))
}

// writePlanText is WritePlanText on workers goroutines, or on the
// caller's alone.
func writePlanText(w io.Writer, p *netcfg.Plan, names *netcfg.Names, namesFile, netns string, commands bool, st Styles, workers int) error {
	s := newPlanSteps(p, names, namesFile, netns, commands)
	return newPlanWriter(nil, st).writeChunked(w, s, planChunk, workers)
}

func (pw *planWriter) plan(p *netcfg.Plan, names *netcfg.Names, namesFile, netns string, commands bool) {
	pw.planHead(p, PlanCounts(p))
	pw.diff(p, names, "")
	if commands && !p.Empty() {
		pw.commandsHead()
		for i := range p.Changes {
			pw.commandLines(&p.Changes[i], namesFile, netns)
		}
	}
}

// planHead is the plan's first line: its counts, or that it has none.
func (pw *planWriter) planHead(p *netcfg.Plan, counts string) {
	st := pw.st
	if p.Empty() && len(p.Conflicts) == 0 {
		pw.s(st.OK.Render("No changes.") + " The live state already matches.\n")
	} else {
		pw.s(st.Title.Render("Plan: "+counts) + "\n")
	}
}

func (pw *planWriter) commandsHead() {
	pw.s("\n" + pw.st.Title.Render("Equivalent commands") + "\n")
}

// commandLines writes the commands of a change, a line each.
func (pw *planWriter) commandLines(c *netcfg.Change, namesFile, netns string) {
	var ok bool
	if pw.text, ok = c.AppendRouteCommand(pw.text[:0], netns); ok && !hasControlBytes(pw.text) {
		pw.styledLine("", &pw.command, pw.text)
		return
	}
	for _, cmd := range c.Commands(namesFile) {
		pw.s("  ")
		pw.commandText(netcfg.CommandIn(netns, cmd))
		pw.s("\n")
	}
}

// commandText is CommandText written out.
func (pw *planWriter) commandText(cmd string) {
	if hasControl(cmd) {
		pw.s(CommandText(cmd, pw.st))
		return
	}
	pw.styled(&pw.command, cmd)
}

// diff writes a plan's changes under their tables, then its notes and
// conflicts, each line after indent: `nictab plan` and the TUI's preview
// show the same diff.
func (pw *planWriter) diff(p *netcfg.Plan, names *netcfg.Names, indent string) {
	tables, order := changesByTable(p.Changes)
	for k, t := range tables {
		pw.tableHead(t, names, indent)
		for _, i := range order[k] {
			pw.changeLine(&p.Changes[i], names, indent)
		}
	}
	pw.diffTail(p, indent)
}

func (pw *planWriter) tableHead(t uint32, names *netcfg.Names, indent string) {
	head := "table " + netcfg.SafeText(names.TableLabel(t))
	if t == netcfg.TableUnspec {
		// Rules that end the lookup (blackhole, prohibit...) name no
		// table.
		head = "rules that look up no table"
	}
	pw.s("\n" + indent + pw.st.Header.Render(head) + "\n")
}

// changeLine writes a change's line of the diff.
func (pw *planWriter) changeLine(c *netcfg.Change, names *netcfg.Names, indent string) {
	var ok bool
	if pw.text, ok = appendChangeText(pw.text[:0], c, names); ok {
		pw.styledLine(indent, pw.diffStyle(c.Action), pw.text)
		return
	}
	pw.s(indent)
	pw.s("  ")
	pw.styled(pw.diffStyle(c.Action), changeTextWords(c, names))
	pw.s("\n")
}

// diffTail writes the plan's notes and conflicts.
func (pw *planWriter) diffTail(p *netcfg.Plan, indent string) {
	st := pw.st
	if len(p.Notes) > 0 {
		pw.s("\n" + indent + st.Title.Render("Notes") + "\n")
		for _, n := range p.Notes {
			pw.s(indent + "  " + st.Warning.Render("!") + " " + netcfg.SafeText(n.Text) + "\n")
		}
	}
	if len(p.Conflicts) > 0 {
		pw.s("\n" + indent + st.Danger.Render(" Conflicts: this plan cannot be applied ") + "\n")
		for _, c := range p.Conflicts {
			// x, not a cross: the Linux console font has no ✗.
			pw.s(indent + "  " + st.Removed.Render("x "+netcfg.SafeText(c.Text)) + "\n")
		}
	}
}
