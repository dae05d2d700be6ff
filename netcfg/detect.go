package netcfg

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nictab/nictab/internal/prefault"
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
	// Except are tables whose routes the caller throws away: a Reader
	// may pass over them without decoding them, or pass them on.
	Except []uint32
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
	// Owned reads every route nictab owns, in any table. With a full
	// table in main (see BigMain), only in the tables it may have put one
	// in: every table a rule looks up, every table the names files name,
	// and OwnedIn.
	Owned bool
	// OwnedIn are further tables where nictab's routes may be (those of
	// its records), read for Owned; without Owned, the only ones read.
	OwnedIn []uint32
	// All reads every route of every table.
	All bool
	// Routes is about how many routes the read will find: the slice
	// that holds them starts that large. Zero is no guess.
	Routes int
	// Into, when it has room, is the slice the routes are appended to,
	// in place of the one Routes would make and map.
	Into []Route
	// NoMainDefaults leaves out main's default routes, read otherwise
	// when main is not among Tables (for the NICs' gateways).
	NoMainDefaults bool
	// Reading, when set, is given the routes read so far every
	// readingEvery routes, at the end of each read, and when a read
	// starts again from where it began (fewer routes than before): a
	// check of the routes runs as the kernel sends the rest. The routes
	// it was given are as the result holds them, but those past the
	// length of a later call.
	Reading func(routes []Route)
}

// readingEvery is how many routes are read between two calls of
// DetectOptions.Reading.
const readingEvery = 512

// Detect reads the state of the namespace behind r.
func Detect(r Reader, names Names, opts DetectOptions) (st State, err error) {
	s := State{Names: names, reading: opts.Reading}
	defer func() { st.reading = nil }()
	if cap(opts.Into) > 0 {
		s.Routes = opts.Into[:0]
	} else if opts.Routes > 0 {
		// A slice grown by doubling to 100k routes (336 bytes each)
		// copies 33 MB on the way: a third of reading the table back.
		s.Routes = make([]Route, 0, opts.Routes)
		prefault.Slice(s.Routes)
	}
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
	probed := false
	if !slices.Contains(tables, TableMain) && !opts.NoMainDefaults {
		if err := readRoutes(r, &s, RouteQuery{Table: TableMain, DefaultsOnly: true}); err != nil {
			return State{}, fmt.Errorf("list default routes: %w", err)
		}
		probed = true
	}
	// Main's default routes just read say whether main is small enough
	// for one dump of every table (see readTablesAndOwned).
	if b, ok := r.(BigMain); opts.Owned && probed && ok && !b.MainIsBig() {
		done, err := readTablesAndOwned(r, &s, tables)
		if err != nil {
			return State{}, err
		}
		if done {
			s.Complete = tables
			s.AllOwned = true
			return s, nil
		}
	}
	for _, t := range tables {
		if err := readRoutes(r, &s, RouteQuery{Table: t}); err != nil {
			return State{}, fmt.Errorf("list routes of table %d: %w", t, err)
		}
	}
	s.Complete = tables
	switch {
	case opts.Owned:
		if err := readOwned(r, &s, names, opts.OwnedIn); err != nil {
			return State{}, err
		}
		s.AllOwned = true
	case len(opts.OwnedIn) > 0:
		if err := readOwnedIn(r, &s, opts.OwnedIn); err != nil {
			return State{}, err
		}
	}
	return s, nil
}

// BigMain is what a Reader that can tell implements: whether its last
// read of main's default routes found a full table in main.
type BigMain interface {
	MainIsBig() bool
}

// readOwned adds to s the routes nictab owns outside the tables s holds
// in full.
//
// NOTE: one dump of every table, filtered by protocol, finds nictab's
// routes wherever they are, but the kernel walks every route of every
// table to filter it: 13 ms per 100k routes, 130 ms for a full Internet
// table in main, paid by every plan and apply. With a full table in main
// the tables are asked one by one instead (the kernel then walks only
// those): every table a rule looks up, every table named, and extra.
// nictab never puts a route in main, local or default (the snapshot
// format refuses them). What this misses is a route of nictab's in a
// table that nothing refers to any more, which no packet reaches.
func readOwned(r Reader, s *State, names Names, extra []uint32) error {
	if b, ok := r.(BigMain); ok && b.MainIsBig() {
		return readOwnedIn(r, s, ownedTables(s, names, extra))
	}
	// Owned routes of tables already read in full are in s already.
	err := readRoutesFiltered(r, s, RouteQuery{Proto: ProtoNictab, Except: s.Complete}, func(rt *Route) bool {
		return !s.HasTable(rt.Table)
	})
	if err != nil {
		return fmt.Errorf("list routes nictab owns: %w", err)
	}
	return nil
}

