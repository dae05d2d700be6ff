package ui

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nictab/nictab/netcfg"
)

// The preview screen: the plan as a diff grouped by table, the equivalent
// ip commands, or the snapshot apply will save; over SSH, the path to the
// client before and after, always in view.

type previewMode int

const (
	modeDiff previewMode = iota
	modeCommands
	modeSnapshot
)

type previewScreen struct {
	// wide is the widest line of the text on show, in cells.
	wide     int
	loading  bool
	intent   netcfg.Intent
	rollback string
	proposal *Proposal
	err      error
	mode     previewMode
	// stale is set when the live state moved since the plan was made;
	// staleWhy says how.
	stale    bool
	staleWhy string
	checking bool
	vp       viewport.Model
	width    int
}

// openPreview plans the edits.
// Before the intent is read it waits for it (see intentMsg): planned from
// none, the edits would be all nictab manages.
func (m *Model) openPreview() tea.Cmd {
	in := m.intent()
	m.preview = previewScreen{loading: true, intent: in, vp: m.preview.vp}
	if m.screen != screenPreview {
		m.previewFrom = m.screen
	}
	m.screen = screenPreview
	m.preview.resize(m, m.width, m.bodyHeight())
	if !m.baseRead {
		m.previewWaits = true
		return nil
	}
	return proposeCmd(m.be, in, m.edits.adoptions(), forPreview)
}

// openRollback plans the way back to a snapshot.
func (m *Model) openRollback(id string) tea.Cmd {
	if m.caps.ReadOnly {
		m.setFlash("nothing changed: "+m.caps.Reason, true)
		return nil
	}
	m.preview = previewScreen{loading: true, rollback: id, vp: m.preview.vp}
	m.screen = screenPreview
	m.preview.resize(m, m.width, m.bodyHeight())
	return rollbackCmd(m.be, id, forRollback)
}

func (p *previewScreen) take(m *Model, msg proposalMsg) {
	p.loading, p.proposal, p.err = false, msg.proposal, msg.err
	p.stale, p.staleWhy = false, ""
	p.vp.GotoTop()
	p.refresh(m)
}

// staleCheck reads, after a live change, the state the plan on screen was
// made from, to see whether the plan still holds: the same check apply
// makes before its first change.
func (p *previewScreen) staleCheck(m *Model) tea.Cmd {
	if m.screen != screenPreview || p.proposal == nil || p.checking || p.stale {
		return nil
	}
	p.checking = true
	return priorCmd(m.be, p.proposal)
}

func (p *previewScreen) gotPrior(msg priorMsg) {
	p.checking = false
	if p.proposal == nil || msg.proposal != p.proposal {
		return
	}
	switch {
	case msg.err != nil:
		p.stale, p.staleWhy = true, "the live state cannot be read again: "+firstLine(msg.err.Error())
	case msg.fp != p.proposal.Plan.Prior.String():
		p.stale, p.staleWhy = true, "the live state changed since it was made"
	}
}

func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// header is the part that does not scroll: counts, staleness, SSH path.
func (p *previewScreen) header(width int, st Styles) []string {
	var out []string
	switch {
	case p.loading:
		return []string{" Planning..."}
	case p.err != nil:
		return []string{" " + st.Danger.Render(" this cannot be planned ")}
	case p.proposal == nil:
		return nil
	}
	pl := &p.proposal.Plan
	add, del, repl := pl.Counts()
	counts := st.Added.Render(fmt.Sprintf("+%d to add", add)) + "  " + st.Changed.Render(fmt.Sprintf("~%d to change", repl)) + "  " + st.Removed.Render(fmt.Sprintf("-%d to delete", del))
	if pl.Empty() {
		counts = st.OK.Render("No changes:") + " the live state already matches"
	}
	out = append(out, " "+counts+st.Muted.Render("   plan of "+shortPrior(pl.Prior.String())))
	if p.rollback != "" {
		out = append(out, strings.Split(" "+hang("Back to snapshot "+p.rollback+": exactly the rules, routes and names it recorded", max(width-2, 10), 1, st.Title), "\n")...)
	}
	if p.stale {
		out = append(out, strings.Split(" "+st.Danger.Render(" STALE ")+" "+hang(netcfg.SafeText(p.staleWhy)+": r plans again", max(width-9, 10), 9, st.Warning), "\n")...)
	}
	if c := p.proposal.SSH; c != nil {
		out = append(out, sshLines(c, width, st)...)
	}
	// The header does not scroll: two flows, then a count.
	names := PlanNames(p.proposal.Live.Names, pl)
	for _, l := range FlowLines(p.proposal.Flows, &names, width-1, 2, st) {
		out = append(out, " "+l)
	}
	return out
}

