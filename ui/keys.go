package ui

import (
	"charm.land/bubbles/v2/key"
)

// KeyMap holds every key of the terminal UI. Each screen shows the part
// that applies to it (see the help.KeyMap methods below), so the footer and
// the `?` overlay always follow the screen.
type KeyMap struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
	NextPane, PrevPane                      key.Binding
	Help, Back, Quit                        key.Binding

	// Find, on every list; while typing one, enter keeps it and esc
	// clears it.
	Filter, FilterKeep, FilterClear key.Binding

	// NICs screen.
	Assign, Unassign, Discard, Preview, Snapshots, Reload key.Binding

	// Edits on the rules and tables panes and the routes screen; Undo
	// takes back the last edit on any of them.
	New, Edit, Delete, Adopt, Undo, Routes key.Binding

	// Assign screen.
	NextField, PrevField, Toggle, Save, NewTable key.Binding

	// Preview screen.
	Apply, Commands, SnapshotText, Replan key.Binding

	// Confirm dialog.
	Keep, RevertNow key.Binding

	// Snapshots screen.
	Open, Diff, Mark, Rollback, Export key.Binding

	// Export screen.
	Write, Flavor key.Binding

	// Yes and No answer questions.
	Yes, No key.Binding
}

// DefaultKeyMap returns the keys nictab ships with: arrows or vi keys to
// move, one letter per action, esc back, q quit.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, k, desc string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, desc))
	}
	return KeyMap{
		Up:          b([]string{"up", "k"}, "↑/k", "up"),
		Down:        b([]string{"down", "j"}, "↓/j", "down"),
		PageUp:      b([]string{"pgup", "ctrl+b"}, "pgup", "page up"),
		PageDown:    b([]string{"pgdown", "ctrl+f", "space"}, "pgdn", "page down"),
		Top:         b([]string{"home", "g"}, "g", "top"),
		Bottom:      b([]string{"end", "G"}, "G", "bottom"),
		NextPane:    b([]string{"tab"}, "tab", "next pane"),
		PrevPane:    b([]string{"shift+tab"}, "shift+tab", "previous pane"),
		Help:        b([]string{"?"}, "?", "help"),
		Back:        b([]string{"esc"}, "esc", "back"),
		Quit:        b([]string{"q", "ctrl+c"}, "q", "quit"),
		Filter:      b([]string{"/"}, "/", "filter"),
		FilterKeep:  b([]string{"enter"}, "enter", "keep filter"),
		FilterClear: b([]string{"esc"}, "esc", "clear filter"),
		Assign:      b([]string{"a", "enter"}, "a", "assign"),
		Unassign:    b([]string{"d"}, "d", "unassign"),
		New:         b([]string{"n"}, "n", "new"),
		Edit:        b([]string{"e", "enter"}, "e", "edit"),
		Delete:      b([]string{"d"}, "d", "delete"),
		Adopt:       b([]string{"A"}, "A", "adopt"),
		Undo:        b([]string{"u"}, "u", "undo"),
		Routes:      b([]string{"enter"}, "enter", "routes"),
		Discard:     b([]string{"x"}, "x", "drop edit"),
		Preview:     b([]string{"p"}, "p", "preview"),
		Snapshots:   b([]string{"s"}, "s", "snapshots"),
		Reload:      b([]string{"r", "ctrl+r"}, "r", "reload"),
		NextField:   b([]string{"tab", "down"}, "tab", "next field"),
		PrevField:   b([]string{"shift+tab", "up"}, "shift+tab", "previous field"),
		Toggle:      b([]string{"space"}, "space", "toggle"),
		Save:        b([]string{"enter"}, "enter", "save"),
		NewTable:    b([]string{"n"}, "n", "new table"),
		Apply:       b([]string{"a"}, "a", "apply"),
		Commands:    b([]string{"c"}, "c", "ip commands"),
		// Preview shows the snapshot apply will save; the letter is the
		// same as the snapshots screen's, as both show a snapshot.
		SnapshotText: b([]string{"s"}, "s", "snapshot"),
		Replan:       b([]string{"r"}, "r", "re-plan"),
		Keep:         b([]string{"y"}, "y", "keep"),
		RevertNow:    b([]string{"n", "esc"}, "n/esc", "revert now"),
		Open:         b([]string{"enter"}, "enter", "open"),
		Diff:         b([]string{"d"}, "d", "diff with live or marked"),
		Mark:         b([]string{"m"}, "m", "mark for diff"),
		Rollback:     b([]string{"R"}, "R", "roll back"),
		Export:       b([]string{"e"}, "e", "export nix"),
		Write:        b([]string{"w"}, "w", "write to file"),
		Flavor:       b([]string{"f"}, "f", "flavour"),
		Yes:          b([]string{"y"}, "y", "yes"),
		No:           b([]string{"n", "esc"}, "n", "no"),
	}
}

// helpKeys is a help.KeyMap built from a screen's short and full lists.
type helpKeys struct {
	short []key.Binding
	full  [][]key.Binding
}

func (h helpKeys) ShortHelp() []key.Binding  { return h.short }
func (h helpKeys) FullHelp() [][]key.Binding { return h.full }

