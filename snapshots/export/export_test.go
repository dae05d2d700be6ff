package export

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// exportAll runs every exporter on s and returns their errors by name.
func exportAll(s *format.Snapshot) map[string]error {
	_, nd := Nix(s, NixOptions{Flavor: FlavorNetworkd})
	_, nd05 := Nix(s, NixOptions{Flavor: FlavorNetworkd, NixOS: release2405})
	_, sc := Nix(s, NixOptions{Flavor: FlavorScripted})
	_, files := Networkd(s, NetworkdOptions{})
	_, ip := IP(s, IPOptions{})
	return map[string]error{"networkd": nd, "networkd-24.05": nd05, "scripted": sc, "files": files, "ip": ip}
}

func TestExportRefusesUnresolved(t *testing.T) {
	s := &format.Snapshot{Version: format.Version, Intent: netcfg.Intent{NICs: []netcfg.NICIntent{{Name: "eno1", Table: netcfg.TableRef{ID: 13}}}}}
	for name, err := range exportAll(s) {
		var ee *Error
		if !errors.As(err, &ee) || !strings.Contains(err.Error(), "no resolved rules") {
			t.Errorf("%s: exporting an intent-only file gave %v, want an *export.Error saying it holds nothing resolved", name, err)
		}
	}
	if _, err := Nix(nil, NixOptions{}); err == nil {
		t.Error("exporting nil succeeded")
	}
}

// withRule returns the sandbox snapshot plus one rule.
func withRule(t *testing.T, r netcfg.Rule) *format.Snapshot {
	s := sandboxSnapshot(t)
	s.Resolved.Rules = append(s.Resolved.Rules, r)
	return s
}

func withRoute(t *testing.T, r netcfg.Route) *format.Snapshot {
	s := sandboxSnapshot(t)
	s.Resolved.Routes = append(s.Resolved.Routes, r)
	return s
}

func rule(f func(*netcfg.Rule)) netcfg.Rule {
	r := netcfg.NewRule()
	r.Family, r.Priority, r.Table, r.Proto = netcfg.V4, 1500, 13, netcfg.ProtoNictab
	f(&r)
	return r
}

