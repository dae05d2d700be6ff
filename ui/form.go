package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
)

// The edit forms of rules, routes and tables: text fields checked on
// every keystroke, as the assign form's are, so that a person sees what is
// wrong while typing. enter saves only when every field is right.

// formKind says what a form edits.
type formKind int

const (
	formRule formKind = iota
	formRoute
	formTable
)

// formField is one line of a form.
type formField struct {
	label string
	in    *textinput.Model
	// hint says what an empty field means.
	hint string
}

// editForm is an open form: its fields, where the cursor is, and what it
// edits (before is the entry an edit replaces; nil for a new one).
type editForm struct {
	kind   formKind
	title  string
	fields []formField
	focus  int
	// tried is set once enter was pressed, so problems of untouched
	// fields show from then on.
	tried       bool
	ruleBefore  *ruleEntry
	routeBefore *routeEntry
	tableBefore *tableEntry
}

// formCheck is what a form's fields say now: a problem per field that is
// wrong, remarks on fields that are right but worth a word, and the edit
// saving would make.
type formCheck struct {
	problems map[int]string
	notes    map[int]string
	// meaning says what enter does, when nothing is wrong.
	meaning string
	op      op
}

func (f *editForm) value(i int) string { return strings.TrimSpace(f.fields[i].in.Value()) }

func (f *editForm) addField(st Styles, label, placeholder, hint string, limit int, value string) {
	in := newInput(st, placeholder, limit)
	// Wide enough for the example, so it is not cut.
	in.SetWidth(max(min(limit, 26), len(placeholder)+1))
	in.SetValue(value)
	f.fields = append(f.fields, formField{label: label, in: in, hint: hint})
	f.focusInput()
}

func (f *editForm) focusInput() {
	for i := range f.fields {
		if i == f.focus {
			f.fields[i].in.Focus()
		} else {
			f.fields[i].in.Blur()
		}
	}
}

// update takes a key; save reports enter on a form without problems,
// cancel esc.
func (f *editForm) update(msg tea.KeyPressMsg, k KeyMap, c formCheck) (save, cancel bool, cmd tea.Cmd) {
	switch {
	case key.Matches(msg, k.Back):
		return false, true, nil
	case msg.String() == "enter":
		f.tried = true
		if len(c.problems) == 0 {
			return true, false, nil
		}
		for i := range f.fields {
			if _, bad := c.problems[i]; bad {
				f.focus = i
				break
			}
		}
		f.focusInput()
		return false, false, nil
	case msg.String() == "tab", msg.String() == "down":
		f.focus = (f.focus + 1) % len(f.fields)
	case msg.String() == "shift+tab", msg.String() == "up":
		f.focus = (f.focus + len(f.fields) - 1) % len(f.fields)
	default:
		in := f.fields[f.focus].in
		m, cmd := in.Update(msg)
		*in = m
		return false, false, cmd
	}
	f.focusInput()
	return false, false, nil
}

// renderForm draws a form: a title, each field with its label, value and
// what is wrong with it or what it means, then what enter does. Taller
// than the screen, it shows the fields around the one being typed.
func renderForm(f *editForm, c formCheck, width, height int, st Styles) string {
	var b strings.Builder
	b.WriteString(" " + st.Title.Render(f.title) + "\n\n")
	w := max(width-labelWidth-5, 10)
	blocks := make([]string, len(f.fields))
	for i, fl := range f.fields {
		lab := " " + pad(fl.label, labelWidth)
		if i == f.focus {
			lab = st.Focus.Render(pad("> "+fl.label, labelWidth+1))
		}
		line := lab + " " + fl.in.View()
		msg, bad := c.problems[i]
		switch {
		case bad && (f.tried || fl.in.Value() != ""):
			line += "\n" + strings.Repeat(" ", labelWidth+3) + hang("! "+msg, w, labelWidth+5, st.Warning)
		case c.notes[i] != "":
			line += "\n" + strings.Repeat(" ", labelWidth+3) + hang(c.notes[i], w, labelWidth+3, st.Muted)
		case fl.in.Value() == "" && fl.hint != "" && i == f.focus:
			line += "  " + st.Muted.Render(cut(fl.hint, max(width-labelWidth-4-fl.in.Width(), 4)))
		}
		blocks[i] = line
	}
	// What enter does is drawn first: it may wrap, and the fields get
	// every line it leaves.
	var foot strings.Builder
	if len(c.problems) > 0 {
		foot.WriteString(" " + hang("Fix the fields marked ! (enter shows what is missing); esc cancels.", max(width-2, 10), 1, st.Muted) + "\n")
	} else {
		foot.WriteString(" " + st.OK.Render("enter") + " " + hang(c.meaning, max(width-8, 10), 7, st.Plain) + "\n")
		foot.WriteString(" " + hang("Nothing changes until you preview (p) and apply.", max(width-2, 10), 1, st.Muted) + "\n")
	}
	// The fields and their marks get what the title (and its blank line)
	// and the footer leave.
	first, last := formWindow(blocks, f.focus, height-2-strings.Count(foot.String(), "\n"))
	if first > 0 {
		b.WriteString(" " + st.Muted.Render(fmt.Sprintf("↑ %d more", first)) + "\n")
	}
	for _, bl := range blocks[first:last] {
		b.WriteString(bl + "\n")
	}
	if last < len(blocks) {
		b.WriteString(" " + st.Muted.Render(fmt.Sprintf("↓ %d more", len(blocks)-last)) + "\n")
	} else {
		b.WriteString("\n")
	}
	b.WriteString(foot.String())
	return b.String()
}

// checkForm checks the open form.
func (m *Model) checkForm() formCheck {
	switch m.form.kind {
	case formRule:
		return m.checkRuleForm(m.form)
	case formRoute:
		return m.checkRouteForm(m.form)
	}
	return m.checkTableForm(m.form)
}

// formKey handles a key on an open form.
func (m *Model) formKey(msg tea.KeyPressMsg) tea.Cmd {
	save, cancel, cmd := m.form.update(msg, m.keys, m.checkForm())
	switch {
	case cancel:
		m.screen = m.formFrom
	case save:
		m.saveForm(m.checkForm())
		m.screen = m.formFrom
	}
	return cmd
}

// formWindow is the fields [first, last) that fit in budget lines with
// the focused one among them: the fields, an "↑ more" mark when some are
// above, and below them a "↓ more" mark or, when all fit, a blank line.
func formWindow(blocks []string, focus, budget int) (first, last int) {
	lines := func(i int) int { return strings.Count(blocks[i], "\n") + 1 }
	total := 0
	for i := range blocks {
		total += lines(i)
	}
	if total+1 <= budget {
		return 0, len(blocks)
	}
	fits := func(first, used int) bool {
		marks := 1 // the line below: "↓ more", or the blank under the last field
		if first > 0 {
			marks++
		}
		return used+marks <= budget
	}
	first, last = focus, focus+1
	used := lines(focus)
	for grew := true; grew; {
		grew = false
		if last < len(blocks) && fits(first, used+lines(last)) {
			used += lines(last)
			last++
			grew = true
		}
		if first > 0 && fits(first-1, used+lines(first-1)) {
			first--
			used += lines(first)
			grew = true
		}
	}
	return first, last
}
