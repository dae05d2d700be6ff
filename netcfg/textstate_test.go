package netcfg_test

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
)

// readTextState reads a state written by hand, one object per line:
//
//	link INDEX NAME [ADDR/LEN…]
//	rule RULE            (netcfg.ParseRule syntax, with "pref N")
//	route ROUTE          (netcfg.ParseRoute syntax)
//	name ID NAME         (a name in nictab's own names file)
//	complete TABLE…      (tables read in full)
//
// Blank lines and # comments are skipped. Every state is read as holding
// all of nictab's routes.
func readTextState(t *testing.T, path string) (netcfg.State, netcfg.Desired) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := netcfg.State{AllOwned: true}
	var d netcfg.Desired
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, rest, _ := strings.Cut(line, " ")
		fail := func(err error) { t.Fatalf("%s:%d: %v", path, n, err) }
		switch kind {
		case "link":
			fs := strings.Fields(rest)
			idx, err := strconv.Atoi(fs[0])
			if err != nil {
				fail(err)
			}
			l := netcfg.Link{Index: idx, Name: fs[1], Up: true, Carrier: true, OperState: "up"}
			for _, a := range fs[2:] {
				p, err := netip.ParsePrefix(a)
				if err != nil {
					fail(err)
				}
				l.Addrs = append(l.Addrs, netcfg.Addr{Prefix: p})
			}
			s.Links = append(s.Links, l)
		case "rule":
			r, err := netcfg.ParseRule(rest)
			if err != nil {
				fail(err)
			}
			s.Rules = append(s.Rules, r)
			d.Rules = append(d.Rules, r)
		case "route":
			r, err := netcfg.ParseRoute(rest)
			if err != nil {
				fail(err)
			}
			s.Routes = append(s.Routes, r)
			d.Routes = append(d.Routes, r)
			d.Tables = append(d.Tables, r.Table)
		case "name":
			id, name, _ := strings.Cut(rest, " ")
			v, err := strconv.ParseUint(id, 10, 32)
			if err != nil {
				fail(err)
			}
			s.Names.Tables = append(s.Names.Tables, netcfg.TableName{ID: uint32(v), Name: name, File: "/etc/iproute2/rt_tables.d/nictab.conf"})
			d.Names = append(d.Names, netcfg.TableName{ID: uint32(v), Name: name})
		case "complete":
			for _, x := range strings.Fields(rest) {
				v, err := strconv.ParseUint(x, 10, 32)
				if err != nil {
					fail(err)
				}
				s.Complete = append(s.Complete, uint32(v))
			}
		default:
			fail(fmt.Errorf("unknown line kind %q", kind))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(s.Complete)
	slices.SortFunc(s.Rules, func(a, b netcfg.Rule) int { return netcfg.CompareRules(&a, &b) })
	slices.Sort(d.Tables)
	d.Tables = slices.Compact(d.Tables)
	return s, d
}
