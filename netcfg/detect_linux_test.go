package netcfg_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/enginetest"
	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
)

// ipRule is a rule as `ip -j rule` prints it.
type ipRule struct {
	Priority uint32 `json:"priority"`
	Src      string `json:"src"`
	SrcLen   int    `json:"srclen"`
	Dst      string `json:"dst"`
	DstLen   int    `json:"dstlen"`
	IIF      string `json:"iif"`
	OIF      string `json:"oif"`
	FwMark   string `json:"fwmark"`
	FwMask   string `json:"fwmask"`
	Table    string `json:"table"`
	Action   string `json:"action"`
	Protocol string `json:"protocol"`
	// `ip -j` prints "not": null for an inverted rule.
	Not json.RawMessage `json:"not"`
}

// ipText renders `ip -j rule` output in a form comparable with
// netcfg.RuleArgs: numbers for tables and protocols.
func (r ipRule) text(names *netcfg.Names) string {
	var a []string
	if r.Not != nil {
		a = append(a, "not")
	}
	src := r.Src
	if r.SrcLen != 0 && src != "all" {
		src += "/" + strconv.Itoa(r.SrcLen)
	}
	a = append(a, "from", src)
	if r.Dst != "" {
		dst := r.Dst
		if r.DstLen != 0 {
			dst += "/" + strconv.Itoa(r.DstLen)
		}
		a = append(a, "to", dst)
	}
	if r.FwMark != "" {
		m := r.FwMark
		if r.FwMask != "" {
			m += "/" + r.FwMask
		}
		a = append(a, "fwmark", m)
	}
	if r.IIF != "" {
		a = append(a, "iif", r.IIF)
	}
	if r.OIF != "" {
		a = append(a, "oif", r.OIF)
	}
	switch {
	case r.Table != "":
		id, ok := names.TableID(r.Table)
		if !ok {
			v, _ := strconv.ParseUint(r.Table, 10, 32)
			id = uint32(v)
		}
		a = append(a, "lookup", strconv.FormatUint(uint64(id), 10))
	case r.Action != "":
		a = append(a, r.Action)
	}
	if r.Protocol != "" {
		p := r.Protocol
		for _, pn := range names.Protos {
			if pn.Name == p {
				p = strconv.Itoa(int(pn.ID))
			}
		}
		if p == "nictab" {
			p = strconv.Itoa(int(netcfg.ProtoNictab))
		}
		a = append(a, "proto", p)
	}
	return fmt.Sprintf("%d: %s", r.Priority, strings.Join(a, " "))
}

// ourRuleText is RuleArgs without the kernel's protocol, which `ip` does
// not print.
func ourRuleText(r *netcfg.Rule) string {
	args := netcfg.RuleArgs(r)
	if n := len(args); n >= 2 && args[n-2] == "proto" && args[n-1] == strconv.Itoa(int(netcfg.ProtoKernel)) {
		args = args[:n-2]
	}
	return fmt.Sprintf("%d: %s", r.Priority, strings.Join(args, " "))
}

// ipRoute is a route as `ip -j route` prints it.
type ipRoute struct {
	Type     string `json:"type"`
	Dst      string `json:"dst"`
	Gateway  string `json:"gateway"`
	Dev      string `json:"dev"`
	Table    string `json:"table"`
	Protocol string `json:"protocol"`
	Scope    string `json:"scope"`
	PrefSrc  string `json:"prefsrc"`
	Metric   uint32 `json:"metric"`
}

