package export

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/sandbox"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// The golden files are refreshed with `go test ./snapshots -run Export -update`.
// The flag is registered in init, after every package-level variable, so a
// test file of this package that declares it too keeps its own.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// golden compares got with testdata/export/name, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) string {
	t.Helper()
	path := filepath.Join("testdata", "export", name)
	if updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the export (run with -update if the change is meant):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
	return path
}

type fixNIC struct {
	name  string
	addrs []string
	// dynamic are addresses DHCP or router advertisements gave.
	dynamic []string
	table   uint32
	gws     []string
	sel     []netcfg.Selector
	fwmark  *netcfg.FwMark
}

var fixTime = time.Date(2025, 3, 1, 10, 15, 0, 0, time.UTC)

// resolveFixture builds a saved snapshot the way nictab makes one: the
// intent resolved by netcfg.Resolve against a live state holding the NICs,
// so rules and routes are exactly what an apply installs.
func resolveFixture(t *testing.T, meta *format.Meta, comment string, tables []netcfg.TableDef, nics []fixNIC, extra []netcfg.RouteIntent) *format.Snapshot {
	t.Helper()
	in := netcfg.Intent{Tables: tables, Routes: extra}
	var live netcfg.State
	for i, n := range nics {
		l := netcfg.Link{Index: i + 2, Name: n.name, Up: true, OperState: "up"}
		for _, a := range n.addrs {
			l.Addrs = append(l.Addrs, netcfg.Addr{Prefix: netip.MustParsePrefix(a)})
		}
		for _, a := range n.dynamic {
			l.Addrs = append(l.Addrs, netcfg.Addr{Prefix: netip.MustParsePrefix(a), Dynamic: true})
		}
		live.Links = append(live.Links, l)
		ni := netcfg.NICIntent{Name: n.name, Table: netcfg.TableRef{ID: n.table}, Select: n.sel, FwMark: n.fwmark}
		for _, g := range n.gws {
			ni.Gateways = append(ni.Gateways, netip.MustParseAddr(g))
		}
		in.NICs = append(in.NICs, ni)
	}
	d, err := netcfg.Resolve(in, live, netcfg.DefaultPriorities)
	if err != nil {
		t.Fatalf("resolve fixture: %v", err)
	}
	target := d.Owned
	if meta != nil {
		meta.Addressing = format.AddressingOf(live, target, in)
	}
	return &format.Snapshot{
		Version:  format.Version,
		Comment:  comment,
		Intent:   in,
		Meta:     meta,
		Resolved: &target,
	}
}

func fixMeta(id, host string, networkd bool) *format.Meta {
	return &format.Meta{ID: id, Time: fixTime, Host: host, NictabVersion: "0.1.0", Kind: "apply", Networkd: networkd}
}

// sandboxSnapshot is the sandbox's two-NIC state: eno1 to table 13 vpn,
// enp2s0 to table 14 lan, IPv4 and IPv6.
func sandboxSnapshot(t *testing.T) *format.Snapshot {
	var nics []fixNIC
	for i, n := range sandbox.NICs {
		nics = append(nics, fixNIC{
			name:  n.Name,
			addrs: []string{n.Addr4.String(), n.Addr6.String()},
			table: uint32(13 + i),
			gws:   []string{n.Gw4.Addr().String(), n.Gw6.Addr().String()},
		})
	}
	return resolveFixture(t, fixMeta("20250301T101500Z-4f2a", "homeserver", true), "openvpn NIC to its own table",
		[]netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14, Name: "lan"}}, nics, nil)
}

// v6OnlySnapshot is a NIC with no IPv4 address at all.
func v6OnlySnapshot(t *testing.T) *format.Snapshot {
	return resolveFixture(t, fixMeta("20250302T080000Z-6b01", "v6host", false), "",
		[]netcfg.TableDef{{ID: 30, Name: "v6only"}},
		[]fixNIC{{name: "enp3s0", addrs: []string{"2001:db8:30::2/64", "fe80::1:2/64"}, table: 30, gws: []string{"2001:db8:30::1"}}}, nil)
}

