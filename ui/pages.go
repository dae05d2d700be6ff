package ui

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/nictab/nictab/netcfg"
)

// page is one screen of the terminal UI. The model keeps each screen's
// state in a field of its own and which screen is on show in m.screen;
// that screen's page says what the title bar names, what the body
// shows, which keys it takes and lists, whether keys are being typed into
// a field, and where esc goes back to. A new screen is a page and a row
// of pages, not a case in every method of the model.
type page interface {
	// crumbs are the title bar's path after "nictab".
	crumbs(m *Model) []string
	view(m *Model, w, h int) string
	key(m *Model, msg tea.KeyPressMsg) tea.Cmd
	help(m *Model) helpKeys
	// typing reports whether keys go to a text field, where q and ? are
	// letters.
	typing(m *Model) bool
	// back is the screen the page was opened from.
	back(m *Model) screen
}

var pages = [...]page{
	screenNICs:      nicsPage{},
	screenAssign:    assignPage{},
	screenPreview:   previewPage{},
	screenApply:     applyPage{},
	screenSnapshots: snapshotsPage{},
	screenSnapshot:  snapshotPage{},
	screenExport:    exportPage{},
	screenRoutes:    routesPage{},
	screenForm:      formPage{},
}

// page is the screen on show.
func (m *Model) page() page { return pages[m.screen] }

// The NICs, tables and rules panes.
type nicsPage struct{}

func (nicsPage) crumbs(*Model) []string { return []string{"NICs"} }
func (nicsPage) view(m *Model, w, _ int) string {
	return renderNICs(m.nicsView(), w, m.st)
}
func (nicsPage) key(m *Model, msg tea.KeyPressMsg) tea.Cmd { return m.nicsKey(msg) }
func (nicsPage) help(m *Model) helpKeys {
	if m.nics.filter[m.nics.focus].typing {
		return m.keys.filterHelp()
	}
	return m.keys.nicsHelp(m.caps.ReadOnly, m.nics.focus)
}
func (nicsPage) typing(m *Model) bool { return m.nics.filter[m.nics.focus].typing }
func (nicsPage) back(*Model) screen   { return screenNICs }

// The assign dialog of one NIC.
type assignPage struct{}

func (assignPage) crumbs(m *Model) []string {
	return []string{"NICs", "assign " + netcfg.SafeText(m.assign.link.Name)}
}
func (assignPage) view(m *Model, w, _ int) string {
	return renderAssign(m.assignView(), w, m.st)
}
func (assignPage) key(m *Model, msg tea.KeyPressMsg) tea.Cmd { return m.assignKey(msg) }
func (assignPage) help(m *Model) helpKeys                    { return m.keys.assignHelp() }
func (assignPage) typing(m *Model) bool {
	return m.assign.focus != fieldTable && m.assign.focus != fieldSelect
}
func (assignPage) back(*Model) screen { return screenNICs }

// The plan of the edits, or of a rollback.
type previewPage struct{}

func (previewPage) crumbs(m *Model) []string {
	if m.preview.rollback != "" {
		return []string{"snapshots", "roll back"}
	}
	return []string{"NICs", "preview"}
}
func (previewPage) view(m *Model, w, h int) string            { return m.preview.view(m, w, h) }
func (previewPage) key(m *Model, msg tea.KeyPressMsg) tea.Cmd { return m.previewKey(msg) }
func (previewPage) help(m *Model) helpKeys                    { return m.keys.previewHelp() }
func (previewPage) typing(*Model) bool                        { return false }
func (previewPage) back(m *Model) screen {
	if m.preview.rollback != "" {
		return screenSnapshots
	}
	return m.previewFrom
}

// The confirm dialog and the apply's result. It takes every key while it
// is up (see updateKey).
type applyPage struct{}

