//go:build linux

package kernel_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// TestDumpExceptPassesOverOnlyItsTables checks that a dump told to throw
// away some tables (RouteQuery.Except) leaves out no route of another
// table, passes over those of a table below 256 undecoded and still
// passes on those of a table from 256 up (rtm_table says only "compat"
// there), and that Detect of tables in full and nictab's routes
// elsewhere reads what the dumps of each table read, in the same order.
func TestDumpExceptPassesOverOnlyItsTables(t *testing.T) {
	ns := scaleNS(t)
	for _, r := range [][]string{
		{"10.5.0.0/24", "table", "100", "proto", "201"},
		{"10.5.1.0/24", "table", "100", "proto", "static"},
		{"fd00:5::/64", "table", "100", "proto", "201"},
		{"10.6.0.0/24", "table", "1000", "proto", "201"},
		{"10.6.1.0/24", "table", "1000", "proto", "static"},
		{"10.7.0.0/24", "table", "50", "proto", "201"},
		{"10.7.1.0/24", "table", "50", "proto", "static"},
		{"10.8.0.0/24", "table", "2000", "proto", "201"},
	} {
		ns.IP(append([]string{"route", "add"}, append(r[:1], append([]string{"dev", scaleDev}, r[1:]...)...)...)...)
	}
	k := openScale(t, ns)
	var passed []uint32
	err := k.Routes(netcfg.RouteQuery{Proto: netcfg.ProtoNictab, Except: []uint32{100, 1000}}, func(r *netcfg.Route) error {
		passed = append(passed, r.Table)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(passed)
	if want := []uint32{50, 1000, 2000}; !slices.Equal(passed, want) {
		t.Errorf("a dump except tables 100 and 1000 passed routes of tables %v, want %v", passed, want)
	}

	names := scaleNames(ns)()
	got, err := netcfg.Detect(k, names, netcfg.DetectOptions{Tables: []uint32{100, 1000}, Owned: true, NoMainDefaults: true})
	if err != nil {
		t.Fatal(err)
	}
	var want []netcfg.Route
	for _, q := range []netcfg.RouteQuery{{Table: 100}, {Table: 1000}, {Proto: netcfg.ProtoNictab}} {
		err := k.Routes(q, func(r *netcfg.Route) error {
			if q.Table != 0 || (r.Table != 100 && r.Table != 1000) {
				want = append(want, *r)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(got.Routes, want) {
		t.Errorf("Detect read\n%v\nthe dumps of each table\n%v", got.Routes, want)
	}
}
