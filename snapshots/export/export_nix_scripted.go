package export

import (
	"slices"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// scriptedSafeName reports whether classic NixOS networking can have a
// unit network-addresses-NAME.service for the interface, which the
// service is then ordered after.
//
// NOTE: that module pastes the name unescaped into the unit's name, where
// '@' would make it a template, and between double quotes in its shell
// script, where `$` or a quote would run as code. The service's own
// commands shell-quote every name, so any NIC is carried; one without a
// safe name is ordered by the service's wait alone.
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

// staticRoute is a snapshot route as the NixOS configuration installs
// it: with protocol static, as NixOS installs its own routes, so nictab
// does not take it for what it applied itself.
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
	del := scriptLine(netcfg.RuleCommand("del", &r))
	return []string{
		"while " + del + " 2>/dev/null; do :; done",
		scriptLine(netcfg.RuleCommand("add", &r)),
	}
}

// ScriptedUnit is the systemd service the scripted flavour defines.
const ScriptedUnit = "nictab-policy-routing"

// scriptedWait is how long the service waits, in all, for the addresses
// its routes use to be there and out of duplicate address detection.
const scriptedWait = 60

// usedAddr is a local address a route needs before the kernel takes it.
type usedAddr struct {
	dev  string
	addr string
}

// neededAddrs lists the addresses the routes name as preferred source,
// on their device, once each, in the routes' order.
func neededAddrs(routes []netcfg.Route) []usedAddr {
	var out []usedAddr
	for _, r := range routes {
		if !r.Src.IsValid() || r.Dev == "" {
			continue
		}
		u := usedAddr{dev: r.Dev, addr: r.Src.String()}
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// scriptedScript is the shell script of the service: a bounded wait for
// the addresses, then every route (replace: idempotent) and every rule
// (all copies deleted, one added), each failure counted rather than
// ending the run, so one missing address costs only what needs it.
func scriptedScript(routes []netcfg.Route, rules []netcfg.Rule) []string {
	wait := strconv.Itoa(scriptedWait)
	lines := []string{
		"# Routes with a preferred source fail while their address is missing",
		"# or in duplicate address detection; wait for each, " + wait + " s in all.",
		"deadline=$(( $(date +%s) + " + wait + " ))",
		"failed=0",
		"nictab_wait() {",
		`  while [ -z "$(ip -o addr show dev "$1" to "$2" -tentative -dadfailed 2>/dev/null)" ]; do`,
		`    if [ "$(date +%s)" -ge "$deadline" ]; then`,
		`      echo "nictab: address $2 is not usable on $1 after ` + wait + ` s (missing, or still in duplicate address detection); routes that use it fail below" >&2`,
		"      return 1",
		"    fi",
		"    sleep 0.2",
		"  done",
		"}",
	}
	for _, a := range neededAddrs(routes) {
		lines = append(lines, scriptLine("nictab_wait "+netcfg.ShellQuote(a.dev)+" "+a.addr)+" || failed=$((failed + 1))")
	}
	lines = append(lines, "# Routes first: no rule may send traffic to a table still empty.")
	for _, r := range routes {
		sr := staticRoute(r)
		lines = append(lines, scriptLine(netcfg.RouteCommand("replace", &sr))+" || failed=$((failed + 1))")
	}
	for _, r := range rules {
		c := ruleCommands(r)
		lines = append(lines, c[0], c[1]+" || failed=$((failed + 1))")
	}
	lines = append(lines,
		`if [ "$failed" -ne 0 ]; then`,
		`  echo "nictab: $failed of the waits, routes and rules above failed; the rest is in place" >&2`,
		"  exit 1",
		"fi",
	)
	return lines
}

func writeScriptedModule(w *nixWriter, s *format.Snapshot, o NixOptions) error {
	names := sortedNames(s)
	if err := checkTableNames(names, false); err != nil {
		return err
	}
	routes := slices.Clone(s.Resolved.Routes)
	slices.SortStableFunc(routes, func(a, b netcfg.Route) int { return compareRoutesForOutput(&a, &b) })
	rules := slices.Clone(s.Resolved.Rules)
	slices.SortStableFunc(rules, func(a, b netcfg.Rule) int { return netcfg.CompareRules(&a, &b) })
	for _, r := range routes {
		if strings.ContainsRune(netcfg.RouteString(&r), 0) {
			return exportErrf("%s names an interface with a NUL byte (damaged snapshot?)", routeText(&r))
		}
	}
	// The service runs after the address units of the NICs whose names
	// NixOS can put in a unit name; for the others, the wait is what
	// orders it.
	after := []string{"network-setup.service", "network-local-commands.service", "dhcpcd.service"}
	var nics []string
	for _, r := range routes {
		if r.Dev != "" && !slices.Contains(nics, r.Dev) {
			nics = append(nics, r.Dev)
		}
	}
	slices.Sort(nics)
	for _, n := range nics {
		if scriptedSafeName(n) {
			after = append(after, "network-addresses-"+n+".service")
		}
	}

	w.comment(header(s, "NixOS module", o.Version)...)
	w.comment("")
	w.comment("Import it from configuration.nix:  imports = [ ./nictab.nix ];")
	w.comment("Flavour: classic NixOS networking (scripted).")
	w.comment("")
	w.comment(wrapComment("The routes and rules are installed by the service " + ScriptedUnit + ", ordered after the units that add the NICs' addresses (network-addresses-NIC, dhcpcd), and it waits up to " + strconv.Itoa(scriptedWait) + " s for every address a route uses as its source to be there and past duplicate address detection: routes with a source fail before that (\"Invalid prefsrc address\"). It does not use networking.interfaces.NIC.ipv4.routes: NixOS adds those right after the addresses, before a DHCP or SLAAC address exists, and deletes them on stop with `ip route del PREFIX dev NIC`, without a table, which deletes main's routes through the NIC. Its stop step deletes nothing; a route or rule left out of a later export stays until reboot or until deleted by hand. Running it again changes nothing: routes are replaced, and every copy of a rule is deleted before it is added.")...)
	w.comment("")
	w.comment(wrapComment("The host's configuration keeps the NICs' addresses (networking.interfaces.NIC.ipv4.addresses, DHCP). NixOS installs all of this with protocol static, so nictab shows it as not its own. systemd-networkd (--flavor networkd) has options for rules and keeps them across link changes.")...)
	w.line("{ pkgs, ... }:")
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
		w.line("")
	}
	w.open("systemd.services." + ScriptedUnit + " = {")
	desc := "Policy routing from nictab"
	if s.Meta != nil && s.Meta.ID != "" {
		desc += " snapshot " + s.Meta.ID
	}
	w.line("description = " + w.str("description", readable(desc)) + ";")
	w.line("wantedBy = [ \"multi-user.target\" ];")
	w.line("before = [ \"network-online.target\" ];")
	var quoted []string
	for _, a := range after {
		quoted = append(quoted, w.str("unit", a))
	}
	w.line("after = [ " + strings.Join(quoted, " ") + " ];")
	w.line("path = [ pkgs.iproute2 pkgs.coreutils ];")
	w.line("serviceConfig.Type = \"oneshot\";")
	w.line("serviceConfig.RemainAfterExit = true;")
	w.open("script =")
	lines := scriptedScript(routes, rules)
	for i, c := range lines {
		lead := "+ "
		if i == 0 {
			lead = ""
		}
		end := ""
		if i == len(lines)-1 {
			end = ";"
		}
		w.line(lead + w.str("command", c+"\n") + end)
	}
	w.depth--
	w.close("};")
	w.close("}")
	return nil
}