func (applyPage) crumbs(*Model) []string { return []string{"apply"} }
func (applyPage) view(m *Model, w, h int) string {
	return renderApply(m.apply, m.caps, w, h, m.st)
}
func (applyPage) key(m *Model, msg tea.KeyPressMsg) tea.Cmd { return m.apply.key(m, msg) }
func (applyPage) help(m *Model) helpKeys                    { return m.apply.help(m) }
func (applyPage) typing(*Model) bool                        { return false }
func (applyPage) back(*Model) screen                        { return screenNICs }

// The history.
type snapshotsPage struct{}

func (snapshotsPage) crumbs(*Model) []string { return []string{"snapshots"} }
func (snapshotsPage) view(m *Model, w, h int) string {
	return renderSnapshots(m.snaps, w, h, m.st)
}
func (snapshotsPage) key(m *Model, msg tea.KeyPressMsg) tea.Cmd { return m.snapshotsKey(msg) }
func (snapshotsPage) help(m *Model) helpKeys {
	if m.snaps.filter.typing {
		return m.keys.filterHelp()
	}
	return m.keys.snapshotsHelp()
}
func (snapshotsPage) typing(m *Model) bool { return m.snaps.filter.typing }
func (snapshotsPage) back(*Model) screen   { return screenNICs }

// One snapshot's file, or its diff.
type snapshotPage struct{}

func (snapshotPage) crumbs(m *Model) []string { return []string{"snapshots", m.snap.id} }
func (snapshotPage) view(m *Model, w, _ int) string {
	return m.snap.view(w, m.st)
}
func (snapshotPage) key(m *Model, msg tea.KeyPressMsg) tea.Cmd { return m.snapshotKey(msg) }
func (snapshotPage) help(m *Model) helpKeys {
	return m.keys.textHelp(m.keys.Diff, m.keys.Rollback, m.keys.Export)
}
func (snapshotPage) typing(*Model) bool { return false }
func (snapshotPage) back(*Model) screen { return screenSnapshots }

// A snapshot exported for another tool.
type exportPage struct{}

func (exportPage) crumbs(m *Model) []string { return []string{"snapshots", "export " + m.export.id} }
func (exportPage) view(m *Model, w, _ int) string {
	return m.export.view(w, m.st)
}
func (exportPage) key(m *Model, msg tea.KeyPressMsg) tea.Cmd { return m.exportKey(msg) }
func (exportPage) help(m *Model) helpKeys                    { return m.keys.textHelp(m.keys.Write, m.keys.Flavor) }
func (exportPage) typing(m *Model) bool                      { return m.export.asking }
func (exportPage) back(*Model) screen                        { return screenSnapshots }

// The routes of one table.
type routesPage struct{}

func (routesPage) crumbs(m *Model) []string {
	return []string{"tables", m.tableLabel(m.routes.table), "routes"}
}
func (routesPage) view(m *Model, w, h int) string            { return m.renderRoutes(w, h) }
func (routesPage) key(m *Model, msg tea.KeyPressMsg) tea.Cmd { return m.routesKey(msg) }
func (routesPage) help(m *Model) helpKeys {
	if m.routes.filter.typing {
		return m.keys.filterHelp()
	}
	return m.keys.routesHelp()
}
func (routesPage) typing(m *Model) bool { return m.routes.filter.typing }
func (routesPage) back(*Model) screen   { return screenNICs }

// The rule, route or table form.
type formPage struct{}

func (formPage) crumbs(m *Model) []string {
	var parts []string
	if m.formFrom == screenRoutes {
		parts = append(parts, "tables", m.tableLabel(m.routes.table))
	}
	return append(parts, strings.ToLower(m.form.title[:1])+m.form.title[1:])
}
func (formPage) view(m *Model, w, h int) string {
	return renderForm(m.form, m.checkForm(), w, h, m.st)
}
func (formPage) key(m *Model, msg tea.KeyPressMsg) tea.Cmd { return m.formKey(msg) }
func (formPage) help(m *Model) helpKeys                    { return m.keys.formHelp() }
func (formPage) typing(*Model) bool                        { return true }
func (formPage) back(*Model) screen                        { return screenNICs }
