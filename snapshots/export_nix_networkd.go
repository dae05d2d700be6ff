package snapshots

import (
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// checkTableNames refuses names a networkd configuration cannot carry:
// NixOS writes routeTables as RouteTable=NAME:ID, a list networkd splits on
// spaces and unquotes, so a colon, a quote or a backslash would change the
// name.
func checkTableNames(names []netcfg.TableName, networkd bool) error {
	for _, t := range names {
		if !netcfg.ValidTableName(t.Name) {
			return exportErrf("table %d has the name %q, which iproute2 cannot use (damaged snapshot?)", t.ID, netcfg.SafeText(t.Name))
		}
		if networkd && strings.ContainsAny(t.Name, ":\"'\\") {
			return exportErrf("table %d has the name %q; systemd-networkd's RouteTable= cannot carry a name with ':', quotes or backslashes (the scripted flavour can)", t.ID, netcfg.SafeText(t.Name))
		}
	}
	return nil
}

func writeNetworkdModule(w *nixWriter, s *Snapshot, o NixOptions) error {
	legacy := o.NixOS.before(flatSince)
	names := sortedNames(s)
	if err := checkTableNames(names, true); err != nil {
		return err
	}
	nics, err := placeAll(s, o.Units)
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
	w.comment("It assumes networkd manages these NICs (networking.useNetworkd = true")
	w.comment("or systemd.network.enable = true).")
	w.comment("")
	prefix := o.Units.Prefix
	if prefix == "" {
		prefix = DefaultUnitPrefix
	}
	w.comment(wrapComment(`Each NIC's rules and routes go on a networkd unit named "` + nixComment(prefix) +
		`" and the NIC's name (unless --unit named it), so they merge with what the configuration already says for that NIC: under networking.useNetworkd, NixOS names a NIC's unit "40-" and its name. networkd applies only the first .network unit, in name order, that matches a NIC, so a unit of another name would be ignored: if the configuration names its units otherwise, export again with --unit-prefix PREFIX or --unit NIC=UNIT.`)...)
	w.comment("")
	w.comment(wrapComment("networkd deletes routing policy rules it did not create whenever it configures a link, unless ManageForeignRoutingPolicyRules is off. This module turns it off, so rules nictab or anyone else adds live survive the next link change. networkd installs the rules and routes below with its own protocol (static), so nictab shows them as not its own.")...)
	w.line("{ ... }:")
	w.line("")
	w.open("{")
	w.line("systemd.network.config.networkConfig.ManageForeignRoutingPolicyRules = false;")
	if len(names) > 0 {
		w.line("")
		w.open("systemd.network.config.routeTables = {")
		for _, t := range names {
			w.line(w.attr("table name", t.Name) + " = " + nixInt(t.ID) + ";")
		}
		w.close("};")
	}
	for _, c := range nics {
		if err := writeNetworkdUnit(w, c, o.Units, legacy); err != nil {
			return err
		}
	}
	w.close("}")
	return nil
}

// writeNetworkdUnit writes one systemd.network.networks entry. The unit
// matches its NIC by name: the same value the person's own unit for the
// NIC has, so the two definitions merge.
func writeNetworkdUnit(w *nixWriter, c *nicConfig, u UnitNames, legacy bool) error {
	if err := checkNetworkdIfName("NIC", c.NIC); err != nil {
		return err
	}
	unit := u.Unit(c.NIC)
	if err := checkUnitName(unit, c.NIC); err != nil {
		return err
	}
	w.line("")
	w.open("systemd.network.networks." + w.attr("unit name", unit) + " = {")
	w.line("matchConfig.Name = " + w.str("NIC name", c.NIC) + ";")
	if len(c.Rules) > 0 {
		w.open("routingPolicyRules = [")
		for _, r := range c.Rules {
			fs, err := ruleSection(&r.Rule, legacy)
			if err != nil {
				return err
			}
			if r.Loose {
				w.comment("Tied to no NIC; this unit carries it (--rules-nic picks another).")
			}
			w.line(nixSection(w, fs, legacy, "routingPolicyRuleConfig"))
		}
		w.close("];")
	}
	if len(c.Routes) > 0 {
		w.open("routes = [")
		for _, r := range c.Routes {
			fs, err := routeSection(&r.Route)
			if err != nil {
				return err
			}
			if r.Loose {
				w.comment("Tied to no NIC; this unit carries it (--rules-nic picks another).")
			}
			w.line(nixSection(w, fs, legacy, "routeConfig"))
		}
		w.close("];")
	}
	w.close("};")
	return nil
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