func shortPrior(fp string) string {
	if len(fp) > 8 {
		return fp[:8]
	}
	return fp
}

// sshLines say where replies to the SSH client go now and after; loudly
// when the plan moves or breaks them.
func sshLines(c *SSHCheck, width int, st Styles) []string {
	client := netcfg.SafeText(c.Client)
	if c.Unknown {
		var out []string
		for i, l := range wrap(netcfg.SafeText(c.Message), width-9) {
			lead := "         "
			if i == 0 {
				lead = " " + st.Warning.Render("SSH ?") + "   "
			}
			out = append(out, lead+l)
		}
		return out
	}
	if !c.Changed && !c.Broken {
		return strings.Split(" "+st.OK.Render("SSH ok")+" "+hang("replies to "+client+" keep their path: "+netcfg.SafeText(c.After), max(width-9, 10), 8, st.Muted), "\n")
	}
	what := "MOVES"
	if c.Broken {
		what = "BREAKS"
	}
	out := []string{
		" " + st.Danger.Render(" THIS PLAN "+what+" YOUR SSH SESSION ") + " " + st.Warning.Render(cut("replies to "+client, max(width-36, 10))),
	}
	out = append(out, strings.Split("   now:   "+hang(netcfg.SafeText(c.Before), max(width-11, 10), 10, st.Plain), "\n")...)
	out = append(out, strings.Split("   after: "+hang(netcfg.SafeText(c.After), max(width-11, 10), 10, st.Removed), "\n")...)
	if c.Culprit != "" {
		for i, l := range wrap("because: "+netcfg.SafeText(c.Culprit), width-8) {
			if i > 0 {
				l = "  " + l
			}
			out = append(out, "   "+st.Warning.Render(l))
		}
	}
	out = append(out, strings.Split("   "+hang("apply keeps the confirm window: if the session hangs, it reverts on its own", max(width-4, 10), 3, st.Muted), "\n")...)
	return out
}

func (p *previewScreen) resize(m *Model, w, h int) {
	p.width = w
	p.vp.SetWidth(w)
	p.vp.SetHeight(max(h-len(p.header(w, m.st))-1, 1))
	p.refresh(m)
}

// refresh renders the scrolling part for the current mode.
func (p *previewScreen) refresh(m *Model) {
	p.vp.SetHeight(max(m.bodyHeight()-len(p.header(p.width, m.st))-1, 1))
	off := p.vp.YOffset()
	body := renderPreviewBody(p, m.caps.Netns, m.st)
	p.vp.SetContent(body)
	p.wide = widest(body)
	p.vp.SetYOffset(off)
}

func (p *previewScreen) view(m *Model, w, h int) string {
	head := p.header(w, m.st)
	note := viewNote(&p.vp, p.wide, m.st, p.width-ansi.StringWidth(tabs([]string{"diff", "ip commands", "snapshot"}, int(p.mode), m.st)))
	return strings.Join(head, "\n") + "\n" + tabs([]string{"diff", "ip commands", "snapshot"}, int(p.mode), m.st) + note + "\n" + p.vp.View()
}

// tabs draws the modes of a screen, the current one marked.
func tabs(names []string, at int, st Styles) string {
	var out []string
	for i, n := range names {
		if i == at {
			out = append(out, st.Focus.Render("["+n+"]"))
		} else {
			out = append(out, st.Muted.Render(" "+n+" "))
		}
	}
	return " " + strings.Join(out, " ")
}

