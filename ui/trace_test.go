package ui_test

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
	"github.com/nictab/nictab/ui"
)

// The golden files under testdata/trace are refreshed with
// `go test ./ui -run Trace -update`. The flag is registered only when no
// other test file of the package has done it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func goldenTrace(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "trace", name+".golden")
	if f := flag.Lookup("update"); f != nil && f.Value.String() == "true" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the output (run with -update to accept it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// homeState is the sandbox's dual-NIC home server, with the VPN NIC's
// table 13 named vpn.
func homeState(t *testing.T, extra ...string) netcfg.State {
	t.Helper()
	s := netcfg.State{
		Links: []netcfg.Link{
			{Index: 1, Name: "lo", Up: true, Loopback: true, Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("127.0.0.1/8"), Scope: netcfg.ScopeHost}}},
			{Index: 2, Name: "eno1", Up: true, Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("192.168.10.2/24")}, {Prefix: netip.MustParsePrefix("2001:db8:10::2/64")}}},
			{Index: 3, Name: "enp2s0", Up: true, Addrs: []netcfg.Addr{{Prefix: netip.MustParsePrefix("192.168.20.2/24")}, {Prefix: netip.MustParsePrefix("2001:db8:20::2/64")}}},
		},
		Complete: []uint32{13, netcfg.TableDefault, netcfg.TableMain, netcfg.TableLocal},
		Names:    netcfg.Names{Tables: []netcfg.TableName{{ID: 13, Name: "vpn"}}},
	}
	lines := append([]string{
		"rule pref 0 lookup 255", "rule pref 32766 lookup 254", "rule pref 32767 lookup 253",
		"rule -6 pref 0 lookup 255", "rule -6 pref 32766 lookup 254",
		"route 192.168.10.0/24 dev eno1 scope link src 192.168.10.2 proto 2",
		"route 192.168.20.0/24 dev enp2s0 scope link src 192.168.20.2 proto 2",
		"route default via 192.168.10.1 dev eno1 metric 200 proto 16",
		"route default via 192.168.20.1 dev enp2s0 metric 100 proto 16",
		"route local 192.168.10.2 dev eno1 table 255 src 192.168.10.2 proto 2",
		"route local 192.168.20.2 dev enp2s0 table 255 src 192.168.20.2 proto 2",
	}, extra...)
	for _, l := range lines {
		kind, rest, _ := strings.Cut(l, " ")
		switch kind {
		case "rule":
			r, err := netcfg.ParseRule(rest)
			if err != nil {
				t.Fatal(err)
			}
			s.Rules = append(s.Rules, r)
		case "route":
			r, err := netcfg.ParseRoute(rest)
			if err != nil {
				t.Fatal(err)
			}
			s.Routes = append(s.Routes, r)
		default:
			t.Fatalf("homeState: %q", l)
		}
	}
	return s
}

var vpnLines = []string{
	"rule pref 1000 from 192.168.10.2 lookup 13 proto 201",
	"route 192.168.10.0/24 dev eno1 table 13 src 192.168.10.2 proto 201",
	"route default via 192.168.10.1 dev eno1 table 13 proto 201",
}