// readOwnedIn adds to s the routes nictab owns in tables, except those s
// holds in full.
func readOwnedIn(r Reader, s *State, tables []uint32) error {
	for _, t := range tables {
		if s.HasTable(t) {
			continue
		}
		if err := readRoutes(r, s, RouteQuery{Table: t, Proto: ProtoNictab}); err != nil {
			return fmt.Errorf("list routes nictab owns in table %d: %w", t, err)
		}
	}
	return nil
}

// ownedTables returns the tables Owned reads, ascending: those a rule
// looks up, those named, and extra, less the reserved ones and those s
// holds in full already.
func ownedTables(s *State, names Names, extra []uint32) []uint32 {
	out := slices.Clone(extra)
	for i := range s.Rules {
		if s.Rules[i].Action == ActionLookup {
			out = append(out, s.Rules[i].Table)
		}
	}
	for _, t := range names.Tables {
		out = append(out, t.ID)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	return slices.DeleteFunc(out, func(t uint32) bool { return ReservedTable(t) || s.HasTable(t) })
}

// ReadTable reads every route of table id into s, in place of the routes
// of it s had, and marks it read in full.
func ReadTable(r Reader, s *State, id uint32) error {
	s.Routes = slices.DeleteFunc(s.Routes, func(rt Route) bool { return rt.Table == id })
	if err := readRoutesFiltered(r, s, RouteQuery{Table: id}, func(*Route) bool { return true }); err != nil {
		return err
	}
	s.MarkComplete(id)
	return nil
}

func readRoutes(r Reader, s *State, q RouteQuery) error {
	return readRoutesFiltered(r, s, q, func(*Route) bool { return true })
}

// readRoutesFiltered appends the routes of q that keep accepts, reading
// again when the kernel reports the dump inconsistent.
func readRoutesFiltered(r Reader, s *State, q RouteQuery, keep func(*Route) bool) error {
	base := len(s.Routes)
	var err error
	for try := range 10 {
		s.Routes = s.Routes[:base]
		if try > 0 {
			s.tellReading()
		}
		err = r.Routes(q, func(rt *Route) error {
			if keep(rt) {
				appendRoute(&s.Routes, rt)
				if s.reading != nil && (len(s.Routes)-base)%readingEvery == 0 {
					s.reading(s.Routes)
				}
			}
			return nil
		})
		s.tellReading()
		if !errors.Is(err, ErrDumpInterrupted) {
			return err
		}
	}
	return err
}

// tellReading gives DetectOptions.Reading the routes read so far.
func (s *State) tellReading() {
	if s.reading != nil {
		s.reading(s.Routes)
	}
}

// appendRoute appends a copy of rt, which a Reader reuses, to *rs.
func appendRoute(rs *[]Route, rt *Route) {
	if len(*rs) == cap(*rs) {
		// Doubling: append grows a large slice by a quarter, which for
		// a 100k-route table allocates and clears five times its size
		// (a Route is 336 bytes).
		*rs = slices.Grow(*rs, max(len(*rs), 256))
		prefault.Slice(*rs)
	}
	// Appended in place, not through a copy on the stack: the copy was
	// as costly as the append.
	*rs = append(*rs, *rt)
	if rt.MultiPath != nil {
		c := &(*rs)[len(*rs)-1]
		c.MultiPath = slices.Clone(rt.MultiPath)
	}
}

func tablesOf(rs []Route) []uint32 {
	var out []uint32
	for i := range rs {
		out = appendTable(out, rs[i].Table)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// appendTable appends t to a list of tables that is to be sorted and
// compacted, unless it ends with t already.
//
// NOTE: routes come grouped by table (a dump lists a table's routes
// together, and so does a plan's target): adding a table only where it
// changes leaves one entry to sort for a 100k-route table, not 100k.
// The sort of 100k was 1.5–4 ms of every read-back.
func appendTable(out []uint32, t uint32) []uint32 {
	if n := len(out); n > 0 && out[n-1] == t {
		return out
	}
	return append(out, t)
}