// TestExportRefusesWhatAFlavourCannotSay: each case names the exporters
// that must refuse, with a message naming the value; every other exporter
// must carry it.
func TestExportRefusesWhatAFlavourCannotSay(t *testing.T) {
	v4 := netip.MustParsePrefix
	for _, c := range []struct {
		name    string
		snap    func(*testing.T) *format.Snapshot
		refuse  []string
		mention string
	}{
		{"goto rule", func(t *testing.T) *format.Snapshot {
			return withRule(t, rule(func(r *netcfg.Rule) { r.Action, r.Goto, r.Table = netcfg.ActionGoto, 2000, 0 }))
		}, []string{"networkd", "networkd-24.05", "files"}, "goto"},
		{"l3mdev rule", func(t *testing.T) *format.Snapshot {
			return withRule(t, rule(func(r *netcfg.Rule) { r.L3MDev = true }))
		}, []string{"networkd", "networkd-24.05", "files"}, "l3mdev"},
		{"fwmark 0", func(t *testing.T) *format.Snapshot {
			return withRule(t, rule(func(r *netcfg.Rule) { r.Mark = &netcfg.FwMark{Value: 0, Mask: 0xffffffff} }))
		}, []string{"networkd", "networkd-24.05", "files"}, "fwmark 0"},
		{"fwmark with a mask", func(t *testing.T) *format.Snapshot {
			return withRule(t, rule(func(r *netcfg.Rule) { r.Mark = &netcfg.FwMark{Value: 0x13, Mask: 0xff} }))
		}, []string{"networkd-24.05"}, "fwmark 0x13/0xff"},
		{"port range", func(t *testing.T) *format.Snapshot {
			return withRule(t, rule(func(r *netcfg.Rule) { r.DPort = &netcfg.PortRange{Start: 1000, End: 2000} }))
		}, []string{"networkd-24.05"}, "dport 1000-2000"},
		{"multipath route", func(t *testing.T) *format.Snapshot {
			return withRoute(t, netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: v4("10.9.0.0/16"), Proto: netcfg.ProtoNictab,
				MultiPath: []netcfg.NextHop{{Gw: netip.MustParseAddr("192.168.10.1"), Dev: "eno1", Weight: 1}, {Gw: netip.MustParseAddr("192.168.20.1"), Dev: "enp2s0", Weight: 1}}})
		}, []string{"networkd", "networkd-24.05", "files"}, "nexthop"},
		{"route with TOS", func(t *testing.T) *format.Snapshot {
			return withRoute(t, netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: v4("10.9.0.0/16"), Gw: netip.MustParseAddr("192.168.10.1"), Dev: "eno1", Tos: 0x10, Proto: netcfg.ProtoNictab})
		}, []string{"networkd", "networkd-24.05", "files"}, "tos 0x10"},
		{"route off every NIC", func(t *testing.T) *format.Snapshot {
			return withRoute(t, netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: v4("10.9.0.0/16"), Gw: netip.MustParseAddr("10.1.1.1"), Proto: netcfg.ProtoNictab})
		}, []string{"networkd", "networkd-24.05", "files"}, "via 10.1.1.1"},
		{"NIC with a quote", func(t *testing.T) *format.Snapshot {
			return renameNIC(sandboxSnapshot(t), "eno1", `eth"0`)
		}, []string{"networkd", "networkd-24.05", "files"}, `eth"0`},
		{"NIC with a glob", func(t *testing.T) *format.Snapshot {
			return renameNIC(sandboxSnapshot(t), "eno1", "eno*")
		}, []string{"networkd", "networkd-24.05", "files"}, `eno*`},
		{"table name with a quote", hostileScriptedSnapshot, []string{"networkd", "networkd-24.05", "files"}, `builtins.abort`},
		{"iif rule, carried by all", func(t *testing.T) *format.Snapshot {
			return withRule(t, rule(func(r *netcfg.Rule) { r.IIF = "eno1" }))
		}, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			for name, err := range exportAll(c.snap(t)) {
				if !containsStr(c.refuse, name) {
					if err != nil {
						t.Errorf("%s: %v, want it carried", name, err)
					}
					continue
				}
				var ee *Error
				if !errors.As(err, &ee) {
					t.Errorf("%s: got %v, want a refusal", name, err)
					continue
				}
				if !strings.Contains(err.Error(), c.mention) {
					t.Errorf("%s: refusal %q does not name %q", name, err, c.mention)
				}
				// A person reads it on a terminal: no control character,
				// and no escape of one where the object has none.
				if msg := err.Error(); hasControl(msg) || strings.Contains(msg, `\t`) || strings.Contains(msg, `\\`) {
					t.Errorf("%s: refusal not readable as it is: %s", name, msg)
				}
			}
		})
	}
}