// vlanSnapshot has VLAN names (a dot: quoted in Nix), every selector, a
// fwmark rule tied to no NIC and a blackhole route without a device.
func vlanSnapshot(t *testing.T) *format.Snapshot {
	bh := netcfg.RouteIntent{Table: netcfg.TableRef{ID: 100}, Type: netcfg.RouteBlackhole, To: netip.MustParsePrefix("10.99.0.0/16")}
	return resolveFixture(t, fixMeta("20250303T120000Z-0100", "router", true), "VLANs to their own tables",
		[]netcfg.TableDef{{ID: 100, Name: "vlan100"}, {ID: 200, Name: "vlan200"}},
		[]fixNIC{
			{name: "eth0.100", addrs: []string{"10.100.0.2/24"}, table: 100, gws: []string{"10.100.0.1"}, sel: []netcfg.Selector{netcfg.SelectFrom, netcfg.SelectOIF}},
			{name: "eth0.200", addrs: []string{"10.200.0.2/24"}, table: 200, gws: []string{"10.200.0.1"}, sel: []netcfg.Selector{netcfg.SelectIIF, netcfg.SelectFwmark}, fwmark: &netcfg.FwMark{Value: 0xc8, Mask: 0xffffffff}},
		}, []netcfg.RouteIntent{bh})
}

// hostileMeta carries text that would run as Nix, shell or unit-file
// syntax if any of it were pasted unescaped.
func hostileMeta(networkd bool) *format.Meta {
	m := fixMeta("id\"${builtins.abort \"x\"}", "evil\n${builtins.abort \"x\"}\n$(reboot)", networkd)
	m.NictabVersion = `0.1\"; abort`
	return m
}

const hostileComment = "line one\n{ ... }: builtins.abort \"x\" # \\ ${builtins.abort \"x\"}\r"

// hostileNetworkdSnapshot has names systemd-networkd accepts but that mean
// something to Nix and to a shell.
func hostileNetworkdSnapshot(t *testing.T) *format.Snapshot {
	return resolveFixture(t, hostileMeta(true), hostileComment,
		[]netcfg.TableDef{{ID: 13, Name: "$(reboot)"}, {ID: 14, Name: "${toString.x}"}},
		[]fixNIC{
			{name: "$(reboot)", addrs: []string{"192.168.10.2/24"}, table: 13, gws: []string{"192.168.10.1"}},
			{name: "${x}", addrs: []string{"2001:db8:20::2/64"}, table: 14, gws: []string{"2001:db8:20::1"}, sel: []netcfg.Selector{netcfg.SelectFrom, netcfg.SelectIIF}},
		}, nil)
}

// hostileScriptedSnapshot adds names with quotes, backslashes and a
// newline, which only shell quoting carries.
func hostileScriptedSnapshot(t *testing.T) *format.Snapshot {
	return resolveFixture(t, hostileMeta(false), hostileComment,
		[]netcfg.TableDef{{ID: 13, Name: `${builtins.abort"x"}`}, {ID: 14, Name: `a"b\c`}, {ID: 15, Name: "$(reboot)"}},
		[]fixNIC{
			{name: `eth"0`, addrs: []string{"192.168.10.2/24"}, table: 13, gws: []string{"192.168.10.1"}},
			{name: `a\b'c`, addrs: []string{"2001:db8:20::2/64"}, table: 14, gws: []string{"2001:db8:20::1"}, sel: []netcfg.Selector{netcfg.SelectOIF}},
			{name: "$(reboot)", addrs: []string{"192.168.30.2/24"}, table: 15},
			{name: "nl\nx", addrs: []string{"192.168.40.2/24"}, table: 15, gws: []string{"192.168.40.1"}},
		}, nil)
}

