package ui

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// The assign screen: send one NIC's traffic to a table. Every field is
// checked as it is typed; enter saves the edit only when all are right.

type field int

const (
	fieldTable field = iota
	fieldID
	fieldName
	fieldGw4
	fieldGw6
	fieldSelect
	fieldMark
	fieldPrio
)

type assignScreen struct {
	link      netcfg.Link
	detected4 netip.Addr
	detected6 netip.Addr
	has4      bool
	has6      bool
	// choices are the known tables; index len(choices) is "new table".
	choices []tableChoice
	choice  int
	offset  int
	focus   field
	inputs  map[field]*textinput.Model
	sel     [4]bool // in netcfg.Selectors order
	selAt   int
	names   *netcfg.Names
	// rules are the live rules, for the priorities taken.
	rules []netcfg.Rule
	// tried is set once enter was pressed, so errors of untouched fields
	// show from then on.
	tried bool
}

// tableListRows is how many known tables the list shows at once.
const tableListRows = 5

func newInput(st Styles, placeholder string, limit int) *textinput.Model {
	ti := textinput.New()
	ti.Prompt = ""
	ti.Placeholder = placeholder
	ti.CharLimit = limit
	ti.SetWidth(min(limit, 40))
	text := textinput.StyleState{Text: st.Focus.UnsetBold(), Placeholder: st.Muted}
	// A blinking cursor redraws twice a second: traffic on a slow SSH
	// link for nothing. The drawn (virtual) cursor is reverse video, so it
	// shows without colour.
	ti.SetStyles(textinput.Styles{Focused: text, Blurred: text, Cursor: textinput.CursorStyle{Blink: false}})
	return &ti
}

// newAssign opens the form for a NIC, filled from the NIC's pending edit,
// else its entry in the intent.
func newAssign(l netcfg.Link, s *netcfg.State, choices []tableChoice, current netcfg.NICIntent, assigned bool, st Styles) assignScreen {
	a := assignScreen{link: l, choices: choices, names: &s.Names, rules: s.Rules, inputs: map[field]*textinput.Model{}}
	a.has4, a.has6 = nicFamilies(&l)
	a.detected4, _ = s.Gateway(l.Name, netcfg.V4)
	a.detected6, _ = s.Gateway(l.Name, netcfg.V6)
	a.inputs[fieldID] = newInput(st, "e.g. 13", 10)
	a.inputs[fieldName] = newInput(st, "e.g. vpn (optional)", 64)
	a.inputs[fieldName].SetWidth(20)
	a.inputs[fieldGw4] = newInput(st, gwPlaceholder(a.detected4), 15)
	a.inputs[fieldGw4].SetWidth(24)
	a.inputs[fieldGw6] = newInput(st, gwPlaceholder(a.detected6), 39)
	a.inputs[fieldGw6].SetWidth(24)
	a.inputs[fieldMark] = newInput(st, "e.g. 0x13 or 0x13/0xff", 23)
	a.inputs[fieldPrio] = newInput(st, "nictab picks (1000-1999)", 5)
	a.inputs[fieldPrio].SetWidth(24)
	a.sel[0] = true
	a.choice = len(choices)
	if assigned {
		if i := slices.IndexFunc(choices, func(c tableChoice) bool { return c.ID == current.Table.ID }); i >= 0 {
			a.choice = i
		}
		for _, g := range current.Gateways {
			if g.Is4() {
				a.inputs[fieldGw4].SetValue(g.String())
			} else {
				a.inputs[fieldGw6].SetValue(g.String())
			}
		}
		if len(current.Select) > 0 {
			a.sel = [4]bool{}
			for _, s := range current.Select {
				if i := slices.Index(netcfg.Selectors, s); i >= 0 {
					a.sel[i] = true
				}
			}
		}
		if current.FwMark != nil {
			a.inputs[fieldMark].SetValue(fwmarkText(current.FwMark))
		}
		if current.Priority != 0 {
			a.inputs[fieldPrio].SetValue(fmt.Sprint(current.Priority))
		}
	} else if len(choices) == 0 {
		a.focus = fieldID
	}
	a.offset = window(min(a.choice, len(choices)), 0, len(choices)+1, tableListRows)
	a.focusInput()
	return a
}

func gwPlaceholder(a netip.Addr) string {
	if a.IsValid() {
		return a.String()
	}
	return "none detected"
}

func fwmarkText(m *netcfg.FwMark) string {
	if m.Mask == 0xffffffff {
		return fmt.Sprintf("0x%x", m.Value)
	}
	return fmt.Sprintf("0x%x/0x%x", m.Value, m.Mask)
}

func (a *assignScreen) isNew() bool { return a.choice == len(a.choices) }

// fields lists the fields shown now, in order.
func (a *assignScreen) fields() []field {
	f := []field{fieldTable}
	if a.isNew() {
		f = append(f, fieldID, fieldName)
	}
	if a.has4 {
		f = append(f, fieldGw4)
	}
	if a.has6 {
		f = append(f, fieldGw6)
	}
	f = append(f, fieldSelect)
	if a.sel[3] {
		f = append(f, fieldMark)
	}
	return append(f, fieldPrio)
}

func (a *assignScreen) focusInput() {
	for f, in := range a.inputs {
		if f == a.focus {
			in.Focus()
		} else {
			in.Blur()
		}
	}
}

func (a *assignScreen) moveFocus(delta int) {
	fs := a.fields()
	i := slices.Index(fs, a.focus)
	a.focus = fs[min(max(i+delta, 0), len(fs)-1)]
	a.focusInput()
}