// TestDetectMatchesIP builds the sandbox, adds a policy table by hand and
// compares what detection reads with what `ip -j` prints in the same
// namespace.
func TestDetectMatchesIP(t *testing.T) {
	ns := nstest.Sandbox(t)
	ns.IP("rule", "add", "from", "192.168.10.2", "lookup", "13", "pref", "1000")
	ns.IP("rule", "add", "not", "from", "10.0.0.0/8", "fwmark", "0x13/0xff", "iif", "eno1", "lookup", "14", "pref", "1100")
	ns.IP("rule", "add", "to", "198.51.100.0/24", "oif", "enp2s0", "prohibit", "pref", "1200")
	ns.IP("-6", "rule", "add", "from", "2001:db8:10::2", "lookup", "13", "pref", "1000", "proto", "201")
	ns.IP("route", "add", "default", "via", "192.168.10.1", "dev", "eno1", "table", "13")
	ns.IP("route", "add", "10.9.0.0/16", "dev", "eno1", "table", "13", "metric", "7")
	ns.IP("-6", "route", "add", "default", "via", "2001:db8:10::1", "dev", "eno1", "table", "13")
	ns.IP("route", "add", "blackhole", "10.66.0.0/16", "table", "14")
	// A table no rule refers to is not read.
	ns.IP("route", "add", "10.77.0.0/16", "dev", "eno1", "table", "100")

	k := enginetest.Open(t, ns)
	names := netcfg.LoadNames(netcfg.DefaultNamePaths(ns.Name))
	s, err := netcfg.Detect(k, names, netcfg.DetectOptions{RuleTables: true, Owned: true})
	if err != nil {
		t.Fatal(err)
	}

	// Links and addresses.
	var links []struct {
		Index     int    `json:"ifindex"`
		Name      string `json:"ifname"`
		MTU       int    `json:"mtu"`
		OperState string `json:"operstate"`
		Address   string `json:"address"`
		AddrInfo  []struct {
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
		} `json:"addr_info"`
	}
	ns.JSON(&links, "addr", "show")
	if len(links) != len(s.Links) {
		t.Fatalf("detected %d links, ip shows %d", len(s.Links), len(links))
	}
	for i, l := range links {
		d := s.Links[i]
		if d.Index != l.Index || d.Name != l.Name || d.MTU != l.MTU || !strings.EqualFold(d.OperState, l.OperState) || (d.MAC != l.Address && !d.Loopback) {
			t.Errorf("link %d: detected %+v, ip shows %+v", i, d, l)
		}
		var want, got []string
		for _, a := range l.AddrInfo {
			want = append(want, fmt.Sprintf("%s/%d", a.Local, a.PrefixLen))
		}
		for _, a := range d.Addrs {
			got = append(got, a.Prefix.String())
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s addresses: detected %v, ip shows %v", l.Name, got, want)
		}
	}
	eno1, _ := s.Link("eno1")
	if gw, ok := s.Gateway("eno1", netcfg.V4); !ok || gw != netip.MustParseAddr("192.168.10.1") {
		t.Errorf("eno1 gateway = %v", gw)
	}
	if gw, ok := s.Gateway("enp2s0", netcfg.V6); !ok || gw != netip.MustParseAddr("2001:db8:20::1") {
		t.Errorf("enp2s0 IPv6 gateway = %v", gw)
	}
	if u := s.NICTables(eno1); len(u) == 0 || u[0].Table != 13 {
		t.Errorf("eno1's table = %+v, want 13", u)
	}

	// Rules, both families, in kernel order.
	var want, got []string
	for _, fam := range []string{"-4", "-6"} {
		var rs []ipRule
		ns.JSON(&rs, fam, "rule", "show")
		for _, r := range rs {
			want = append(want, fam+" "+r.text(&names))
		}
	}
	for _, r := range s.Rules {
		fam := "-4"
		if r.Family == netcfg.V6 {
			fam = "-6"
		}
		got = append(got, fam+" "+ourRuleText(&r))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rules:\ndetected:\n%s\nip shows:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Routes of the tables rules refer to: all of 13 and 14, nothing of 100.
	if !s.HasTable(13) || !s.HasTable(14) || s.HasTable(100) || s.HasTable(netcfg.TableMain) {
		t.Errorf("complete tables = %v, want 13 and 14 only", s.Complete)
	}
	for _, table := range []string{"13", "14"} {
		var want, got []string
		for _, fam := range []string{"-4", "-6"} {
			var rs []ipRoute
			if _, err := ns.IPErr(fam, "route", "show", "table", table); err != nil {
				continue // the family has no such table
			}
			ns.JSON(&rs, fam, "route", "show", "table", table)
			for _, r := range rs {
				want = append(want, fmt.Sprintf("%s %s via %s dev %s src %s metric %d", r.Type, r.Dst, r.Gateway, r.Dev, r.PrefSrc, r.Metric))
			}
		}
		id, _ := strconv.ParseUint(table, 10, 32)
		for _, r := range s.TableRoutes(uint32(id)) {
			typ, dst, gw, src := "", r.Dst.String(), "", ""
			if r.Type != netcfg.RouteUnicast {
				typ = r.Type.String()
			}
			if r.IsDefault() {
				dst = "default"
			} else if r.Dst.IsSingleIP() {
				dst = r.Dst.Addr().String()
			}
			if r.Gw.IsValid() {
				gw = r.Gw.String()
			}
			if r.Src.IsValid() {
				src = r.Src.String()
			}
			got = append(got, fmt.Sprintf("%s %s via %s dev %s src %s metric %d", typ, dst, gw, r.Dev, src, r.Metric))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("table %s:\ndetected:\n%s\nip shows:\n%s", table, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	for _, r := range s.Routes {
		if r.Table == 100 {
			t.Errorf("table 100 was read although no rule uses it: %s", netcfg.RouteString(&r))
		}
	}
}

// TestDetectNamesSeenByIP writes nictab's names for a namespace and checks
// that `ip -n NAME` uses them, and that the host's own files are left
// alone.
func TestDetectNamesSeenByIP(t *testing.T) {
	ns := nstest.Sandbox(t)
	paths := netcfg.DefaultNamePaths(ns.Name)
	if !strings.HasPrefix(paths.Etc, "/etc/netns/"+ns.Name+"/") {
		t.Fatalf("names of a namespace go to %s", paths.Etc)
	}
	if err := (netcfg.NamesFile{Paths: paths}).Write([]netcfg.TableName{{ID: 13, Name: "vpn"}}); err != nil {
		t.Fatal(err)
	}
	ns.IP("rule", "add", "from", "192.168.10.2", "lookup", "13", "pref", "1000", "proto", "201")
	out := ns.IP("rule", "show", "pref", "1000")
	if !strings.Contains(out, "lookup vpn") || !strings.Contains(out, "proto nictab") {
		t.Errorf("ip -n %s rule show: %q, want the names nictab wrote", ns.Name, out)
	}
	k := enginetest.Open(t, ns)
	s, err := netcfg.Detect(k, netcfg.LoadNames(paths), netcfg.DetectOptions{RuleTables: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.Names.TableName(13) != "vpn" || s.Names.TableName(254) != "main" {
		t.Errorf("names read back: 13=%q 254=%q", s.Names.TableName(13), s.Names.TableName(254))
	}
}

// TestDetectDefaultsOnlyIgnoresOtherRoutes checks that reading main for its
// default routes returns exactly those, with many other routes around.
func TestDetectDefaultsOnlyIgnoresOtherRoutes(t *testing.T) {
	ns := nstest.Sandbox(t)
	var lines []string
	for i := range 5000 {
		lines = append(lines, fmt.Sprintf("route add 10.%d.%d.0/24 via 192.168.20.1", i/256, i%256))
	}
	lines = append(lines, "route add 0.0.0.0/8 via 192.168.20.1", "route add 0.0.0.0/1 via 192.168.20.1 metric 5")
	ns.Batch(lines)
	k := enginetest.Open(t, ns)
	var got []string
	err := k.Routes(netcfg.RouteQuery{Table: netcfg.TableMain, DefaultsOnly: true}, func(r *netcfg.Route) error {
		got = append(got, netcfg.RouteString(r))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"default via 192.168.20.1 dev enp2s0 table 254 proto 16 scope global metric 100",
		"default via 192.168.10.1 dev eno1 table 254 proto 16 scope global metric 200",
		"default via 2001:db8:20::1 dev enp2s0 table 254 proto 9 metric 100",
		"default via 2001:db8:10::1 dev eno1 table 254 proto 9 metric 200",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("default routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestOpenKernelUnknownNamespace(t *testing.T) {
	nstest.RequireRoot(t)
	_, err := kernel.Open("nictab-no-such-ns")
	var nse *kernel.NamespaceError
	if err == nil || !errors.As(err, &nse) {
		t.Fatalf("err = %v, want a NamespaceError", err)
	}
}

// TestDetectNoMainDefaults: main's default routes are read for the NICs'
// gateways unless left out, and leaving them out leaves nothing else out.
func TestDetectNoMainDefaults(t *testing.T) {
	ns := nstest.Sandbox(t)
	ns.IP("route", "add", "10.9.0.0/16", "via", "192.168.20.1", "table", "100")
	k := enginetest.Open(t, ns)
	names := netcfg.LoadNames(netcfg.DefaultNamePaths(ns.Name))
	count := func(s netcfg.State) (main, t100 int) {
		for i := range s.Routes {
			switch s.Routes[i].Table {
			case netcfg.TableMain:
				main++
			case 100:
				t100++
			}
		}
		return
	}
	with, err := netcfg.Detect(k, names, netcfg.DetectOptions{Tables: []uint32{100}})
	if err != nil {
		t.Fatal(err)
	}
	without, err := netcfg.Detect(k, names, netcfg.DetectOptions{Tables: []uint32{100}, NoMainDefaults: true})
	if err != nil {
		t.Fatal(err)
	}
	if m, n := count(with); m != 4 || n != 1 {
		t.Errorf("read with main's defaults: %d routes of main, %d of table 100; want 4 and 1", m, n)
	}
	if m, n := count(without); m != 0 || n != 1 {
		t.Errorf("read without main's defaults: %d routes of main, %d of table 100; want 0 and 1", m, n)
	}
	if len(without.Links) != len(with.Links) || len(without.Rules) != len(with.Rules) {
		t.Errorf("links %d and rules %d without main's defaults; want %d and %d", len(without.Links), len(without.Rules), len(with.Links), len(with.Rules))
	}
}
