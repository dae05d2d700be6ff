package netcfg

import (
	"errors"
	"fmt"
	"slices"
)

// RouteQuery selects the routes a dump returns. The kernel does the
// filtering.
type RouteQuery struct {
	Family Family // 0: both
	Table  uint32 // 0: every table
	Proto  uint8  // 0: any protocol
	// DefaultsOnly returns only default routes. For IPv4 the dump stops
	// after them: the kernel dumps an IPv4 table in key order, so 0.0.0.0/0
	// comes first and a full Internet table in main costs one datagram.
	DefaultsOnly bool
}

// ErrDumpInterrupted means the kernel marked a dump inconsistent because
// what it listed changed during the dump. The partial result must be
// dropped and the dump run again.
var ErrDumpInterrupted = errors.New("netlink dump interrupted: the state changed while it was read")

// Reader is the read side of the kernel: what detection needs.
type Reader interface {
	// Links returns every link with its addresses, ordered by index.
	Links() ([]Link, error)
	// Rules returns every IPv4 and IPv6 rule in the order the kernel walks
	// them.
	Rules() ([]Rule, error)
	// Routes streams the routes q selects; the Route passed to fn is reused
	// after fn returns.
	Routes(q RouteQuery, fn func(*Route) error) error
}

// Kernel is the whole netlink surface of one network namespace.
type Kernel interface {
	Reader
	Executor
	Close() error
}

// DetectOptions says which routes to read besides the main table's default
// routes, which are always read because they give each NIC's gateway.
type DetectOptions struct {
	// Tables are read completely.
	Tables []uint32
	// RuleTables reads every table a lookup rule refers to, except main,
	// local and default.
	RuleTables bool
	// Owned reads every route nictab owns, in any table.
	Owned bool
	// All reads every route of every table.
	All bool
}

// Detect reads the state of the namespace behind r.
func Detect(r Reader, names Names, opts DetectOptions) (State, error) {
	s := State{Names: names}
	var err error
	if s.Links, err = r.Links(); err != nil {
		return State{}, fmt.Errorf("list links: %w", err)
	}
	if s.Rules, err = r.Rules(); err != nil {
		return State{}, fmt.Errorf("list rules: %w", err)
	}
	if opts.All {
		if err := readRoutes(r, &s, RouteQuery{}); err != nil {
			return State{}, fmt.Errorf("list routes: %w", err)
		}
		s.AllOwned = true
		s.Complete = tablesOf(s.Routes)
		s.Complete = append(s.Complete, opts.Tables...)
		slices.Sort(s.Complete)
		s.Complete = slices.Compact(s.Complete)
		return s, nil
	}
	tables := slices.Clone(opts.Tables)
	if opts.RuleTables {
		for _, t := range s.RuleTables() {
			if !ReservedTable(t) {
				tables = append(tables, t)
			}
		}
	}
	slices.Sort(tables)
	tables = slices.Compact(tables)
	if !slices.Contains(tables, TableMain) {
		if err := readRoutes(r, &s, RouteQuery{Table: TableMain, DefaultsOnly: true}); err != nil {
			return State{}, fmt.Errorf("list default routes: %w", err)
		}
	}
	for _, t := range tables {
		if err := readRoutes(r, &s, RouteQuery{Table: t}); err != nil {
			return State{}, fmt.Errorf("list routes of table %d: %w", t, err)
		}
	}
	s.Complete = tables
	if opts.Owned {
		// Owned routes of tables already read in full are in s already.
		err := readRoutesFiltered(r, &s, RouteQuery{Proto: ProtoNictab}, func(rt *Route) bool {
			return !s.HasTable(rt.Table)
		})
		if err != nil {
			return State{}, fmt.Errorf("list routes nictab owns: %w", err)
		}
		s.AllOwned = true
	}
	return s, nil
}

func readRoutes(r Reader, s *State, q RouteQuery) error {
	return readRoutesFiltered(r, s, q, func(*Route) bool { return true })
}

// readRoutesFiltered appends the routes of q that keep accepts, reading
// again when the kernel reports the dump inconsistent.
func readRoutesFiltered(r Reader, s *State, q RouteQuery, keep func(*Route) bool) error {
	base := len(s.Routes)
	var err error
	for range 10 {
		s.Routes = s.Routes[:base]
		err = r.Routes(q, func(rt *Route) error {
			if keep(rt) {
				c := *rt
				c.MultiPath = slices.Clone(rt.MultiPath)
				s.Routes = append(s.Routes, c)
			}
			return nil
		})
		if !errors.Is(err, ErrDumpInterrupted) {
			return err
		}
	}
	return err
}

func tablesOf(rs []Route) []uint32 {
	var out []uint32
	for _, r := range rs {
		out = append(out, r.Table)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
