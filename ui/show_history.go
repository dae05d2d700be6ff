package ui

import (
	"strings"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// HistoryRow is one line of `nictab snapshot list`.
type HistoryRow struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time,omitzero"`
	Kind    string    `json:"kind,omitempty"`
	Comment string    `json:"comment,omitempty"`
	Summary string    `json:"summary,omitempty"`
	Live    bool      `json:"live"`
	// Damaged holds why the file could not be read; the other fields are
	// then empty.
	Damaged string `json:"damaged,omitempty"`
	Path    string `json:"path"`
}

// RenderHistory is the snapshot history, newest first, times in loc.
func RenderHistory(rows []HistoryRow, loc *time.Location, st Styles) string {
	if len(rows) == 0 {
		return "No snapshots yet: every apply saves one, and `nictab snapshot save` records the current state.\n"
	}
	var out [][]string
	for _, r := range rows {
		if r.Damaged != "" {
			out = append(out, []string{r.ID, "", st.Danger.Render("DAMAGED"), st.Removed.Render(netcfg.SafeText(r.Damaged))})
			continue
		}
		id := r.ID
		if r.Live {
			id += " " + st.OK.Render("*")
		}
		what := netcfg.SafeText(r.Summary)
		if r.Comment != "" {
			what = netcfg.SafeText(r.Comment) + st.Muted.Render(" — "+what)
		}
		out = append(out, []string{id, r.Time.In(loc).Format("2006-01-02 15:04:05"), r.Kind, what})
	}
	s := renderColumns([]string{"ID", "TIME", "KIND", "COMMENT — SUMMARY"}, out, st)
	if strings.Contains(s, "*") {
		s += st.Muted.Render("  * the newest snapshot: what nictab last applied") + "\n"
	}
	return s
}
