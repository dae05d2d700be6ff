package format

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nictab/nictab/netcfg"
)

var update = flag.Bool("update", false, "rewrite golden snapshot files from Marshal's output")

// snapshotOpts compares snapshots by what they say, not by where Parse
// found it.
var snapshotOpts = cmp.Options{
	cmpopts.IgnoreUnexported(Snapshot{}),
	cmpopts.EquateEmpty(),
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

func scope(s netcfg.Scope) *netcfg.Scope { return &s }

// fullSnapshot sets every field the file format has, each to a value that
// differs from its default.
func fullSnapshot() *Snapshot {
	rule := netcfg.Rule{
		Family: netcfg.V4, Priority: 1010, Not: true,
		From: netip.MustParsePrefix("192.168.10.0/24"), To: netip.MustParsePrefix("10.0.0.0/8"),
		IIF: "eno1", OIF: "tun0",
		Mark:     &netcfg.FwMark{Value: 0x13, Mask: 0xff},
		Tos:      0x10,
		UIDRange: &netcfg.UIDRange{Start: 1000, End: 2000},
		IPProto:  6,
		SPort:    &netcfg.PortRange{Start: 1024, End: 65535},
		DPort:    &netcfg.PortRange{Start: 443, End: 443},
		L3MDev:   true,
		Action:   netcfg.ActionGoto, Table: 13, Goto: 2000,
		SuppressPrefixLen: 0, SuppressIfgroup: 7,
		Proto: netcfg.ProtoNictab,
	}
	v6rule := netcfg.NewRule()
	v6rule.Family, v6rule.Priority, v6rule.Table, v6rule.Proto = netcfg.V6, 1000, 13, netcfg.ProtoNictab
	v6rule.From = netip.MustParsePrefix("2001:db8:10::2/128")
	v6rule.Mark = &netcfg.FwMark{Value: 0, Mask: 0xffffffff}
	unspecRule := netcfg.NewRule()
	unspecRule.Family, unspecRule.Priority, unspecRule.Action = netcfg.V4, 1020, netcfg.RuleAction(5)
	// The attributes of newer kernels: dscp with a mask, port masks,
	// tun_id, realms; flowlabel on IPv6; the nat action.
	dscpRule := netcfg.NewRule()
	dscpRule.Family, dscpRule.Priority, dscpRule.Table = netcfg.V4, 180, 180
	dscpRule.DSCP = &netcfg.DSCPMatch{Value: 46, Mask: 0x3c}
	dscpRule.IPProto, dscpRule.SPort, dscpRule.DPort = 6, &netcfg.PortRange{Start: 0x1000, End: 0x1000, Mask: 0xf000}, &netcfg.PortRange{Start: 48, End: 48, Mask: 0xfff0}
	dscpRule.TunID, dscpRule.Realms = 1<<63+5, 3<<16|4
	flowRule := netcfg.NewRule()
	flowRule.Family, flowRule.Priority, flowRule.Table = netcfg.V6, 181, 181
	flowRule.FlowLabel = &netcfg.FlowLabel{Value: 0x100, Mask: 0xff00}
	flowRule2 := flowRule
	flowRule2.Priority, flowRule2.FlowLabel, flowRule2.DSCP = 182, &netcfg.FlowLabel{Value: 0x12345, Mask: 0xfffff}, &netcfg.DSCPMatch{Value: 0, Mask: 0x3f}
	// An owned rule and route that became opaque keep their bytes.
	flowRule.Unmodelled = []netcfg.RawAttr{{Type: 31, Name: "FRA_31", Data: []byte{1, 2}}}
	natRule := netcfg.NewRule()
	natRule.Family, natRule.Priority, natRule.Action = netcfg.V4, 183, netcfg.ActionNAT
	metrics := netcfg.Metrics{CongCtl: "reno", Lock: 1<<netcfg.RTAXMTU | 1<<netcfg.RTAXCCAlgo}
	for i := 2; i <= netcfg.RTAXMax; i++ {
		if i != netcfg.RTAXCCAlgo {
			metrics.Values[i] = uint32(1000 + i)
		}
	}

	return &Snapshot{
		Version: Version,
		Comment: "openvpn NIC to its own table\nsecond line: \"quoted\", tab\there, #not a comment",
		Intent: netcfg.Intent{
			Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14}, {ID: 4294967295, Name: "top"}},
			NICs: []netcfg.NICIntent{
				{
					Name: "eno1", Table: netcfg.TableRef{Name: "vpn"},
					Gateways: []netip.Addr{netip.MustParseAddr("192.168.10.1"), netip.MustParseAddr("2001:db8:10::1")},
					Select:   []netcfg.Selector{netcfg.SelectFrom, netcfg.SelectOIF, netcfg.SelectIIF, netcfg.SelectFwmark},
					FwMark:   &netcfg.FwMark{Value: 0x13, Mask: 0xff},
					Priority: 1000,
				},
				{Name: "enp2s0", Table: netcfg.TableRef{ID: 14}, Gateways: []netip.Addr{netip.MustParseAddr("fe80::1")}},
			},
			Rules: []netcfg.RuleIntent{
				{Priority: 900, From: netip.MustParsePrefix("10.0.0.0/8"), To: netip.MustParsePrefix("192.168.0.0/16"), IIF: "eth0", OIF: "eth1", FwMark: &netcfg.FwMark{Value: 1, Mask: 0xffffffff}, Table: netcfg.TableRef{ID: 13}},
				{To: netip.MustParsePrefix("2001:db8::1/128"), Table: netcfg.TableRef{Name: "vpn"}},
				{Table: netcfg.TableRef{ID: 14}},
				{Priority: 910, Not: true, From: netip.MustParsePrefix("10.1.0.0/16"), Tos: 0x10, IPProto: 17, SPort: &netcfg.PortRange{Start: 4096, End: 4096, Mask: 0xf000},
					DPort: &netcfg.PortRange{Start: 53, End: 53}, TunID: 1<<63 + 9, Table: netcfg.TableRef{ID: 13}},
				{Priority: 920, DSCP: &netcfg.DSCPMatch{Value: 8, Mask: 0x38}, Action: netcfg.ActionGoto, Goto: 1000},
				{Priority: 930, To: netip.MustParsePrefix("2001:db8::/32"), DSCP: &netcfg.DSCPMatch{Value: 46, Mask: 0x3f}, FlowLabel: &netcfg.FlowLabel{Value: 0x100, Mask: 0xff00}, Action: netcfg.ActionNop},
				{Priority: 940, FlowLabel: &netcfg.FlowLabel{Value: 0x12345, Mask: 0xfffff}, Action: netcfg.ActionBlackhole},
			},
			Routes: []netcfg.RouteIntent{
				{Table: netcfg.TableRef{ID: 13}, Type: netcfg.RouteUnicast, To: netip.MustParsePrefix("10.9.0.0/16"), Via: netip.MustParseAddr("192.168.10.254"), Dev: "eno1", Src: netip.MustParseAddr("192.168.10.2"), Scope: scope(netcfg.ScopeLink), Metric: 50},
				{Table: netcfg.TableRef{Name: "vpn"}, To: netip.MustParsePrefix("::/0"), Via: netip.MustParseAddr("2001:db8:10::1")},
				{Table: netcfg.TableRef{ID: 14}, Type: netcfg.RouteBlackhole, To: netip.MustParsePrefix("0.0.0.0/0"), Metric: 4294967295},
			},
		},
		Meta: &Meta{
			ID: "20261124T175512Z-0001", Time: time.Date(2026, 11, 24, 17, 55, 12, 123456789, time.UTC),
			Host: "gw-1.example.net", NictabVersion: "0.1.0", Parent: "20261124T170000Z-0000",
			Netns: "nictab-sandbox", Kind: "apply", Networkd: true,
		},
		Resolved: &netcfg.Owned{
			Names: []netcfg.TableName{{ID: 13, Name: "vpn"}, {ID: 4294967295, Name: "top"}},
			Rules: []netcfg.Rule{rule, v6rule, unspecRule, dscpRule, flowRule, flowRule2, natRule},
			Routes: []netcfg.Route{
				{Table: 13, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("192.168.10.0/24"), Dev: "eno1", Src: netip.MustParseAddr("192.168.10.2"), Scope: netcfg.ScopeLink, Proto: netcfg.ProtoNictab},
				{Table: 13, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: netip.MustParseAddr("192.168.10.1"), Dev: "eno1", Proto: netcfg.ProtoNictab, Metric: 100, Tos: 8, Onlink: true},
				{Table: 13, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("::/0"), Proto: netcfg.ProtoNictab, Metric: 1024,
					MultiPath: []netcfg.NextHop{{Gw: netip.MustParseAddr("fe80::1"), Dev: "eno1", Weight: 1, Onlink: true}, {Gw: netip.MustParseAddr("fe80::2"), Dev: "enp2s0", Weight: 256}, {}}},
				{Table: 14, Type: netcfg.RouteUnspec, Dst: netip.MustParsePrefix("10.0.0.0/8"), Scope: netcfg.ScopeNowhere},
				{Table: 14, Type: netcfg.RouteType(42), Dst: netip.MustParsePrefix("::ffff:10.0.0.0/104"), Scope: netcfg.Scope(100)},
				{Table: 15, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("10.20.0.0/16"), Gw: netip.MustParseAddr("10.9.0.2"), Dev: "eno1", Metrics: &metrics, Realms: 2<<16 | 5, NHID: 7},
				{Table: 15, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("2001:db8:50::/48"), From: netip.MustParsePrefix("2001:db8:9::/64"), Gw: netip.MustParseAddr("fe80::1"), Dev: "eno1", Metric: 1024, Pref: netcfg.PrefLow,
					MultiPath: []netcfg.NextHop{{Gw: netip.MustParseAddr("fe80::1"), Dev: "eno1", Weight: 3, Realms: 7, Encap: &netcfg.Encap{Type: 1, Data: []byte{8, 0, 1, 0, 0, 1, 65, 0}}, Unmodelled: []netcfg.RawAttr{{Type: 40, Name: "RTA_40", Data: []byte{}}}}}},
				{Table: 15, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("10.30.0.0/16"), Dev: "eno1", Scope: netcfg.ScopeLink, Expires: 300,
					Encap: &netcfg.Encap{Type: 2, Data: []byte{12, 0, 1, 0}}, Unmodelled: []netcfg.RawAttr{{Type: 99, Name: "RTA_99", Data: []byte{0xff}}}},
			},
		},
	}
}