// dhcpSnapshot has a laptop's NICs: wlan0 with an IPv4 address from DHCP
// and IPv6 addresses from router advertisements (SLAAC) and DHCPv6, eth1
// with a fixed address; plus a blackhole route and a fwmark rule tied to
// no NIC.
func dhcpSnapshot(t *testing.T) *format.Snapshot {
	bh := netcfg.RouteIntent{Table: netcfg.TableRef{ID: 60}, Type: netcfg.RouteBlackhole, To: netip.MustParsePrefix("10.77.0.0/16")}
	s := resolveFixture(t, fixMeta("20250304T090000Z-d4c9", "laptop", true), "DHCP NIC to its own table",
		[]netcfg.TableDef{{ID: 50, Name: "wifi"}, {ID: 60, Name: "wired"}},
		[]fixNIC{
			{name: "wlan0", dynamic: []string{"192.168.50.23/24", "2001:db8:60::5a1:2ff:fe03:405/64", "2001:db8:60::77/128"}, table: 50, gws: []string{"192.168.50.1", "2001:db8:60::1"}},
			{name: "eth1", addrs: []string{"10.60.0.2/24"}, table: 60, gws: []string{"10.60.0.1"}, sel: []netcfg.Selector{netcfg.SelectFwmark}, fwmark: &netcfg.FwMark{Value: 0x3c, Mask: 0xffffffff}},
		}, []netcfg.RouteIntent{bh})
	return s
}

// hostileBuildableSnapshot has NIC names that networkd and Nix both take
// as they are ('+', '=', '.'), for the mode that merges into the host's
// units, which must be named after them.
func hostileBuildableSnapshot(t *testing.T) *format.Snapshot {
	return resolveFixture(t, fixMeta("20250305T000000Z-0001", "odd", true), "",
		[]netcfg.TableDef{{ID: 70, Name: "odd"}},
		[]fixNIC{
			{name: "a+b=c", addrs: []string{"192.168.70.2/24"}, table: 70, gws: []string{"192.168.70.1"}},
			{name: "x.y", addrs: []string{"192.168.71.2/24"}, table: 70},
		}, nil)
}

// attrsSnapshot adds to the sandbox's snapshot a rule and routes with
// every attribute nictab models that systemd-networkd can say, so each is
// checked by Nix in both flavours.
func attrsSnapshot(t *testing.T) *format.Snapshot {
	s := sandboxSnapshot(t)
	r := netcfg.NewRule()
	r.Family, r.Priority, r.Table, r.Proto = netcfg.V4, 1500, 13, netcfg.ProtoNictab
	r.From, r.To = netip.MustParsePrefix("192.168.10.0/24"), netip.MustParsePrefix("10.8.0.0/16")
	r.Not, r.IIF, r.OIF = true, "eno1", "enp2s0"
	r.Mark = &netcfg.FwMark{Value: 0x13, Mask: 0xff}
	r.Tos, r.IPProto = 0x10, 6
	r.SPort, r.DPort = &netcfg.PortRange{Start: 1000, End: 2000}, &netcfg.PortRange{Start: 443, End: 443}
	r.UIDRange = &netcfg.UIDRange{Start: 1000, End: 1999}
	r.SuppressPrefixLen, r.SuppressIfgroup = 0, 7
	bh := netcfg.NewRule()
	bh.Family, bh.Priority, bh.Action, bh.Proto = netcfg.V6, 1600, netcfg.ActionProhibit, netcfg.ProtoNictab
	bh.To = netip.MustParsePrefix("2001:db8:99::/48")
	s.Resolved.Rules = append(s.Resolved.Rules, r, bh)
	s.Resolved.Routes = append(s.Resolved.Routes,
		netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("10.8.0.0/16"), Gw: netip.MustParseAddr("10.9.9.9"), Dev: "eno1", Onlink: true, Metric: 50, Proto: netcfg.ProtoNictab},
		netcfg.Route{Table: 14, Type: netcfg.RouteUnreachable, Dst: netip.MustParsePrefix("2001:db8:98::/48"), Metric: 1024, Proto: netcfg.ProtoNictab},
		netcfg.Route{Table: 14, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("192.168.21.0/24"), Dev: "enp2s0", Scope: netcfg.ScopeLink, Src: netip.MustParseAddr("192.168.20.2"), Metric: 10, Proto: netcfg.ProtoNictab},
	)
	return s
}
