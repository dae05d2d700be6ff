package ui

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// screen is where the person is.
type screen int

const (
	screenNICs screen = iota
	screenAssign
	screenPreview
	screenApply
	screenSnapshots
	screenSnapshot
	screenExport
	screenRoutes
	screenForm
)

// loadState is the state of the first read of the namespace: nothing can
// be shown before it.
type loadState int

const (
	loading loadState = iota
	loadFailed
	ready
)

// Options configures the terminal UI.
type Options struct {
	Backend Backend
	Styles  Styles
	// Keys defaults to DefaultKeyMap().
	Keys *KeyMap
	// Context ends the background work (live updates) when cancelled.
	Context context.Context
	// Clock tells the time; nil is time.Now. Update never reads it for a
	// message that carries its time (ticks, the apply's end, a change
	// found waiting), only for a key, which carries none.
	Clock func() time.Time
}

// Model is the root of the terminal UI. It holds one value per screen and
// routes messages to the one on show.
type Model struct {
	be    Backend
	caps  Capabilities
	ctx   context.Context
	clock func() time.Time
	st    Styles
	keys  KeyMap
	help  help.Model

	width, height int
	screen        screen
	load          loadState
	loadErr       error

	state netcfg.State
	show  ShowView
	lines []nicLine
	// list and listLines are what the NICs screen lists: show and lines,
	// or the rows its filters keep; hay is what they are found by.
	list      ShowView
	listLines []nicLine
	hay       nicsHay
	base      netcfg.Intent
	baseErr   error
	// baseRead says the intent was read once (base holds it, or baseErr
	// says why not); until then a preview waits for it (previewWaits):
	// planned from an empty base, it would remove all nictab manages.
	baseRead, previewWaits bool
	// intentAsked says the intent was asked for at start-up; heldKeys
	// are the keys typed before it was read (holdsKey).
	intentAsked bool
	heldKeys    []tea.KeyPressMsg
	edits       edits
	// liveTables are the tables of show as read; show adds those only
	// the edits make. tablesGen is the edits value they were added for.
	liveTables []TableView
	liveRules  []RuleView
	tablesGen  uint64

	nics    nicsScreen
	assign  assignScreen
	preview previewScreen
	apply   applyScreen
	snaps   snapshotsScreen
	snap    snapshotScreen
	export  exportScreen
	routes  routesScreen
	// form is the rule, route or table form open; formFrom the screen it
	// returns to.
	form     *editForm
	formFrom screen

	// newRule is a rule just saved on the rules pane, for the cursor to
	// go to once it is listed.
	newRule *netcfg.RuleIntent
	// newRoute is set when a route was just added on the routes screen.
	newRoute bool
	// previewFrom is the screen the preview goes back to.
	previewFrom screen

	showHelp bool
	helpOff  int
	ask      *question
	// flash is a one-line message under the screen until the next key.
	flash    string
	flashBad bool

	live liveState
}

// liveState tracks the watcher and the reads it causes: one read at a
// time, and one more if changes came in during it.
type liveState struct {
	ch      <-chan struct{}
	err     error
	reading bool
	again   bool
}

// question asks yes or no before something that cannot be taken back.
type question struct {
	text string
	yes  func(m *Model) tea.Cmd
}

// New builds the root model. Nothing is read until Init.
func New(o Options) Model {
	keys := DefaultKeyMap()
	if o.Keys != nil {
		keys = *o.Keys
	}
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	h := help.New()
	h.Styles = help.Styles{
		ShortKey: o.Styles.Key, ShortDesc: o.Styles.Muted, ShortSeparator: o.Styles.Muted,
		FullKey: o.Styles.Key, FullDesc: o.Styles.Muted, FullSeparator: o.Styles.Muted,
		Ellipsis: o.Styles.Muted,
	}
	h.ShortSeparator = " · "
	clock := o.Clock
	if clock == nil {
		clock = time.Now
	}
	return Model{
		be: o.Backend, caps: o.Backend.Capabilities(), ctx: ctx, clock: clock, st: o.Styles, keys: keys, help: h,
		width: 80, height: 24,
	}
}

