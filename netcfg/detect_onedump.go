package netcfg

import (
	"errors"
	"fmt"
	"slices"
)

// OverBudgetError is what a TablesReader returns when its dump passed
// over more routes than its budget and was left.
type OverBudgetError struct {
	// Seen are the tables the dump went through whole before it was
	// left, in the order it listed them.
	Seen []uint32
}

func (e *OverBudgetError) Error() string {
	return fmt.Sprintf("dump left over budget after tables %v", e.Seen)
}

// TablesReader is what a Reader that can read, in one dump of every
// table, the routes of some tables and nictab's routes elsewhere
// implements.
type TablesReader interface {
	// RoutesOfTables streams the routes of family f (V4 or V6) that are
	// in one of tables or have protocol proto, in the order of a dump of
	// every table; the Route passed to fn is reused after fn returns. It
	// gives up with an *OverBudgetError once it has passed over more than
	// budget routes that are neither, and then leaves the dump without
	// the kernel filling the rest.
	RoutesOfTables(f Family, tables []uint32, proto uint8, budget int, fn func(*Route) error) error
}

// oneDumpBudget is how many routes of other programs outside the tables
// read in full the one dump of readTablesAndOwned may pass over before
// it gives up: main's few (a full table in main is read the other way),
// local's, a VPN's table. Each costs the kernel what a route read costs
// (about 0.2 µs); a full table elsewhere costs up to this many before
// the dumps of each table are read instead.
const oneDumpBudget = 4096

// readTablesAndOwned reads, as the dumps of each of tables and then of
// nictab's routes in every table (readOwned) would, every route of
// tables and nictab's routes elsewhere, into s in the same order, through
// one dump of every table per family. It reports false, s as it was,
// when r cannot.
//
// NOTE: the dump of nictab's routes in every table makes the kernel fill
// every route of nictab's a second time, those of the tables read in
// full too: a rollback or a new plan over a 100k-route table of nictab's
// read it twice, some 20 ms of kernel time each (the owned dump's filter
// only skips decoding them). One dump of every table, unfiltered, fills
// each route once and costs only the few routes of others outside those
// tables. Where there are many (a full table in a VRF's table) it is
// left after oneDumpBudget of them, and what it has not read yet is read
// as before: the tables it has not listed whole, one by one, and
// nictab's routes in the others.
func readTablesAndOwned(r Reader, s *State, tables []uint32) (bool, error) {
	tr, ok := r.(TablesReader)
	if !ok || len(tables) == 0 {
		return false, nil
	}
	base := len(s.Routes)
	var err error
	for try := range 10 {
		s.Routes = s.Routes[:base]
		if try > 0 {
			s.tellReading()
		}
		err = tablesAndOwnedOnce(r, tr, s, tables)
		if !errors.Is(err, ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		s.Routes = s.Routes[:base]
	}
	s.tellReading()
	return err == nil, err
}

// perFamily holds a family's routes and another's, IPv4 first.
type perFamily [2][]Route

// tablesAndOwnedOnce is readTablesAndOwned's one try. The routes of the
// first table's IPv4 part, the largest as a rule, are appended to s as
// they come; the others wait in lists of their own until the order of
// per-table dumps can be kept: each table's IPv4 and IPv6 routes, table
// by table, then nictab's routes elsewhere, IPv4 then IPv6.
func tablesAndOwnedOnce(r Reader, tr TablesReader, s *State, tables []uint32) error {
	rest := make([]perFamily, len(tables))
	var owned perFamily
	for fi, f := range []Family{V4, V6} {
		err := tr.RoutesOfTables(f, tables, ProtoNictab, oneDumpBudget, func(rt *Route) error {
			i, in := slices.BinarySearch(tables, rt.Table)
			switch {
			case in && i == 0 && fi == 0:
				appendRoute(&s.Routes, rt)
			case in:
				appendRoute(&rest[i][fi], rt)
			case rt.Proto == ProtoNictab:
				appendRoute(&owned[fi], rt)
			}
			return nil
		})
		var over *OverBudgetError
		if errors.As(err, &over) {
			err = readLeft(r, s, tables, f, over.Seen, rest, &owned)
		}
		if err != nil {
			return fmt.Errorf("list routes of tables %v and those nictab owns: %w", tables, err)
		}
	}
	s.Routes = append(s.Routes, rest[0][1]...)
	for i := 1; i < len(tables); i++ {
		s.Routes = append(s.Routes, rest[i][0]...)
		s.Routes = append(s.Routes, rest[i][1]...)
	}
	s.Routes = append(s.Routes, owned[0]...)
	s.Routes = append(s.Routes, owned[1]...)
	return nil
}

// readLeft reads family f's part of what a dump of every table left
// after the tables seen: the tables it did not list whole, one by one,
// and nictab's routes in every table but those and the seen.
func readLeft(r Reader, s *State, tables []uint32, f Family, seen []uint32, rest []perFamily, owned *perFamily) error {
	fi := 0
	if f == V6 {
		fi = 1
	}
	seen = slices.Sorted(slices.Values(seen))
	isSeen := func(t uint32) bool { _, ok := slices.BinarySearch(seen, t); return ok }
	// nictab's routes of the table the dump was left in are read again
	// with the rest of it.
	owned[fi] = slices.DeleteFunc(owned[fi], func(rt Route) bool { return !isSeen(rt.Table) })
	for i, t := range tables {
		if isSeen(t) {
			continue
		}
		into := &State{Routes: rest[i][fi]}
		if i == 0 && fi == 0 {
			into = s
		}
		if err := readRoutes(r, into, RouteQuery{Family: f, Table: t}); err != nil {
			return fmt.Errorf("table %d: %w", t, err)
		}
		if into != s {
			rest[i][fi] = into.Routes
		}
	}
	done := slices.Concat(tables, seen)
	slices.Sort(done)
	done = slices.Compact(done)
	o := &State{Routes: owned[fi]}
	err := readRoutesFiltered(r, o, RouteQuery{Family: f, Proto: ProtoNictab, Except: done}, func(rt *Route) bool {
		_, in := slices.BinarySearch(done, rt.Table)
		return !in
	})
	owned[fi] = o.Routes
	return err
}
