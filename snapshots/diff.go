package snapshots

import (
	"path/filepath"

	"github.com/nictab/nictab/netcfg"
)

// Diff is what changes from one recorded state to another, rule by rule and
// route by route, as a plan from a to b (the same diff `nictab plan`
// shows).
func Diff(a, b netcfg.Owned) netcfg.Plan {
	return netcfg.PlanChanges(TargetAsState(a), b.AsDesired())
}

// TargetAsState is a recorded state as if it were live: everything in it
// owned by nictab, its names in nictab's names file.
func TargetAsState(t netcfg.Owned) netcfg.State {
	s := netcfg.State{Rules: t.Rules, Routes: t.Routes, AllOwned: true, Complete: t.TargetTables()}
	file := filepath.Join("rt_tables.d", netcfg.OwnedNamesFile)
	for _, n := range t.Names {
		n.File = file
		s.Names.Tables = append(s.Names.Tables, n)
	}
	return s
}