// renameNIC gives a NIC another name everywhere in the snapshot.
func renameNIC(s *format.Snapshot, from, to string) *format.Snapshot {
	for i := range s.Intent.NICs {
		if s.Intent.NICs[i].Name == from {
			s.Intent.NICs[i].Name = to
		}
	}
	for i := range s.Resolved.Routes {
		if s.Resolved.Routes[i].Dev == from {
			s.Resolved.Routes[i].Dev = to
		}
	}
	for i := range s.Meta.Addressing {
		if s.Meta.Addressing[i].NIC == from {
			s.Meta.Addressing[i].NIC = to
		}
	}
	return s
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestExportCarriesInScripted(t *testing.T) {
	s := withRoute(t, netcfg.Route{Table: 13, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("10.9.0.0/16"), Proto: netcfg.ProtoNictab,
		MultiPath: []netcfg.NextHop{{Gw: netip.MustParseAddr("192.168.10.1"), Dev: "eno1", Weight: 1}, {Gw: netip.MustParseAddr("192.168.20.1"), Dev: "enp2s0", Weight: 2}}})
	out, err := Nix(s, NixOptions{Flavor: FlavorScripted})
	if err != nil {
		t.Fatal(err)
	}
	want := `"ip route replace 10.9.0.0/16 table 13 proto 4 scope global nexthop via 192.168.10.1 dev eno1 weight 1 nexthop via 192.168.20.1 dev enp2s0 weight 2 || failed=`
	if !strings.Contains(out, want) {
		t.Errorf("the multipath route is not carried in the service's script as %s:\n%s", want, out)
	}
}

func TestExportUnitNames(t *testing.T) {
	u := UnitNames{Units: map[string]string{"eno1": "10-wan"}}
	if got := u.Unit("eno1"); got != "10-wan" {
		t.Errorf("Unit(eno1) = %q", got)
	}
	if got := u.Unit("enp2s0"); got != "40-enp2s0" {
		t.Errorf("Unit(enp2s0) = %q, want the default prefix", got)
	}
	for _, bad := range []string{"../x", "a/b", "", "..", "x\ny"} {
		_, err := Nix(sandboxSnapshot(t), NixOptions{Flavor: FlavorNetworkd, Units: UnitNames{Units: map[string]string{"eno1": bad}}})
		var ee *Error
		if !errors.As(err, &ee) {
			t.Errorf("unit name %q: got %v, want a refusal", bad, err)
		}
	}
}

// TestExportLooseRules: a rule tied to no NIC goes on the unit of the NIC
// whose table it looks up, on the one --rules-nic names, and is refused
// when the snapshot has no NIC at all.
func TestExportLooseRules(t *testing.T) {
	mark := rule(func(r *netcfg.Rule) { r.Mark = &netcfg.FwMark{Value: 7, Mask: 0xffffffff}; r.Table = 14 })
	s := withRule(t, mark)
	nics, err := placeAll(s, UnitNames{})
	if err != nil {
		t.Fatal(err)
	}
	if got := findRuleNIC(nics, mark); got != "enp2s0" {
		t.Errorf("fwmark rule looking up 14 went to %q, want enp2s0 (table 14's NIC)", got)
	}
	nics, err = placeAll(s, UnitNames{RulesNIC: "eno1"})
	if err != nil {
		t.Fatal(err)
	}
	if got := findRuleNIC(nics, mark); got != "eno1" {
		t.Errorf("with RulesNIC eno1 the rule went to %q", got)
	}
	bare := &format.Snapshot{Version: format.Version, Resolved: &netcfg.Owned{Rules: []netcfg.Rule{mark}}}
	if _, err := Nix(bare, NixOptions{Flavor: FlavorNetworkd}); err == nil || !strings.Contains(err.Error(), "--rules-nic") {
		t.Errorf("a loose rule and no NIC: got %v, want a refusal pointing at --rules-nic", err)
	}
	if _, err := Nix(bare, NixOptions{Flavor: FlavorScripted}); err != nil {
		t.Errorf("scripted needs no unit for rules, got %v", err)
	}
	// A rule from a whole prefix goes with the NIC on that prefix.
	pre := rule(func(r *netcfg.Rule) { r.From = netip.MustParsePrefix("192.168.20.0/24") })
	nics, err = placeAll(withRule(t, pre), UnitNames{})
	if err != nil {
		t.Fatal(err)
	}
	if got := findRuleNIC(nics, pre); got != "enp2s0" {
		t.Errorf("rule from 192.168.20.0/24 went to %q, want enp2s0", got)
	}
}

func findRuleNIC(nics []*nicConfig, r netcfg.Rule) string {
	for _, c := range nics {
		for _, x := range c.Rules {
			if netcfg.RuleEqual(&x.Rule, &r) {
				return c.NIC
			}
		}
	}
	return ""
}

func TestPickFlavorAndRelease(t *testing.T) {
	s := sandboxSnapshot(t)
	if f, _ := PickFlavor(s, ""); f != FlavorNetworkd {
		t.Errorf("a networkd host's snapshot defaults to %q", f)
	}
	s.Meta.Networkd = false
	if f, _ := PickFlavor(s, ""); f != FlavorScripted {
		t.Errorf("a scripted host's snapshot defaults to %q", f)
	}
	if f, _ := PickFlavor(&format.Snapshot{}, ""); f != FlavorScripted {
		t.Errorf("a snapshot without metadata defaults to %q", f)
	}
	if _, err := PickFlavor(s, "nm"); err == nil {
		t.Error("an unknown flavour was accepted")
	}
	for in, want := range map[string]NixOSRelease{"24.05": {24, 5}, "24.11": {24, 11}, "25.05": {25, 5}} {
		if got, err := ParseNixOSRelease(in); err != nil || got != want {
			t.Errorf("ParseNixOSRelease(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"24", "24.5", "24.13", "unstable", "24.05.1"} {
		if _, err := ParseNixOSRelease(bad); err == nil {
			t.Errorf("ParseNixOSRelease(%q) succeeded", bad)
		}
	}
}
