//go:build linux

package kernel_test

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// perTableReader is a kernel with only the methods of netcfg.Reader and
// BigMain: Detect reads it through the dumps of each table.
type perTableReader struct {
	netcfg.Reader
	big netcfg.BigMain
}

func (p perTableReader) MainIsBig() bool { return p.big.MainIsBig() }

// TestOneDumpReadsAsPerTableDumps checks that Detect of tables in full
// and nictab's routes elsewhere reads through one dump of every table
// exactly the State the dumps of each table read, in the same order:
// IPv4 and IPv6, tables below and from 256 up, other programs' routes in
// the tables read in full and outside them, multipath and odd
// attributes; and that with more routes of others outside those tables
// than its budget it leaves that dump and still reads the same.
func TestOneDumpReadsAsPerTableDumps(t *testing.T) {
	ns := scaleNS(t)
	ns.IP("link", "add", "sc2", "type", "veth", "peer", "name", "sc2p")
	ns.IP("link", "set", "sc2", "up")
	ns.IP("addr", "add", "10.9.0.1/24", "dev", "sc2")
	ns.IP("route", "add", "default", "via", scaleGw, "dev", scaleDev, "proto", "dhcp")
	for _, r := range []string{
		"route add 10.5.0.0/24 dev sc0 table 100 proto 201",
		"route add 10.5.1.0/24 via 10.0.0.2 dev sc0 table 100 proto static metric 7",
		"route add 10.5.2.0/24 table 100 proto 201 nexthop via 10.0.0.2 dev sc0 weight 2 nexthop via 10.9.0.2 dev sc2",
		"route add blackhole 10.5.3.0/24 table 100 proto 201",
		"route add 10.5.4.0/24 via 10.0.0.2 dev sc0 table 100 proto 201 mtu 1400 realm 3",
		"-6 route add fd00:5::/64 via fd00::2 dev sc0 table 100 proto 201",
		"-6 route add fd00:6::/64 dev sc0 table 100 proto boot",
		"route add 10.6.0.0/24 dev sc0 table 1000 proto 201",
		"route add 10.6.1.0/24 dev sc0 table 1000 proto static",
		"-6 route add fd00:7::/64 dev sc0 table 1000 proto 201",
		"route add 10.7.0.0/24 dev sc0 table 50 proto 201",
		"route add 10.7.1.0/24 dev sc0 table 50 proto static",
		"-6 route add fd00:8::/64 dev sc0 table 50 proto 201",
		"route add 10.8.0.0/24 dev sc0 table 2000 proto 201",
		"route add 10.8.1.0/24 dev sc2 table 300 proto static",
		"route add 10.8.2.0/24 dev sc2 proto 201",
		"rule add from 10.9.0.0/24 lookup 300 pref 100",
	} {
		ns.IP(strings.Fields(r)...)
	}
	k := openScale(t, ns)
	names := scaleNames(ns)()
	compare := func(t *testing.T, tables []uint32) {
		t.Helper()
		opts := netcfg.DetectOptions{Tables: tables, Owned: true}
		want, err := netcfg.Detect(perTableReader{Reader: k, big: k.(netcfg.BigMain)}, names, opts)
		if err != nil {
			t.Fatal(err)
		}
		got, err := netcfg.Detect(k, names, opts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("one dump read\n%v\nthe dumps of each table\n%v", got.Routes, want.Routes)
		}
	}
	for _, tables := range [][]uint32{{100}, {100, 1000}, {50, 100, 300}, {2000}, {77}} {
		t.Run(fmt.Sprint(tables), func(t *testing.T) {
			before, _ := kernel.TablesDumps(k)
			compare(t, tables)
			if after, _ := kernel.TablesDumps(k); after != before+2 {
				t.Errorf("%d one-dump reads, want 2 (IPv4, IPv6)", after-before)
			}
		})
	}

	// Past the budget of others' routes: left, and the rest read as
	// before. Table 200 comes after 100 in the dump (tables are listed
	// by their id's last byte), table 7 before any other.
	var bigs []uint32
	for _, big := range []uint32{200, 7} {
		bigs = append(bigs, big)
		var lines []string
		for i := range 5000 {
			lines = append(lines, fmt.Sprintf("route add 172.%d.%d.0/24 dev sc2 table %d proto static", 16+i/256, i%256, big))
		}
		lines = append(lines, fmt.Sprintf("route add 10.%d.0.0/24 dev sc2 table %d proto 201", 200+big%50, big))
		ns.Batch(lines)
		for _, tables := range [][]uint32{{100}, {100, 300}, {50, 100, 2000}, {100, big}, {7, 100, 200}} {
			t.Run(fmt.Sprint("tables ", bigs, " full, read ", tables), func(t *testing.T) {
				_, leftBefore := kernel.TablesDumps(k)
				compare(t, tables)
				_, left := kernel.TablesDumps(k)
				want := 0
				for _, b := range bigs {
					if !slices.Contains(tables, b) {
						want = 1 // the IPv4 dump; IPv6 has no such table
					}
				}
				if left != leftBefore+want {
					t.Errorf("%d one-dump reads left over budget, want %d", left-leftBefore, want)
				}
			})
		}
	}
}