func trace(t *testing.T, s netcfg.State, p netcfg.Packet) lookup.Path {
	t.Helper()
	path, err := lookup.Trace(s, p)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestTraceRender(t *testing.T) {
	st := ui.PlainStyles()
	vpn := homeState(t, vpnLines...)
	wg := homeState(t,
		"rule pref 100 from 192.168.10.0/24 goto 32764",
		"rule pref 200 lookup 13",
		"rule pref 32764 lookup 254 suppress_prefixlength 0",
		"rule pref 32765 not fwmark 0xca6c lookup 51820",
		"route throw 8.8.0.0/16 table 13",
		"route default dev eno1 table 51820 scope link",
	)
	wg.Complete = append(wg.Complete, 51820)
	broken := homeState(t, "rule pref 500 to 203.0.113.0/24 blackhole")
	partial := homeState(t, "rule pref 900 lookup 77")
	for _, c := range []struct {
		name string
		s    netcfg.State
		p    netcfg.Packet
	}{
		{"vpn", vpn, netcfg.Packet{Dst: ip("8.8.8.8"), Src: ip("192.168.10.2")}},
		{"main", vpn, netcfg.Packet{Dst: ip("8.8.8.8"), IPProto: netcfg.ProtoUDP, DPort: 53}},
		{"wireguard", wg, netcfg.Packet{Dst: ip("8.8.8.8"), Src: ip("192.168.10.2")}},
		{"blackhole", broken, netcfg.Packet{Dst: ip("203.0.113.5")}},
		{"arriving", vpn, netcfg.Packet{Dst: ip("192.168.20.2"), Src: ip("192.168.10.77"), IIF: "eno1"}},
		{"partial", partial, netcfg.Packet{Dst: ip("8.8.8.8")}},
	} {
		for _, w := range []int{80, 120} {
			goldenTrace(t, c.name+"_"+strconv.Itoa(w), ui.RenderTrace(trace(t, c.s, c.p), &c.s.Names, w, st))
		}
	}
}

func TestTraceCompareRender(t *testing.T) {
	st := ui.PlainStyles()
	live := homeState(t)
	planned := homeState(t, vpnLines...)
	p := netcfg.Packet{Dst: ip("8.8.8.8"), Src: ip("192.168.10.2")}
	changed := ui.CompareTraces(trace(t, live, p), trace(t, planned, p))
	if !changed.Changed || !strings.Contains(changed.Summary, "eno1") {
		t.Errorf("the VPN plan does not change the VPN NIC's path: %+v", changed.Summary)
	}
	q := netcfg.Packet{Dst: ip("8.8.8.8"), Src: ip("192.168.20.2")}
	same := ui.CompareTraces(trace(t, live, q), trace(t, planned, q))
	if same.Changed {
		t.Errorf("the VPN plan changes the LAN NIC's path: %s", same.Summary)
	}
	for _, w := range []int{60, 80, 140} {
		goldenTrace(t, "compare_changed_"+strconv.Itoa(w), ui.RenderTraceCompare(changed, &live.Names, &planned.Names, w, st))
	}
	goldenTrace(t, "compare_same_140", ui.RenderTraceCompare(same, &live.Names, &planned.Names, 140, st))
}

func TestGuardRender(t *testing.T) {
	st := ui.PlainStyles()
	before := homeState(t)
	conn, ok := sshsession.ParseConn("203.0.113.5 51234 192.168.10.2 22")
	if !ok {
		t.Fatal("ParseConn")
	}
	for _, c := range []struct {
		name  string
		after netcfg.State
		conn  sshsession.Conn
	}{
		{"moved", homeState(t, vpnLines...), conn},
		{"broken", homeState(t, "rule pref 500 to 203.0.113.0/24 blackhole"), conn},
		{"safe", homeState(t), conn},
		{"unknown", homeState(t), sshsession.Conn{Client: netip.MustParseAddrPort("[fe80::1%nope0]:40000"), Server: netip.MustParseAddrPort("[fe80::2]:22")}},
	} {
		g := lookup.GuardConn(before, c.after, c.conn)
		out := ui.RenderGuard(g, 80, st)
		if g.Dangerous() != strings.Contains(out, "DANGER") {
			t.Errorf("%s: dangerous %v, rendered:\n%s", c.name, g.Dangerous(), out)
		}
		goldenTrace(t, "guard_"+c.name, out)
	}
	// The danger banner is styled, not only worded.
	r := ui.DefaultStyles(true)
	g := lookup.GuardConn(before, homeState(t, vpnLines...), conn)
	if got, plain := ui.RenderGuard(g, 80, r), ui.RenderGuard(g, 80, st); got == plain && r.Danger.Render("x") != "x" {
		t.Errorf("the danger banner is not styled")
	}
}
