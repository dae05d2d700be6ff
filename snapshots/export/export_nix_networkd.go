package export

import (
	"strings"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// checkTableNames refuses names a networkd configuration cannot carry:
// NixOS writes routeTables as RouteTable=NAME:ID, a list networkd splits on
// spaces and unquotes, so a colon, a quote or a backslash would change the
// name.
func checkTableNames(names []netcfg.TableName, networkd bool) error {
	for _, t := range names {
		if !netcfg.ValidTableName(t.Name) {
			return exportErrf("table %d has the name %s, which iproute2 cannot use (damaged snapshot?)", t.ID, quoteText(t.Name))
		}
		if networkd && strings.ContainsAny(t.Name, ":\"'\\") {
			return exportErrf("table %d has the name %s; systemd-networkd's RouteTable= cannot carry a name with ':', quotes or backslashes (the scripted flavour can, or rename the table)", t.ID, quoteText(t.Name))
		}
	}
	return nil
}

func writeNetworkdModule(w *nixWriter, s *format.Snapshot, o NixOptions) error {
	legacy := o.NixOS.before(flatSince)
	names := sortedNames(s)
	if err := checkTableNames(names, true); err != nil {
		return err
	}
	units, err := buildUnits(s, o.Units, legacy, true)
	if err != nil {
		return err
	}
	layout := "flat rule and route sections, NixOS 24.11 and later"
	if legacy {
		layout = "rules and routes wrapped in routingPolicyRuleConfig and routeConfig, NixOS 24.05 and earlier"
	}
	w.comment(header(s, "NixOS module", o.Version)...)
	w.comment("")
	w.comment("Import it from configuration.nix:  imports = [ ./nictab.nix ];")
	w.comment("Flavour: systemd-networkd, layout of NixOS " + o.NixOS.String() + " (" + layout + ").")
	w.comment("")
	w.comment(wrapComment("It enables systemd-networkd (systemd.network.enable, with lib.mkDefault so the configuration's own choice wins): the rules, the routes and the table names, which NixOS puts in rt_tables through networkd's routeTables, take effect only under networkd. On a host that keeps classic networking, networkd then configures these NICs beside it; the scripted flavour (--flavor scripted) suits such a host.")...)
	w.comment("")
	w.comment(wrapComment(unitsHeader(o.Units, true))...)
	w.comment("")
	w.comment(wrapComment("networkd deletes routing policy rules it did not create whenever it configures a link, unless ManageForeignRoutingPolicyRules is off. This module turns it off, so rules nictab or anyone else adds live survive the next link change. networkd installs the rules and routes below with its own protocol (static), so nictab shows them as not its own.")...)
	w.line("{ lib, ... }:")
	w.line("")
	w.open("{")
	w.line("systemd.network.enable = lib.mkDefault true;")
	w.line("systemd.network.config.networkConfig.ManageForeignRoutingPolicyRules = false;")
	if len(names) > 0 {
		w.line("")
		w.open("systemd.network.config.routeTables = {")
		for _, t := range names {
			w.line(w.attr("table name", t.Name) + " = " + nixInt(t.ID) + ";")
		}
		w.close("};")
	}
	for i := range units {
		writeNetworkdUnit(w, &units[i], legacy)
	}
	w.close("}")
	return nil
}

// writeNetworkdUnit writes one systemd.network.networks entry. It matches
// its NIC by the NIC's real name, whatever the unit is called.
func writeNetworkdUnit(w *nixWriter, u *ndUnit, legacy bool) {
	w.line("")
	w.open("systemd.network.networks." + w.attr("unit name", u.Name) + " = {")
	w.line("matchConfig.Name = " + w.str("NIC name", u.NIC) + ";")
	if u.Addr != nil {
		n := addrNetwork(u.Addr)
		w.comment(wrapComment("Addressing of " + nixComment(u.NIC) + " as nictab saw it: " + addrDescribe(u.Addr) + ".")...)
		var addrs []string
		for _, a := range n.Address {
			addrs = append(addrs, w.str("address", a))
		}
		list := "[ ]"
		if len(addrs) > 0 {
			list = "[ " + strings.Join(addrs, " ") + " ]"
		}
		w.line("address = lib.mkDefault " + list + ";")
		// The unit's own DHCP option, the one NixOS sets from
		// networking.interfaces, so the configuration's value wins.
		if n.DHCP != "" {
			w.line("DHCP = lib.mkDefault " + w.str("DHCP", n.DHCP) + ";")
		}
		if n.AcceptRA {
			w.line("networkConfig.IPv6AcceptRA = lib.mkDefault true;")
		}
	}
	for _, list := range []struct {
		key, wrapper string
		entries      []ndEntry
	}{{"routingPolicyRules", "routingPolicyRuleConfig", u.Rules}, {"routes", "routeConfig", u.Routes}} {
		if len(list.entries) == 0 {
			continue
		}
		w.open(list.key + " = [")
		for _, e := range list.entries {
			if e.Loose {
				w.comment("Tied to no NIC; this unit carries it (--rules-nic picks another).")
			}
			w.line(nixSection(w, e.Fields, legacy, list.wrapper))
		}
		w.close("];")
	}
	w.close("};")
}

// nixSection renders one section as a list element, wrapped in wrapper
// for the legacy layout.
func nixSection(w *nixWriter, fs []ndField, legacy bool, wrapper string) string {
	kvs := make([]kv, 0, len(fs))
	for _, f := range fs {
		kvs = append(kvs, kv{f.Key, f.nixText(w)})
	}
	s := inline(kvs)
	if legacy {
		return inline([]kv{{wrapper, s}})
	}
	return s
}