// defaultSnapshot leaves every optional field unset.
func defaultSnapshot() *Snapshot {
	r := netcfg.NewRule()
	r.Family = netcfg.V4
	return &Snapshot{
		Version:  Version,
		Intent:   netcfg.Intent{NICs: []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}}},
		Meta:     &Meta{ID: "a", Time: time.Unix(0, 0).UTC()},
		Resolved: &netcfg.Owned{Rules: []netcfg.Rule{r}, Routes: []netcfg.Route{{Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("10.0.0.0/8")}}},
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name   string
		s      *Snapshot
		golden string
	}{
		{"full", fullSnapshot(), "saved-full.yaml"},
		{"defaults", defaultSnapshot(), "saved-defaults.yaml"},
		{"intent only", &Snapshot{Version: Version, Intent: netcfg.Intent{Tables: []netcfg.TableDef{{ID: 13}}}}, ""},
		{"owns nothing", &Snapshot{Version: Version, Meta: &Meta{ID: "b", Time: time.Unix(1, 0).UTC(), Kind: "rollback"}, Resolved: &netcfg.Owned{}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Marshal(tc.s)
			if err != nil {
				t.Fatal(err)
			}
			got, err := Parse("roundtrip.yaml", out)
			if err != nil {
				t.Fatalf("Parse(Marshal(s)): %v\n%s", err, out)
			}
			if diff := cmp.Diff(tc.s, got, snapshotOpts); diff != "" {
				t.Errorf("Parse(Marshal(s)) differs (-want +got):\n%s\nfile:\n%s", diff, out)
			}
			if want := tc.s.Resolved; want != nil && got.Resolved != nil &&
				len(got.Resolved.Rules) == len(want.Rules) && len(got.Resolved.Routes) == len(want.Routes) {
				for i := range want.Rules {
					if !netcfg.RuleEqual(&want.Rules[i], &got.Resolved.Rules[i]) {
						t.Errorf("resolved rule %d: not RuleEqual:\n%s\n%s", i, netcfg.RuleString(&want.Rules[i]), netcfg.RuleString(&got.Resolved.Rules[i]))
					}
				}
				for i := range want.Routes {
					if !netcfg.RouteEqual(&want.Routes[i], &got.Resolved.Routes[i]) {
						t.Errorf("resolved route %d: not RouteEqual:\n%s\n%s", i, netcfg.RouteString(&want.Routes[i]), netcfg.RouteString(&got.Resolved.Routes[i]))
					}
				}
			}
			again, err := Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out, again) {
				t.Errorf("Marshal is not stable:\n%s\n----\n%s", out, again)
			}
			if tc.golden == "" {
				return
			}
			path := filepath.Join("testdata", "files", "good", tc.golden)
			if *update {
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), string(out)); diff != "" {
				t.Errorf("Marshal output differs from %s (-want +got; run with -update after checking it):\n%s", path, diff)
			}
		})
	}
}