// Init first brings back to a whole state a host an interrupted apply left
// between two, so that what the screen shows is real; then it reads the
// namespace and any change left waiting for confirmation, and starts live
// updates. The intent is read once the namespace is (see gotState).
func (m Model) Init() tea.Cmd {
	return tea.Sequence(recoverCmd(m.be), tea.Batch(detectCmd(m.be), pendingCmd(m.be, m.clock), watchCmd(m.ctx, m.be)))
}

// bodyHeight is what is left for a screen under the title bar and banner
// and over the message and help lines.
func (m *Model) bodyHeight() int {
	w := max(m.width, 20)
	return max(m.height-1-len(m.bannerLines(w))-len(m.flashLines(w))-1, 3)
}

// maxFlashLines bounds a message, so that a long error leaves the screen
// some room; each line wraps rather than being cut.
const maxFlashLines = 5

// flashLines is the message under the screen, wrapped to the width: one
// empty line when there is none.
func (m *Model) flashLines(w int) []string {
	if m.flash == "" {
		return []string{""}
	}
	style := m.st.OK
	if m.flashBad {
		style = m.st.Warning
	}
	// Messages carry errors, and errors carry the kernel's text.
	lines := wrap(printable(m.flash), w)
	if len(lines) > maxFlashLines {
		lines = append(lines[:maxFlashLines-1], cut(strings.Join(lines[maxFlashLines-1:], " "), w))
	}
	for i, l := range lines {
		lines[i] = style.Render(l)
	}
	return lines
}

// bannerLines are the banners, wrapped to the width.
func (m *Model) bannerLines(w int) []string {
	var out []string
	for _, b := range m.banners() {
		for _, l := range wrap(printable(b), w) {
			out = append(out, m.st.Warning.Render(l))
		}
	}
	return out
}

// banners are the warnings that stay on top of every screen.
func (m *Model) banners() []string {
	var out []string
	if m.caps.ReadOnly {
		out = append(out, "read-only: "+m.caps.Reason)
	}
	return out
}

// tableName names a table from the live names, the intent, or the edits.
func (m *Model) tableName(id uint32) string {
	if n := m.state.Names.TableName(id); n != "" {
		return n
	}
	for _, t := range m.base.Tables {
		if t.ID == id {
			return t.Name
		}
	}
	for _, t := range m.edits.newTables() {
		if t.ID == id {
			return t.Name
		}
	}
	return ""
}

func (m *Model) tableLabel(id uint32) string { return tableLabel(id, m.tableName(id)) }

func (m *Model) setFlash(s string, bad bool) { m.flash, m.flashBad = m.caps.Hint(s), bad }

// intent is what the edits make of the base.
func (m *Model) intent() netcfg.Intent { return applyEdits(m.base, m.edits) }

// Update routes a message: results of commands first, then keys.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.help.SetWidth(msg.Width)
		m.relayout()
		return m, nil
	case tea.KeyPressMsg:
		if m.holdsKey(msg) {
			m.heldKeys = append(m.heldKeys, msg)
			return m, nil
		}
		return m.updateKeyPress(msg)
	}
	cmd := m.updateResult(msg)
	return m, cmd
}

func (m Model) updateKeyPress(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if utf8.RuneCountInString(msg.Text) > 1 {
		return m.updateRunes(msg)
	}
	return m.updateKey(msg)
}

// holdsKey reports whether a key is kept until the intent is read at
// start-up (see gotState), so that an edit begun at once starts from what
// nictab manages: every key but quit's, outside the confirm dialog and a
// question, which take their keys as they come.
func (m *Model) holdsKey(msg tea.KeyPressMsg) bool {
	return !m.baseRead && m.screen != screenApply && m.ask == nil && !key.Matches(msg, m.keys.Quit)
}