var (
	nicField   = regexp.MustCompile(`nics\[(\d+)\]`)
	ruleField  = regexp.MustCompile(`rules\[(\d+)\]`)
	routeField = regexp.MustCompile(`routes\[(\d+)\]`)
)

// renderPreviewBody is the scrolling text of the preview; its ip commands
// act in netns, as they do when nictab runs them.
func renderPreviewBody(p *previewScreen, netns string, st Styles) string {
	if p.loading || (p.proposal == nil && p.err == nil) {
		return ""
	}
	if p.err != nil {
		var b strings.Builder
		for _, l := range strings.Split(p.err.Error(), "\n") {
			// Field paths name NICs by index; a person knows them by name.
			l = nicField.ReplaceAllStringFunc(l, func(s string) string {
				i, _ := strconv.Atoi(nicField.FindStringSubmatch(s)[1])
				if i < len(p.intent.NICs) {
					return netcfg.SafeText(p.intent.NICs[i].Name)
				}
				return s
			})
			l = ruleField.ReplaceAllStringFunc(l, func(s string) string {
				i, _ := strconv.Atoi(ruleField.FindStringSubmatch(s)[1])
				if i < len(p.intent.Rules) {
					return "rule " + ruleIntentText(&p.intent.Rules[i])
				}
				return s
			})
			l = routeField.ReplaceAllStringFunc(l, func(s string) string {
				i, _ := strconv.Atoi(routeField.FindStringSubmatch(s)[1])
				if i < len(p.intent.Routes) {
					return "route " + routeIntentText(&p.intent.Routes[i])
				}
				return s
			})
			for i, w := range wrap(netcfg.SafeText(l), p.width-4) {
				lead := "   "
				if i == 0 {
					lead = " " + st.Warning.Render("!") + " "
				}
				b.WriteString(lead + w + "\n")
			}
		}
		b.WriteString("\n " + st.Muted.Render("esc goes back to change the edits."))
		return b.String()
	}
	pr := p.proposal
	names := PlanNames(pr.Live.Names, &pr.Plan)
	switch p.mode {
	case modeCommands:
		var b strings.Builder
		b.WriteString(" " + st.Muted.Render("What apply does, as ip commands, in this order:") + "\n")
		for i := range pr.Plan.Changes {
			for _, c := range pr.Plan.Changes[i].Commands(pr.NamesFile) {
				for _, l := range wrapCommand(printable(netcfg.CommandIn(netns, c)), p.width-2) {
					b.WriteString(" " + st.Command.Render(l) + "\n")
				}
			}
		}
		if pr.Plan.Empty() {
			b.WriteString(" " + st.Muted.Render("(none)") + "\n")
		}
		return b.String()
	case modeSnapshot:
		if pr.Snapshot == "" {
			return " " + st.Muted.Render("The snapshot is written when the change is kept.")
		}
		return " " + st.Muted.Render("Saved when the change is kept:") + "\n" + indent(printable(pr.Snapshot), " ")
	}
	return renderPlanDiff(pr, &names, p.width, st)
}

