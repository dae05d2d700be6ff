package snapshots

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// scriptedSafeName reports whether classic NixOS networking can take an
// interface name in networking.interfaces.
//
// NOTE: that module pastes the name unescaped between double quotes in the
// shell script of network-addresses-NAME.service, and into the unit's name,
// where '@' would make it a template. A name with `$`, a quote or a
// backquote would run as shell code there, whatever the Nix escaping; the
// routes of such a NIC are carried as shell-quoted commands in
// networking.localCommands instead.
func scriptedSafeName(name string) bool {
	if name == "" || len(name) > 15 {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// scriptedRoute reports whether networking.interfaces.<nic>.ipv4.routes
// can hold the route: one device, a type the option's enum has, and
// nothing that is a flag rather than a "name value" option.
func scriptedRoute(r *netcfg.Route) bool {
	if r.Dev == "" || !scriptedSafeName(r.Dev) || len(r.MultiPath) > 0 || r.Onlink {
		return false
	}
	switch r.Type {
	case netcfg.RouteUnicast, netcfg.RouteUnspec, netcfg.RouteLocal, netcfg.RouteBroadcast, netcfg.RouteMulticast:
		return true
	}
	return false
}

// scriptedRouteEntry renders a route as an element of
// networking.interfaces.<nic>.ipvN.routes. Option values are pasted
// unquoted into a shell command by NixOS, so only values that are numbers,
// addresses or scope names go there, never host text.
func scriptedRouteEntry(w *nixWriter, r *netcfg.Route) string {
	kvs := []kv{
		{"address", w.str("address", r.Dst.Addr().String())},
		{"prefixLength", nixInt(r.Dst.Bits())},
	}
	if r.Gw.IsValid() {
		kvs = append(kvs, kv{"via", w.str("gateway", r.Gw.String())})
	}
	if r.Type == netcfg.RouteLocal || r.Type == netcfg.RouteBroadcast || r.Type == netcfg.RouteMulticast {
		kvs = append(kvs, kv{"type", w.str("type", r.Type.String())})
	}
	// In the order Nix sorts them, which is the order NixOS pastes them.
	var opts []kv
	if needMetric(r) {
		opts = append(opts, kv{"metric", w.str("metric", strconv.FormatUint(uint64(r.Metric), 10))})
	}
	if needScope(r) {
		opts = append(opts, kv{"scope", w.str("scope", r.Scope.String())})
	}
	if r.Src.IsValid() {
		opts = append(opts, kv{"src", w.str("source", r.Src.String())})
	}
	opts = append(opts, kv{"table", w.str("table", strconv.FormatUint(uint64(r.Table), 10))})
	if r.Tos != 0 {
		opts = append(opts, kv{"tos", w.str("tos", "0x"+strconv.FormatUint(uint64(r.Tos), 16))})
	}
	kvs = append(kvs, kv{"options", inline(opts)})
	return inline(kvs)
}

// staticRoute and staticRule are the snapshot's entries as the NixOS
// configuration installs them: with protocol static, as NixOS installs its
// own routes, so nictab does not take them for what it applied itself.
func staticRoute(r netcfg.Route) netcfg.Route {
	r.Proto = netcfg.ProtoStatic
	return r
}

// ruleCommands are the idempotent shell lines that put rule r in place:
// every copy is deleted first (the loop ends when none is left), then one
// is added, so running them again, at every rebuild or boot, changes
// nothing.
func ruleCommands(r netcfg.Rule) []string {
	r.Proto = netcfg.ProtoStatic
	del := netcfg.RuleCommand("del", &r)
	return []string{
		"while " + scriptLine(del) + " 2>/dev/null; do :; done",
		scriptLine(netcfg.RuleCommand("add", &r)),
	}
}

func writeScriptedModule(w *nixWriter, s *Snapshot, o NixOptions) error {
	names := sortedNames(s)
	if err := checkTableNames(names, false); err != nil {
		return err
	}
	type ifRoutes struct {
		nic string
		fam netcfg.Family
		rs  []netcfg.Route
	}
	var ifs []*ifRoutes
	var commands []string
	var unsafe []string
	routes := slices.Clone(s.Resolved.Routes)
	slices.SortStableFunc(routes, func(a, b netcfg.Route) int { return compareRoutesForOutput(&a, &b) })
	for _, r := range routes {
		if !scriptedRoute(&r) {
			if r.Dev != "" && !scriptedSafeName(r.Dev) && !slices.Contains(unsafe, r.Dev) {
				unsafe = append(unsafe, r.Dev)
			}
			sr := staticRoute(r)
			commands = append(commands, scriptLine(netcfg.RouteCommand("replace", &sr)))
			continue
		}
		i := slices.IndexFunc(ifs, func(x *ifRoutes) bool { return x.nic == r.Dev && x.fam == r.Family() })
		if i < 0 {
			ifs = append(ifs, &ifRoutes{nic: r.Dev, fam: r.Family()})
			i = len(ifs) - 1
		}
		ifs[i].rs = append(ifs[i].rs, r)
	}
	slices.SortStableFunc(ifs, func(a, b *ifRoutes) int {
		return cmp.Or(cmp.Compare(a.nic, b.nic), cmp.Compare(a.fam, b.fam))
	})
	rules := slices.Clone(s.Resolved.Rules)
	slices.SortStableFunc(rules, func(a, b netcfg.Rule) int { return netcfg.CompareRules(&a, &b) })
	var ruleLines []string
	for _, r := range rules {
		ruleLines = append(ruleLines, ruleCommands(r)...)
	}
	// Routes first: no rule may send traffic to a table still empty.
	commands = append(commands, ruleLines...)
	slices.Sort(unsafe)

	w.comment(header(s, "NixOS module", o.Version)...)
	w.comment("")
	w.comment("Import it from configuration.nix:  imports = [ ./nictab.nix ];")
	w.comment("Flavour: classic NixOS networking (networking.interfaces, scripted).")
	w.comment("")
	w.comment(wrapComment("Routes go in networking.interfaces.NIC.ipv4.routes and ipv6.routes. The classic module has no option for rules, so they are commands in networking.localCommands, each deleted before it is added so a rebuild does not stack copies; a rule left out of a later export stays until reboot or until deleted by hand. NixOS installs all of it with protocol static, so nictab shows it as not its own. systemd-networkd (--flavor networkd) has options for rules and keeps them across link changes.")...)
	if len(unsafe) > 0 {
		for i := range unsafe {
			unsafe[i] = nixComment(unsafe[i])
		}
		w.comment("")
		w.comment(wrapComment("The routes of " + strings.Join(unsafe, ", ") + " are commands in networking.localCommands too: the classic module puts interface names into shell scripts and unit names unescaped, so only names of letters, digits, '.', '_' and '-' are safe there.")...)
	}
	w.line("{ ... }:")
	w.line("")
	w.open("{")
	if len(names) > 0 {
		var b strings.Builder
		for i, t := range names {
			if i > 0 {
				b.WriteByte('\n')
			}
			b.WriteString(strconv.FormatUint(uint64(t.ID), 10) + " " + t.Name)
		}
		w.line("networking.iproute2.enable = true;")
		w.line("networking.iproute2.rttablesExtraConfig = " + w.str("table names", b.String()) + ";")
	}
	for _, x := range ifs {
		w.line("")
		w.open("networking.interfaces." + w.attr("NIC name", x.nic) + ".ipv" + map[netcfg.Family]string{netcfg.V4: "4", netcfg.V6: "6"}[x.fam] + ".routes = [")
		for i := range x.rs {
			w.line(scriptedRouteEntry(w, &x.rs[i]))
		}
		w.close("];")
	}
	if len(commands) > 0 {
		w.line("")
		w.open("networking.localCommands =")
		for i, c := range commands {
			lead := "+ "
			if i == 0 {
				lead = ""
			}
			end := ""
			if i == len(commands)-1 {
				end = ";"
			}
			w.line(lead + w.str("command", c+"\n") + end)
		}
		w.depth--
	}
	w.close("}")
	return nil
}