// replayHeldKeys hands the keys held until the intent was read to the
// screens, in order. Held keys meet no confirm dialog opened meanwhile (a
// change found waiting at start-up): one takes only keys typed once it
// is on the screen and armed.
func (m *Model) replayHeldKeys() tea.Cmd {
	held := m.heldKeys
	m.heldKeys = nil
	var cmds []tea.Cmd
	for _, k := range held {
		if m.screen == screenApply || m.ask != nil {
			break
		}
		next, cmd := m.updateKeyPress(k)
		*m = next.(Model)
		cmds = append(cmds, cmd)
	}
	return tea.Batch(cmds...)
}

// relayout fits the screens' scroll positions to the terminal.
func (m *Model) relayout() {
	if m.load == ready {
		m.nics.reflow(&m.list, m.listLines, m.bodyHeight())
	}
	m.preview.resize(m, m.width, m.bodyHeight())
	m.snap.resize(m.width, m.bodyHeight())
	m.export.resize(m.width, m.bodyHeight())
	m.snaps.reflow(m.bodyHeight())
}

// setState takes in a newly read state.
func (m *Model) setState(s netcfg.State) {
	m.state = s
	m.show = BuildShow(s, m.caps.Netns)
	m.liveTables, m.liveRules = m.show.Tables, m.show.Rules
	m.tablesGen = ^uint64(0)
	m.syncPending()
	m.lines = nicLines(&m.show, &m.state)
	m.load = ready
	m.hay = nicsHay{}
	m.refilterAll()
	m.nics.reflow(&m.list, m.listLines, m.bodyHeight())
	if m.screen == screenRoutes || m.formFrom == screenRoutes {
		m.routes.load(&m.state, m.routes.table, m.pendingRoutes(m.routes.table))
		m.routes.move(0, m.bodyHeight())
	}
}

// updateRunes takes letters that arrived together one at a time. Over SSH
// several keystrokes often come in one packet, and the terminal reads them
// as one message: "pa" must be p, then a, not a key nobody has.
func (m Model) updateRunes(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	var cmds []tea.Cmd
	for _, r := range msg.Text {
		next, cmd := m.updateKey(tea.KeyPressMsg{Code: r, Text: string(r), Mod: msg.Mod})
		m = next.(Model)
		cmds = append(cmds, cmd)
	}
	return m, tea.Batch(cmds...)
}

func (m Model) updateKey(msg tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	m.flash = ""
	if m.ask != nil {
		switch {
		case key.Matches(msg, m.keys.Yes):
			q := m.ask
			m.ask = nil
			return m, q.yes(&m)
		case key.Matches(msg, m.keys.No), msg.String() == "ctrl+c":
			m.ask = nil
		}
		return m, nil
	}
	if m.screen == screenApply {
		// The confirm dialog takes every key: y keeps, anything else
		// reverts. Nothing else may happen while a change is in flight.
		return m, m.apply.key(&m, msg)
	}
	if m.showHelp {
		m.helpKey(msg)
		return m, nil
	}
	if m.load != ready {
		switch {
		case key.Matches(msg, m.keys.Quit):
			return m, tea.Quit
		case key.Matches(msg, m.keys.Reload) && m.load == loadFailed:
			m.load = loading
			return m, detectCmd(m.be)
		}
		return m, nil
	}
	typing := m.typing()
	switch {
	case msg.String() == "ctrl+c", key.Matches(msg, m.keys.Quit) && !typing:
		return m, m.quit()
	case key.Matches(msg, m.keys.Help) && !typing:
		m.showHelp, m.helpOff = true, 0
		return m, nil
	}
	cmd := m.page().key(&m, msg)
	if m.tablesGen != m.edits.gen {
		m.syncPending()
		m.hay.built[paneTables], m.hay.built[paneRules] = false, false
		m.refilterAll()
		m.showNewRule()
		if m.screen == screenRoutes {
			m.routes.load(&m.state, m.routes.table, m.pendingRoutes(m.routes.table))
			if m.newRoute {
				// The route just saved is the last one listed.
				m.routes.cursor = m.routes.count() - 1
			}
			m.routes.move(0, m.bodyHeight())
		}
		m.newRoute = false
		m.nics.reflow(&m.list, m.listLines, m.bodyHeight())
	}
	return m, cmd
}