// result is the edit the form describes, or the first problem with it.
type assignResult struct {
	edit     edit
	problems map[field]string
}

func (a *assignScreen) check() assignResult {
	r := assignResult{problems: map[field]string{}}
	nic := netcfg.NICIntent{Name: a.link.Name}
	if a.isNew() {
		id, msg := checkTableID(a.inputs[fieldID].Value(), a.choices)
		if msg != "" {
			r.problems[fieldID] = msg
		}
		name := strings.TrimSpace(a.inputs[fieldName].Value())
		if msg := checkTableName(name, id, a.names, a.choices); msg != "" {
			r.problems[fieldName] = msg
		}
		nic.Table = netcfg.TableRef{ID: id}
		r.edit.newTable = &netcfg.TableDef{ID: id, Name: name}
	} else {
		nic.Table = netcfg.TableRef{ID: a.choices[a.choice].ID}
	}
	for _, g := range []struct {
		f   field
		fam netcfg.Family
		on  bool
	}{{fieldGw4, netcfg.V4, a.has4}, {fieldGw6, netcfg.V6, a.has6}} {
		if !g.on {
			continue
		}
		addr, msg := checkGateway(a.inputs[g.f].Value(), g.fam, &a.link)
		if msg != "" {
			r.problems[g.f] = msg
		} else if addr.IsValid() {
			nic.Gateways = append(nic.Gateways, addr)
		}
	}
	for i, on := range a.sel {
		if on {
			nic.Select = append(nic.Select, netcfg.Selectors[i])
		}
	}
	if len(nic.Select) == 0 {
		r.problems[fieldSelect] = "pick at least one way to select the NIC's traffic"
	}
	if slices.Equal(nic.Select, []netcfg.Selector{netcfg.SelectFrom}) {
		// from is the default: leave it out, as a person would write it.
		nic.Select = nil
	}
	if a.sel[3] {
		m, msg := checkFwmark(a.inputs[fieldMark].Value())
		if msg != "" {
			r.problems[fieldMark] = msg
		}
		nic.FwMark = m
	}
	if s := strings.TrimSpace(a.inputs[fieldPrio].Value()); s != "" {
		p, msg := checkNICPriority(s, a.rules)
		if msg != "" {
			r.problems[fieldPrio] = msg
		}
		nic.Priority = p
	}
	r.edit.nic = nic
	return r
}

// update handles a key. done reports that the form is finished: saved
// (with the edit) or cancelled.
func (a *assignScreen) update(msg tea.KeyPressMsg, k KeyMap) (saved *edit, cancel bool, cmd tea.Cmd) {
	switch {
	case key.Matches(msg, k.Back):
		return nil, true, nil
	case msg.String() == "enter":
		a.tried = true
		r := a.check()
		if len(r.problems) > 0 {
			// Jump to the first field that is wrong.
			for _, f := range a.fields() {
				if _, bad := r.problems[f]; bad {
					a.focus = f
					a.focusInput()
					break
				}
			}
			return nil, false, nil
		}
		if !a.isNew() {
			r.edit.newTable = nil
		}
		return &r.edit, false, nil
	case msg.String() == "tab":
		a.moveFocus(1)
		return nil, false, nil
	case msg.String() == "shift+tab":
		a.moveFocus(-1)
		return nil, false, nil
	}
	switch a.focus {
	case fieldTable:
		a.updateTable(msg, k)
	case fieldSelect:
		a.updateSelect(msg, k)
	default:
		if msg.String() == "up" || msg.String() == "down" {
			a.moveFocus(map[bool]int{true: -1, false: 1}[msg.String() == "up"])
			return nil, false, nil
		}
		in := a.inputs[a.focus]
		m, c := in.Update(msg)
		*in = m
		return nil, false, c
	}
	return nil, false, nil
}

func (a *assignScreen) updateTable(msg tea.KeyPressMsg, k KeyMap) {
	n := len(a.choices) + 1
	switch {
	case key.Matches(msg, k.Up):
		a.choice = max(a.choice-1, 0)
	case key.Matches(msg, k.Down):
		if a.choice == n-1 {
			a.moveFocus(1)
			return
		}
		a.choice++
	case key.Matches(msg, k.NewTable):
		a.choice = len(a.choices)
		a.focus = fieldID
		a.focusInput()
	case len(msg.Text) == 1 && msg.Text[0] >= '0' && msg.Text[0] <= '9':
		// Typing a number on the list means a new table with that id.
		a.choice = len(a.choices)
		a.focus = fieldID
		a.focusInput()
		in := a.inputs[fieldID]
		in.SetValue(msg.Text)
		in.CursorEnd()
	}
	a.offset = window(a.choice, a.offset, n, tableListRows)
}

func (a *assignScreen) updateSelect(msg tea.KeyPressMsg, k KeyMap) {
	switch {
	case msg.String() == "left" || msg.String() == "h":
		a.selAt = max(a.selAt-1, 0)
	case msg.String() == "right" || msg.String() == "l":
		a.selAt = min(a.selAt+1, len(a.sel)-1)
	case key.Matches(msg, k.Toggle), msg.Text == "x":
		a.sel[a.selAt] = !a.sel[a.selAt]
	case key.Matches(msg, k.Up):
		a.moveFocus(-1)
	case key.Matches(msg, k.Down):
		a.moveFocus(1)
	}
}