// renderPlanDiff shows the NICs the plan is for, then every change under
// its table, then notes and conflicts.
func renderPlanDiff(p *Proposal, names *netcfg.Names, width int, st Styles) string {
	var b strings.Builder
	for _, n := range p.Desired.NICs {
		var gws []string
		for _, g := range n.Gateways {
			gws = append(gws, g.String())
		}
		via := st.Warning.Render("no gateway")
		if len(gws) > 0 {
			via = "via " + strings.Join(gws, ", ")
		}
		b.WriteString(" " + st.Title.Render(netcfg.SafeText(n.Name)) + " → table " + names.TableLabel(n.Table) + ", " + via + st.Muted.Render(", rule priority "+strconv.FormatUint(uint64(n.Priority), 10)) + "\n")
	}
	if n := adoptedCount(&p.Plan); n > 0 {
		b.WriteString(" " + hang("Adopting "+plural(n, "rule or route")+": each is replaced in place by the same one with proto nictab, so adoption moves no packet.", max(width-2, 10), 1, st.OK) + "\n")
	}
	writePlanDiff(&b, &p.Plan, names, " ", st)
	return b.String()
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

// scroll moves a viewport by the navigation keys, left and right too for
// lines wider than the terminal; it reports whether the key was one of
// them.
func scroll(vp *viewport.Model, msg tea.KeyPressMsg, k KeyMap) bool {
	switch {
	case key.Matches(msg, k.Up):
		vp.ScrollUp(1)
	case key.Matches(msg, k.Down):
		vp.ScrollDown(1)
	case key.Matches(msg, k.PageUp):
		vp.PageUp()
	case key.Matches(msg, k.PageDown):
		vp.PageDown()
	case key.Matches(msg, k.Top):
		vp.GotoTop()
	case key.Matches(msg, k.Bottom):
		vp.GotoBottom()
	case msg.String() == "left", msg.String() == "h":
		vp.ScrollLeft(8)
	case msg.String() == "right", msg.String() == "l":
		vp.ScrollRight(8)
	default:
		return false
	}
	return true
}

// previewKey handles a key on the preview screen.
func (m *Model) previewKey(msg tea.KeyPressMsg) tea.Cmd {
	p := &m.preview
	k := m.keys
	switch {
	case scroll(&p.vp, msg, k):
	case key.Matches(msg, k.Back):
		m.back()
	case key.Matches(msg, k.Commands):
		p.mode = map[bool]previewMode{true: modeDiff, false: modeCommands}[p.mode == modeCommands]
		p.vp.GotoTop()
		p.refresh(m)
	case key.Matches(msg, k.SnapshotText):
		p.mode = map[bool]previewMode{true: modeDiff, false: modeSnapshot}[p.mode == modeSnapshot]
		p.vp.GotoTop()
		p.refresh(m)
	case key.Matches(msg, k.Replan):
		if p.rollback != "" {
			return m.openRollback(p.rollback)
		}
		return m.openPreview()
	case key.Matches(msg, k.Apply):
		return m.startApplying()
	}
	return nil
}

// startApplying applies the plan on screen, unless something stands in the
// way; then says what.
func (m *Model) startApplying() tea.Cmd {
	p := &m.preview
	switch {
	case m.caps.ReadOnly:
		m.setFlash("nothing changed: "+m.caps.Reason, true)
	case p.loading || p.proposal == nil:
		m.setFlash("there is no plan to apply", true)
	case p.stale:
		m.setFlash("this plan is stale ("+p.staleWhy+"): press r to plan again", true)
	case len(p.proposal.Plan.Conflicts) > 0:
		m.setFlash("this plan has conflicts and cannot be applied", true)
	case p.proposal.Plan.Empty():
		m.setFlash("nothing to apply: the live state already matches", false)
	default:
		// No comment of its own: the history's summary already says which
		// NIC went to which table, and a rollback names its target.
		m.apply = armApply(p.proposal, m.caps.Confirm, m.clock())
		m.screen = screenApply
		return armedCmd(m.clock)
	}
	return nil
}

// adoptedCount is how many changes of a plan only take an object over:
// the same rule or route before and after, but for its protocol.
func adoptedCount(p *netcfg.Plan) int {
	n := 0
	for _, c := range p.Changes {
		if c.Action != netcfg.ChangeReplace {
			continue
		}
		switch {
		case c.Before.Rule != nil && c.After.Rule != nil:
			b := *c.Before.Rule
			b.Proto = c.After.Rule.Proto
			if netcfg.RuleEqual(&b, c.After.Rule) {
				n++
			}
		case c.Before.Route != nil && c.After.Route != nil:
			b := *c.Before.Route
			b.Proto = c.After.Route.Proto
			if netcfg.RouteEqual(&b, c.After.Route) {
				n++
			}
		}
	}
	return n
}
