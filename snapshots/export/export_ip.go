package export

import (
	"slices"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// IPOptions shapes the shell script export.
type IPOptions struct {
	Version string
	// Netns is the named network namespace the script acts on ("" for
	// the host's own): its ip commands carry -n NAME, and its table names
	// go to /etc/netns/NAME/iproute2, where `ip -n NAME` reads them.
	Netns string
}

// ipIn is netcfg.CommandIn: an ip command for a namespace.
func ipIn(netns, cmd string) string { return netcfg.CommandIn(netns, cmd) }

// IP turns a saved snapshot into a POSIX shell script of `ip`
// commands that recreates its rules, routes and table names, exactly as
// nictab applied them (protocol included, so nictab owns them afterwards).
// Running it again changes nothing: routes are replaced, and each rule is
// deleted, however many copies exist, before it is added once.
//
// It only adds: rules and routes added since the snapshot stay. Routes come
// before rules, so no rule ever sends traffic to a table still empty.
func IP(s *format.Snapshot, o IPOptions) (string, error) {
	if err := checkExportable(s); err != nil {
		return "", err
	}
	if err := checkAttrsCarried(s, "ip"); err != nil {
		return "", err
	}
	names := sortedNames(s)
	if err := checkTableNames(names, false); err != nil {
		return "", err
	}
	rules := slices.Clone(s.Resolved.Rules)
	slices.SortStableFunc(rules, func(a, b netcfg.Rule) int { return netcfg.CompareRules(&a, &b) })
	routes := slices.Clone(s.Resolved.Routes)
	slices.SortStableFunc(routes, func(a, b netcfg.Route) int { return compareRoutesForOutput(&a, &b) })
	for _, r := range rules {
		if strings.ContainsRune(r.IIF+r.OIF, 0) {
			return "", exportErrf("%s names an interface with a NUL byte (damaged snapshot?)", ruleText(&r))
		}
	}
	for _, r := range routes {
		if strings.ContainsRune(netcfg.RouteString(&r), 0) {
			return "", exportErrf("%s names an interface with a NUL byte (damaged snapshot?)", routeText(&r))
		}
	}

	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	unitComment(&b, header(s, "Shell script", o.Version))
	unitComment(&b, []string{""})
	unitComment(&b, wrapComment("It recreates the snapshot's rules, routes and table names with ip, as nictab applied them, so nictab owns them afterwards. Run it as root; run it again and nothing changes. It only adds: rules and routes added since the snapshot stay (nictab rollback removes them). Table names go to $IPROUTE2_DIR/rt_tables.d/nictab.conf, /etc/iproute2 unless IPROUTE2_DIR says otherwise."))
	b.WriteString("set -eu\n")
	if o.Netns != "" {
		b.WriteString("# For network namespace " + nixComment(o.Netns) + ": ip -n acts there, and ip -n reads names from /etc/netns/NAME/iproute2.\n")
		b.WriteString(`IPROUTE2_DIR=${IPROUTE2_DIR:-/etc/netns/` + netcfg.ShellQuote(o.Netns) + `/iproute2}` + "\n")
	} else {
		b.WriteString(`IPROUTE2_DIR=${IPROUTE2_DIR:-/etc/iproute2}` + "\n")
	}

	b.WriteString("\n# Names of the tables, and of nictab's routing protocol.\n")
	b.WriteString("nictab_names() {\n")
	b.WriteString("\tmkdir -p \"$IPROUTE2_DIR/rt_tables.d\" \"$IPROUTE2_DIR/rt_protos.d\" &&\n")
	if len(names) > 0 {
		b.WriteString("\tprintf '%s\\n' '# Routing table names managed by nictab.'")
		for _, t := range names {
			b.WriteString(" " + netcfg.ShellQuote(strconv.FormatUint(uint64(t.ID), 10)+"\t"+t.Name))
		}
		b.WriteString(" >\"$IPROUTE2_DIR/rt_tables.d/nictab.conf\" &&\n")
	} else {
		b.WriteString("\trm -f \"$IPROUTE2_DIR/rt_tables.d/nictab.conf\" &&\n")
	}
	b.WriteString("\tprintf '%s\\n' '# The routing protocol number of rules and routes nictab installs.' '" + strconv.Itoa(int(netcfg.ProtoNictab)) + "\tnictab' >\"$IPROUTE2_DIR/rt_protos.d/nictab.conf\"\n")
	b.WriteString("}\n")
	b.WriteString("if ! nictab_names 2>/dev/null; then\n")
	b.WriteString("\techo \"nictab: cannot write the table names under $IPROUTE2_DIR (read-only, as on NixOS?); rules and routes use numbers and work without them\" >&2\n")
	b.WriteString("fi\n")

	if len(routes) > 0 {
		b.WriteString("\n# Routes.\n")
		for _, r := range routes {
			b.WriteString(scriptLine(ipIn(o.Netns, netcfg.RouteCommand("replace", &r))) + "\n")
		}
	}
	if len(rules) > 0 {
		b.WriteString("\n# Rules: every copy deleted, then one added.\n")
		for _, r := range rules {
			b.WriteString("while " + scriptLine(ipIn(o.Netns, netcfg.RuleCommand("del", &r))) + " 2>/dev/null; do :; done\n")
			b.WriteString(scriptLine(ipIn(o.Netns, netcfg.RuleCommand("add", &r))) + "\n")
		}
	}
	return b.String(), nil
}
