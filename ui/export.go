package ui

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	"charm.land/bubbles/v2/viewport"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/nictab/nictab/netcfg"
)

// The export screen: a snapshot as a NixOS module, scrollable, written to
// a file the person names.

type exportScreen struct {
	id      string
	flavor  string
	loading bool
	text    string
	err     error
	vp      viewport.Model
	wide    int
	width   int
	// asking is set while the file name is typed.
	asking bool
	path   *textinput.Model
	wrote  string
}

var flavors = []string{"networkd", "scripted"}

func (m *Model) openExport(id string) tea.Cmd {
	if !m.caps.Export {
		m.setFlash("export to Nix is not available in this build", true)
		return nil
	}
	in := newInput(m.st, "", 4096)
	in.SetWidth(max(m.width-44, 20))
	in.SetValue("nictab-" + id + ".nix")
	// No flavour of its own: the backend picks the one the CLI would.
	m.export = exportScreen{id: id, loading: true, vp: m.export.vp, path: in}
	m.screen = screenExport
	m.export.resize(m.width, m.bodyHeight())
	return exportCmd(m.be, id, m.export.flavor)
}

func (e *exportScreen) take(m *Model, msg tea.Msg) {
	switch msg := msg.(type) {
	case exportMsg:
		if msg.id != e.id || msg.asked != e.flavor {
			return
		}
		e.loading, e.text, e.err = false, msg.text, msg.err
		if msg.flavor != "" {
			e.flavor = msg.flavor
		}
		e.refresh(m.st)
		e.vp.GotoTop()
	case wroteMsg:
		if msg.err != nil {
			m.setFlash(msg.err.Error(), true)
			return
		}
		e.wrote = msg.path
		m.setFlash("wrote "+plural(msg.n, "byte")+" to "+netcfg.SafeText(msg.path), false)
	}
}

func (e *exportScreen) resize(w, h int) {
	e.width = w
	e.vp.SetWidth(w)
	e.vp.SetHeight(max(h-2, 1))
}

// refresh puts the text for the current state into the viewport.
func (e *exportScreen) refresh(st Styles) {
	var body string
	switch {
	case e.loading:
		body = " Exporting..."
	case e.err != nil:
		body = " " + st.Warning.Render("! ") + netcfg.SafeText(e.err.Error())
	default:
		// The text is Nix that nictab escaped itself, but a screen must
		// not trust it to be free of control characters either.
		body = indent(printable(e.text), " ")
	}
	e.vp.SetContent(body)
	e.wide = widest(body)
}

func (e *exportScreen) view(w int, st Styles) string {
	head := tabs(flavors, indexOf(flavors, e.flavor), st) + st.Muted.Render("  f switches")
	var foot string
	switch {
	case e.asking:
		foot = st.Focus.Render("> write to ") + e.path.View() + st.Muted.Render("  enter writes · esc cancels")
	case e.wrote != "":
		foot = st.Muted.Render(" written to " + netcfg.SafeText(e.wrote) + "; import it from configuration.nix")
	default:
		foot = st.Muted.Render(" w writes this module to a file")
	}
	return head + viewNote(&e.vp, e.wide, st, w-ansi.StringWidth(head)) + "\n" + e.vp.View() + "\n" + foot
}

// expandHome reads a leading ~ or ~/ as the shell does: the home
// directory of the user nictab runs as.
func expandHome(path string) (string, error) {
	if path != "~" && !strings.HasPrefix(path, "~/") {
		return path, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot expand ~ in %s: %w", path, err)
	}
	return filepath.Join(home, path[1:]), nil
}

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return 0
}

// exportKey handles a key on the export screen.
func (m *Model) exportKey(msg tea.KeyPressMsg) tea.Cmd {
	k := m.keys
	e := &m.export
	if e.asking {
		switch msg.String() {
		case "esc":
			e.asking = false
			e.path.Blur()
			return nil
		case "enter":
			path := strings.TrimSpace(e.path.Value())
			if path == "" {
				m.setFlash("type a file name", true)
				return nil
			}
			path, err := expandHome(path)
			if err != nil {
				m.setFlash(err.Error(), true)
				return nil
			}
			e.asking = false
			e.path.Blur()
			return writeCmd(m.be, path, []byte(e.text))
		}
		in, cmd := e.path.Update(msg)
		*e.path = in
		return cmd
	}
	switch {
	case scroll(&e.vp, msg, k):
	case key.Matches(msg, k.Back):
		m.back()
	case key.Matches(msg, k.Flavor):
		e.flavor = flavors[(indexOf(flavors, e.flavor)+1)%len(flavors)]
		e.loading = true
		e.refresh(m.st)
		return exportCmd(m.be, e.id, e.flavor)
	case key.Matches(msg, k.Write):
		if e.loading || e.err != nil {
			m.setFlash("there is no export to write", true)
			return nil
		}
		e.asking = true
		return e.path.Focus()
	}
	return nil
}
