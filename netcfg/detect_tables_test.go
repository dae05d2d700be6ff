package netcfg

import (
	"slices"
	"testing"
)

// TestTablesOfRoutesInAnyOrder checks that the table lists built with
// appendTable hold each table once, ascending, whether the routes come
// grouped by table or interleaved.
func TestTablesOfRoutesInAnyOrder(t *testing.T) {
	for _, tables := range [][]uint32{
		nil,
		{100},
		{100, 100, 100},
		{100, 100, 7, 7, 7, 300, 300},
		{300, 100, 300, 100, 7, 300, 1000, 7},
		{254, 100, 100, 254, 255, 100},
	} {
		var rs []Route
		for _, id := range tables {
			rs = append(rs, Route{Table: id, Proto: ProtoNictab})
		}
		want := slices.Compact(slices.Sorted(slices.Values(tables)))
		if got := tablesOf(rs); !slices.Equal(got, want) {
			t.Errorf("tablesOf(%v) = %v, want %v", tables, got, want)
		}
		o := Owned{Routes: rs}
		if got := o.TargetTables(); !slices.Equal(got, want) {
			t.Errorf("TargetTables of %v = %v, want %v", tables, got, want)
		}
		s := State{Routes: rs, Complete: []uint32{100}}
		wantElsewhere := slices.DeleteFunc(slices.Clone(want), func(id uint32) bool { return id == 100 })
		if got := ownedElsewhere(&s); !slices.Equal(got, wantElsewhere) && len(got)+len(wantElsewhere) > 0 {
			t.Errorf("ownedElsewhere of %v = %v, want %v", tables, got, wantElsewhere)
		}
	}
}
