package export

import (
	"net/netip"
	"strings"

	"github.com/nictab/nictab/snapshots/format"
)

// ndUnit is one systemd-networkd unit of an export, the same for the NixOS
// module (systemd.network.networks) and the .network files of the
// networkd export, so both say exactly the same thing.
type ndUnit struct {
	// Name is the unit's name without ".network".
	Name string
	NIC  string
	// Addr is the addressing the unit carries; nil when the host's
	// configuration keeps it (merge and rules-only modes).
	Addr   *format.NICAddressing
	Rules  []ndEntry
	Routes []ndEntry
}

// ndEntry is one [RoutingPolicyRule] or [Route] section.
type ndEntry struct {
	Fields []ndField
	// Loose marks what is tied to no NIC and sits on this unit by choice.
	Loose bool
}

// ndNetwork is what a unit's [Network] section says about addressing.
type ndNetwork struct {
	Address  []string
	DHCP     string // "", "ipv4", "ipv6" or "yes"
	AcceptRA bool
}

// addrNetwork maps recorded addressing onto networkd's settings: fixed
// addresses as Address=, an IPv4 address the kernel will expire as DHCP,
// an IPv6 /128 that expires as DHCPv6 and any other as router
// advertisements (SLAAC).
func addrNetwork(a *format.NICAddressing) ndNetwork {
	var n ndNetwork
	for _, p := range a.Static {
		n.Address = append(n.Address, p.String())
	}
	var v4, v6 bool
	for _, p := range a.Dynamic {
		switch {
		case p.Addr().Is4():
			v4 = true
		case p.Bits() == 128:
			v6 = true
			n.AcceptRA = true
		default:
			n.AcceptRA = true
		}
	}
	switch {
	case v4 && v6:
		n.DHCP = "yes"
	case v4:
		n.DHCP = "ipv4"
	case v6:
		n.DHCP = "ipv6"
	}
	return n
}

// addrDescribe says in words what the addressing was.
func addrDescribe(a *format.NICAddressing) string {
	var parts []string
	if len(a.Static) > 0 {
		parts = append(parts, "static "+prefixList(a.Static))
	}
	if len(a.Dynamic) > 0 {
		parts = append(parts, "dynamic "+prefixList(a.Dynamic))
	}
	if len(parts) == 0 {
		return "no address besides IPv6 link-local"
	}
	return strings.Join(parts, "; ")
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// buildUnits places the snapshot's rules and routes on one unit per NIC,
// with the addressing when the mode carries it, and checks every name a
// unit holds.
func buildUnits(s *format.Snapshot, u UnitNames, legacy, nix bool) ([]ndUnit, error) {
	nics, err := placeAll(s, u)
	if err != nil {
		return nil, err
	}
	var out []ndUnit
	seen := map[string]string{}
	for _, c := range nics {
		if err := checkNetworkdIfName("NIC", c.NIC); err != nil {
			return nil, err
		}
		name := u.Unit(c.NIC)
		if err := checkUnitName(name, c.NIC, u, nix || u.Mode == UnitsOwn); err != nil {
			return nil, err
		}
		if other, dup := seen[name]; dup {
			return nil, exportErrf("NICs %s and %s would share the unit %s; networkd applies one unit per NIC, so name one of them with --unit NIC=UNIT", quoteText(other), quoteText(c.NIC), quoteText(name))
		}
		seen[name] = c.NIC
		un := ndUnit{Name: name, NIC: c.NIC}
		if _, named := u.Units[c.NIC]; u.Mode == UnitsOwn && !named {
			a, ok := s.Meta.AddressingFor(c.NIC)
			if !ok {
				return nil, exportErrf("the snapshot does not record how NIC %s was addressed (it was saved by an older nictab, or the NIC was missing), so a unit of nictab's own would leave it without an address; export with --rules-routes-only if the configuration gives %s its addresses on the unit %s, with --unit-prefix or --unit %s=UNIT to merge into the unit it has, or save a new snapshot with `nictab snapshot`", quoteText(c.NIC), quoteText(c.NIC), quoteText(name), readable(c.NIC))
			}
			un.Addr = &a
		}
		for _, r := range c.Rules {
			fs, err := ruleSection(&r.Rule, legacy)
			if err != nil {
				return nil, err
			}
			un.Rules = append(un.Rules, ndEntry{Fields: fs, Loose: r.Loose})
		}
		for _, r := range c.Routes {
			fs, err := routeSection(&r.Route)
			if err != nil {
				return nil, err
			}
			un.Routes = append(un.Routes, ndEntry{Fields: fs, Loose: r.Loose})
		}
		out = append(out, un)
	}
	return out, nil
}

// unitsHeader explains, for both networkd exports, what the units hold and
// why, in the mode chosen.
func unitsHeader(u UnitNames, nix bool) string {
	prefix := u.Prefix
	if prefix == "" {
		prefix = DefaultUnitPrefix
	}
	switch {
	case u.Mode == UnitsOwn && !nix:
		return `A unit of nictab's own, "` + readable(prefix) + `" and the NIC's name (characters a Nix store path cannot hold written as '_' with a hash after the name): it matches the NIC by its real name and carries the NIC's addressing as nictab saw it when the snapshot was saved (fixed addresses as Address=, a dynamic IPv4 address as DHCP, dynamic IPv6 addresses as DHCPv6 or IPv6AcceptRA), so it cannot leave the NIC without an address. networkd applies only the first .network unit, in name order, that matches a NIC: this one takes the NIC over from units whose names sort after it and is ignored after one that sorts before (networkctl status NIC shows the "Network File"). Without --whole-units, drop-ins extend the host's units instead.`
	case u.Mode == UnitsOwn:
		return `Units: each NIC gets the unit "` + readable(prefix) + `" and its name (a name with characters a Nix store path cannot hold is written with '_' and a hash; [Match] Name= has the real one). The unit carries the NIC's addressing as nictab saw it when the snapshot was saved: fixed addresses as address, a dynamic IPv4 address as DHCP, dynamic IPv6 addresses as DHCPv6 or IPv6AcceptRA (router advertisements). Why: networkd applies only the first .network unit, in name order, that matches a NIC, so a unit with rules and routes only would take the NIC's address away on a host whose configuration does not define that very unit (a DHCP laptop, NixOS's default DHCP unit). Under networking.useNetworkd NixOS names a NIC's unit "40-" and its name too; the two then merge, and the addressing here is set with lib.mkDefault so what the configuration says wins. A NIC whose unit --unit names gets rules and routes only, merged into that unit. If the configuration owns the addresses on units of these names, export with --rules-routes-only; to merge into units of other names, --unit-prefix PREFIX or --unit NIC=UNIT.`
	case u.Mode == UnitsMerge:
		return `Units: rules and routes go on the units the configuration already defines for the NICs ("` + readable(prefix) + `" and the NIC's name, or as --unit named them), so they merge with them, and the addressing stays with those units. networkd applies only the first .network unit, in name order, that matches a NIC: if no unit of that name configures the NIC, this one takes it over with no address. Check with networkctl status NIC ("Network File"); without --unit-prefix and --unit the export carries the addressing itself.`
	}
	return `Units: rules and routes only, on the units "` + readable(prefix) + `" and the NIC's name (--rules-routes-only): the configuration must give each NIC its addresses on a unit of exactly that name, or networkd, which applies only the first unit that matches a NIC, leaves the NIC without an address. Without --rules-routes-only the export carries the addressing nictab saw.`
}
