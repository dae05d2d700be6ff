//go:build linux

package kernel

import (
	"encoding/binary"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// RoutesOfTables streams, from one dump of every table, family f's
// routes of tables (ascending) and those of protocol proto elsewhere (see
// netcfg.TablesReader). The others are passed over on their header,
// undecoded; past budget of them the dump is left, with the tables it
// listed whole before.
func (k *linuxKernel) RoutesOfTables(f netcfg.Family, tables []uint32, proto uint8, budget int, fn func(*netcfg.Route) error) error {
	if err := k.ensureLinks(); err != nil {
		return err
	}
	return k.c.routesOfTables(f, tables, proto, budget, &k.links, fn)
}

func (c *rtnl) routesOfTables(f netcfg.Family, tables []uint32, proto uint8, budget int, links *linkIndexer, fn func(*netcfg.Route) error) error {
	c.tablesDumps++
	passed, over := 0, false
	// The dump lists each table whole before the next: seen are those
	// it has gone past, cur the one it is in.
	var seen []uint32
	cur, started := uint32(0), false
	var r netcfg.Route
	var ferr error
	c.wbuf = c.wbuf[:0]
	off, seq := c.begin(unix.RTM_GETROUTE, unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	var h [rtmsgLen]byte
	h[0] = afOf(f)
	c.wbuf = append(c.wbuf, h[:]...)
	c.end(off)
	err := c.dumpStreamLeaving(seq, func(m nlMsg) bool {
		if m.typ != unix.RTM_NEWROUTE || len(m.data) < rtmsgLen {
			return true
		}
		t := routeTable(m.data)
		if !started || t != cur {
			if started {
				seen = append(seen, cur)
			}
			cur, started = t, true
		}
		if m.data[5] != proto {
			if _, in := slices.BinarySearch(tables, t); !in {
				if passed++; passed > budget {
					over = true
					return false
				}
				return true
			}
		}
		if !decodeRoute(m.data, links, &r) {
			return true
		}
		if err := fn(&r); err != nil {
			ferr = err
			return false
		}
		return true
	})
	switch {
	case ferr != nil:
		return ferr
	case over && err == nil:
		c.tablesLeft++
		return &netcfg.OverBudgetError{Seen: seen}
	}
	return err
}

// routeTable is the table of an RTM_NEWROUTE message: rtm_table, or
// RTA_TABLE where rtm_table says only "compat" (ids from 256 up).
func routeTable(data []byte) uint32 {
	if t := data[4]; t != unix.RT_TABLE_COMPAT {
		return uint32(t)
	}
	t := uint32(unix.RT_TABLE_COMPAT)
	forAttrs(data[rtmsgLen:], func(typ uint16, v []byte) {
		if typ == unix.RTA_TABLE && len(v) == 4 {
			t = binary.NativeEndian.Uint32(v)
		}
	})
	return t
}