func (k KeyMap) nicsHelp(readOnly bool, focus pane) helpKeys {
	assign, unassign, preview := k.Assign, k.Unassign, k.Preview
	nw, edit, del, adopt, undo := k.New, k.Edit, k.Delete, k.Adopt, k.Undo
	if readOnly {
		// Shown disabled rather than hidden: a person learns the key and
		// why it does nothing here from the banner.
		for _, b := range []*key.Binding{&assign, &unassign, &preview, &nw, &edit, &del, &adopt, &undo} {
			b.SetHelp(b.Help().Key, b.Help().Desc+" (off)")
		}
	}
	var short, acts []key.Binding
	switch focus {
	case paneTables:
		edit.SetHelp("e", "rename")
		short = []key.Binding{k.Routes, nw, edit, del, k.Filter, preview, k.Help}
		acts = []key.Binding{k.Routes, nw, edit, del, undo, preview}
	case paneRules:
		short = []key.Binding{nw, edit, del, adopt, k.Filter, preview, k.Help}
		acts = []key.Binding{nw, edit, del, adopt, undo, preview}
	default:
		short = []key.Binding{assign, preview, k.Snapshots, k.NextPane, k.Filter, k.Help, k.Quit}
		acts = []key.Binding{assign, unassign, k.Discard, undo, preview}
	}
	return helpKeys{
		short: short,
		full: [][]key.Binding{
			{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
			{k.NextPane, k.PrevPane, k.Filter, k.Reload},
			acts,
			{k.Snapshots, k.Help, k.Quit},
		},
	}
}

func (k KeyMap) routesHelp() helpKeys {
	return helpKeys{
		short: []key.Binding{k.New, k.Edit, k.Delete, k.Adopt, k.Undo, k.Preview, k.Filter, k.Back},
		full: [][]key.Binding{
			{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
			{k.New, k.Edit, k.Delete, k.Adopt, k.Undo, k.Preview},
			{k.Filter, k.Back, k.Help, k.Quit},
		},
	}
}

func (k KeyMap) formHelp() helpKeys {
	return helpKeys{
		short: []key.Binding{k.NextField, k.PrevField, k.Save, k.Back},
		full:  [][]key.Binding{{k.NextField, k.PrevField}, {k.Save, k.Back}},
	}
}

func (k KeyMap) assignHelp() helpKeys {
	return helpKeys{
		short: []key.Binding{k.NextField, k.Toggle, k.NewTable, k.Save, k.Back, k.Help},
		full: [][]key.Binding{
			{k.NextField, k.PrevField},
			{k.Up, k.Down, k.Toggle, k.NewTable},
			{k.Save, k.Back, k.Help},
		},
	}
}

func (k KeyMap) previewHelp() helpKeys {
	return helpKeys{
		short: []key.Binding{k.Apply, k.Commands, k.SnapshotText, k.Replan, k.Back, k.Help},
		full: [][]key.Binding{
			{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
			{k.Apply, k.Commands, k.SnapshotText, k.Replan},
			{k.Back, k.Help, k.Quit},
		},
	}
}

func (k KeyMap) confirmHelp() helpKeys {
	return helpKeys{short: []key.Binding{k.Keep, k.RevertNow}, full: [][]key.Binding{{k.Keep, k.RevertNow}}}
}

func (k KeyMap) resultHelp() helpKeys {
	return helpKeys{
		short: []key.Binding{k.Back, k.Snapshots, k.Help, k.Quit},
		full:  [][]key.Binding{{k.Back, k.Snapshots}, {k.Help, k.Quit}},
	}
}

func (k KeyMap) snapshotsHelp() helpKeys {
	// The footer says "diff" short, so that esc and ? still fit in 80
	// columns; the overlay says what it diffs with.
	diff := k.Diff
	diff.SetHelp(diff.Help().Key, "diff")
	return helpKeys{
		short: []key.Binding{k.Open, diff, k.Rollback, k.Export, k.Filter, k.Back, k.Help},
		full: [][]key.Binding{
			{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
			{k.Open, k.Diff, k.Mark, k.Rollback, k.Export, k.Filter, k.Reload},
			{k.Back, k.Help, k.Quit},
		},
	}
}

func (k KeyMap) textHelp(extra ...key.Binding) helpKeys {
	short := append(append([]key.Binding{k.Down, k.PageDown}, extra...), k.Back, k.Help)
	return helpKeys{
		short: short,
		full: [][]key.Binding{
			{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
			append(extra, k.Back, k.Help, k.Quit),
		},
	}
}

// filterHelp is the footer while a filter is typed: the arrows still
// move through what it keeps.
func (k KeyMap) filterHelp() helpKeys {
	up, down := k.Up, k.Down
	up.SetHelp("↑", "up")
	down.SetHelp("↓", "down")
	return helpKeys{
		short: []key.Binding{k.FilterKeep, k.FilterClear, up, down},
		full:  [][]key.Binding{{k.FilterKeep, k.FilterClear}, {up, down}},
	}
}

func (k KeyMap) questionHelp() helpKeys {
	return helpKeys{short: []key.Binding{k.Yes, k.No}, full: [][]key.Binding{{k.Yes, k.No}}}
}