// typing reports whether keys go to a text field, where q and ? are
// letters.
func (m *Model) typing() bool { return m.page().typing(m) }

// quit leaves, asking first when edits would be lost.
func (m *Model) quit() tea.Cmd {
	if n := m.edits.len(); n > 0 {
		m.ask = &question{
			text: "Quit and drop " + plural(n, "unapplied edit") + "?",
			yes:  func(*Model) tea.Cmd { return tea.Quit },
		}
		return nil
	}
	return tea.Quit
}

// back goes to the screen a screen was opened from.
func (m *Model) back() { m.screen = m.page().back(m) }

// View is the frame in the alternate screen. Bubble Tea v2 writes only the
// cells that changed since the last frame.
func (m Model) View() tea.View {
	v := tea.NewView(m.frame())
	v.AltScreen = true
	return v
}

// frame draws the whole terminal: title bar, banners, the screen, a message
// line and the help line, exactly width × height.
func (m Model) frame() string {
	w, h := max(m.width, 20), max(m.height, 5)
	var out []string
	out = append(out, titleBar(m.crumbs(), m.status(), w, m.st))
	out = append(out, m.bannerLines(w)...)
	bh := m.bodyHeight()
	body := fit(m.body(w, bh), w, bh)
	if m.ask != nil {
		body = overlay(body, box([]string{m.ask.text, "", m.st.Key.Render("y") + " yes   " + m.st.Key.Render("n") + " no"}, w, m.st.Alarm), w)
	}
	if m.showHelp {
		body = overlay(body, m.fullHelp(w, bh), w)
	}
	out = append(out, body...)
	out = append(out, m.flashLines(w)...)
	out = append(out, cut(m.help.ShortHelpView(m.helpKeys().ShortHelp()), w))
	return strings.Join(fit(strings.Join(out, "\n"), w, h), "\n")
}

// crumbs says where the person is.
func (m *Model) crumbs() string {
	return " " + strings.Join(append([]string{"nictab"}, m.page().crumbs(m)...), " » ")
}

// status is the right end of the title bar: namespace and live updates.
func (m *Model) status() string {
	var s []string
	if m.caps.Netns != "" {
		s = append(s, "netns "+netcfg.SafeText(m.caps.Netns))
	} else if m.caps.Host != "" {
		s = append(s, netcfg.SafeText(m.caps.Host))
	}
	switch {
	case m.live.err != nil:
		s = append(s, "live off")
	case m.live.ch != nil:
		s = append(s, "live")
	}
	return strings.Join(s, " · ") + " "
}

// body is the screen itself.
func (m *Model) body(w, h int) string {
	switch m.load {
	case loading:
		return "\n  Reading the network namespace..."
	case loadFailed:
		return "\n  " + m.st.Danger.Render(" cannot read the network namespace ") + "\n\n  " +
			netcfg.SafeText(m.loadErr.Error()) + "\n\n  " + m.st.Key.Render("r") + " try again   " + m.st.Key.Render("q") + " quit"
	}
	return m.page().view(m, w, h)
}

func (m *Model) nicsView() nicsView {
	return nicsView{
		show: &m.list, lines: m.listLines, all: &m.show, screen: m.nics, layout: layoutNICs(paneSizes(&m.list, m.listLines), m.bodyHeight()),
		edits: m.edits, names: &m.state.Names, tableOf: m.tableLabel, readOnly: m.caps.ReadOnly, ruleMark: m.pendingRuleMark,
	}
}
