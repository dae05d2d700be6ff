package snapshots

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/nictab/nictab/netcfg"
)

// ExportError is a snapshot that cannot be exported, or a value in it that
// the chosen format has no way to say. Export refuses rather than drop it:
// a configuration that silently lacks a rule is worse than none.
type ExportError struct {
	Msg string
}

func (e *ExportError) Error() string { return e.Msg }

func exportErrf(format string, a ...any) error {
	return &ExportError{Msg: fmt.Sprintf(format, a...)}
}

// DefaultUnitPrefix is what NixOS puts before a NIC's name when
// networking.useNetworkd = true turns networking.interfaces into networkd
// units ("40-eno1"); a unit of the same name merges with the person's.
const DefaultUnitPrefix = "40-"

// UnitNames says which systemd-networkd unit carries each NIC's rules and
// routes.
type UnitNames struct {
	// Prefix goes before the NIC's name; empty means DefaultUnitPrefix.
	Prefix string
	// Units names the unit of a NIC outright, for configurations whose
	// units do not follow the prefix pattern.
	Units map[string]string
	// RulesNIC is the NIC whose unit carries rules and routes tied to no
	// NIC (a fwmark rule, a blackhole route). Empty: the NIC whose table
	// the rule looks up, else the first NIC by name.
	RulesNIC string
}

// Unit returns the unit name for nic.
func (u UnitNames) Unit(nic string) string {
	if n, ok := u.Units[nic]; ok {
		return n
	}
	p := u.Prefix
	if p == "" {
		p = DefaultUnitPrefix
	}
	return p + nic
}

// checkUnitName refuses unit names that would not stay one file in
// /etc/systemd/network: NixOS and the networkd export both make a path of
// them.
func checkUnitName(unit, nic string) error {
	if unit == "" || unit == "." || unit == ".." || strings.ContainsAny(unit, "/\\") || hasControl(unit) {
		return exportErrf("the unit name %q for NIC %s cannot be a file name in /etc/systemd/network (no /, \\ or control characters); name it with --unit %s=UNIT", netcfg.SafeText(unit), netcfg.SafeText(nic), netcfg.SafeText(nic))
	}
	return nil
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(c rune) bool { return c < 0x20 || c == 0x7f }) >= 0
}

// checkNetworkdIfName refuses interface names systemd will not take as
// they are in a unit. It accepts printable ASCII without ':', '/' and '%'
// (its ifname_valid), and a newline would start a new key of the unit
// file. Beyond that, [Match] Name= reads shell-style globs and unquotes
// its words, so '*', '?', '[', quotes and backslashes would make the unit
// match other NICs, or none.
func checkNetworkdIfName(field, name string) error {
	if name == "" || len(name) > 15 {
		return exportErrf("%s %q is not a valid interface name (1–15 bytes)", field, netcfg.SafeText(name))
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(":/%*?[\"'\\", c) >= 0 {
			return exportErrf("%s %q cannot be written for systemd-networkd: it reads interface names as printable ASCII without spaces, ':', '/' or '%%', and as globs that it unquotes, so '*', '?', '[', quotes and backslashes would change what matches; the scripted flavour or the ip export can carry it", field, netcfg.SafeText(name))
		}
	}
	return nil
}

// checkExportable refuses snapshots that hold nothing concrete to export.
func checkExportable(s *Snapshot) error {
	if s == nil {
		return exportErrf("no snapshot to export")
	}
	if s.Resolved == nil {
		return exportErrf("the snapshot holds no resolved rules and routes: it is a file a person wrote, not one nictab saved after an apply; apply it, then export the saved snapshot")
	}
	return nil
}

// header returns the comment lines that name the snapshot, its host and the
// nictab versions, with every piece of host text made inert.
func header(s *Snapshot, what, version string) []string {
	lines := []string{what + " written by nictab " + nixComment(version) + "."}
	if m := s.Meta; m != nil {
		src := "From snapshot " + nixComment(m.ID)
		if !m.Time.IsZero() {
			src += " (" + m.Time.UTC().Format(time.RFC3339) + ")"
		}
		if m.Host != "" {
			src += " of host " + nixComment(m.Host)
		}
		if m.Netns != "" {
			src += ", network namespace " + nixComment(m.Netns)
		}
		if m.NictabVersion != "" {
			src += ", saved by nictab " + nixComment(m.NictabVersion)
		}
		lines = append(lines, src+".")
	} else {
		lines = append(lines, "From a snapshot file without metadata.")
	}
	if s.Comment != "" {
		lines = append(lines, "Comment: "+nixComment(s.Comment))
	}
	return lines
}

// placedRule is a rule with the NIC whose unit carries it.
type placedRule struct {
	netcfg.Rule
	// Loose is set when the rule is tied to no NIC and went to a unit by
	// choice, so the output can say so.
	Loose bool
}

type placedRoute struct {
	netcfg.Route
	Loose bool
}

// nicConfig is what one NIC's unit carries.
type nicConfig struct {
	NIC    string
	Rules  []placedRule
	Routes []placedRoute
}

// placer decides which NIC a rule or route belongs to, from what the
// snapshot says: a rule's iif or oif, the NIC whose address is its from,
// a route's dev, the NIC whose prefix holds its gateway.
type placer struct {
	nics     map[string]bool
	addrNIC  map[string]string // address → NIC, from connected routes' src
	prefixes []netcfg.Route    // connected routes with a dev
	tableNIC map[uint32]string
	loose    string
}

func newPlacer(t *netcfg.Target, in netcfg.Intent, rulesNIC string) *placer {
	p := &placer{nics: map[string]bool{}, addrNIC: map[string]string{}, tableNIC: map[uint32]string{}}
	for _, n := range in.NICs {
		p.nics[n.Name] = true
	}
	routes := slices.Clone(t.Routes)
	slices.SortFunc(routes, func(a, b netcfg.Route) int { return cmp.Compare(a.Dev, b.Dev) })
	for _, r := range routes {
		if r.Dev == "" {
			continue
		}
		p.nics[r.Dev] = true
		if _, ok := p.tableNIC[r.Table]; !ok {
			p.tableNIC[r.Table] = r.Dev
		}
		if !r.Gw.IsValid() && len(r.MultiPath) == 0 && !r.IsDefault() {
			p.prefixes = append(p.prefixes, r)
			if r.Src.IsValid() {
				p.addrNIC[r.Src.String()] = r.Dev
			}
		}
	}
	// The intent says outright which NIC a table is for; it wins over
	// the guess from routes.
	for i := len(in.NICs) - 1; i >= 0; i-- {
		if n := in.NICs[i]; n.Table.ID != 0 {
			p.tableNIC[n.Table.ID] = n.Name
		}
	}
	p.loose = rulesNIC
	return p
}

// sortedNICs lists the NICs the snapshot concerns, by name.
func (p *placer) sortedNICs() []string {
	out := make([]string, 0, len(p.nics))
	for n := range p.nics {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// looseNIC is the NIC whose unit carries what is tied to no NIC.
func (p *placer) looseNIC(table uint32) (string, bool) {
	if p.loose != "" {
		return p.loose, true
	}
	if n, ok := p.tableNIC[table]; ok {
		return n, true
	}
	if all := p.sortedNICs(); len(all) > 0 {
		return all[0], true
	}
	return "", false
}

// onLink returns the NIC with a connected prefix that holds a.
func (p *placer) onLink(a netip.Addr) (string, bool) {
	for _, r := range p.prefixes {
		if r.Dst.Contains(a) {
			return r.Dev, true
		}
	}
	return "", false
}

func (p *placer) ruleNIC(r *netcfg.Rule) (nic string, loose bool, err error) {
	for _, dev := range []string{r.IIF, r.OIF} {
		if dev != "" && p.nics[dev] {
			return dev, false, nil
		}
	}
	if r.From.IsValid() && r.From.Bits() > 0 {
		if n, ok := p.addrNIC[r.From.Addr().String()]; ok && r.From.IsSingleIP() {
			return n, false, nil
		}
		if n, ok := p.onLink(r.From.Addr()); ok {
			return n, false, nil
		}
	}
	if n, ok := p.looseNIC(r.Table); ok {
		return n, true, nil
	}
	return "", false, exportErrf("rule %q is tied to no NIC and the snapshot names no NIC whose unit could carry it; name one with --rules-nic", netcfg.SafeText(netcfg.RuleString(r)))
}

// routeNIC places a route. A route without a device, whose gateway is on
// none of the snapshot's NICs, cannot go on a unit: networkd ties every
// route of a .network file to that file's link.
func (p *placer) routeNIC(r *netcfg.Route) (nic string, loose bool, err error) {
	if r.Dev != "" {
		return r.Dev, false, nil
	}
	if r.Gw.IsValid() {
		if n, ok := p.onLink(r.Gw); ok {
			return n, false, nil
		}
	}
	if deviceless(r.Type) {
		if n, ok := p.looseNIC(r.Table); ok {
			return n, true, nil
		}
	}
	return "", false, exportErrf("route %q has no device and is on none of the snapshot's NICs; systemd-networkd ties every route to a link, so it cannot be exported (the ip export can)", netcfg.SafeText(netcfg.RouteString(r)))
}

// deviceless reports route types the kernel keeps without a device.
func deviceless(t netcfg.RouteType) bool {
	switch t {
	case netcfg.RouteBlackhole, netcfg.RouteUnreachable, netcfg.RouteProhibit, netcfg.RouteThrow:
		return true
	}
	return false
}

// placeAll groups the snapshot's rules and routes by the NIC whose unit
// carries them, NICs by name, rules in the kernel's order, and routes with
// the connected ones before the defaults that go through them.
func placeAll(s *Snapshot, u UnitNames) ([]*nicConfig, error) {
	p := newPlacer(s.Resolved, s.Intent, u.RulesNIC)
	byNIC := map[string]*nicConfig{}
	get := func(n string) *nicConfig {
		c, ok := byNIC[n]
		if !ok {
			c = &nicConfig{NIC: n}
			byNIC[n] = c
		}
		return c
	}
	for _, r := range s.Resolved.Rules {
		n, loose, err := p.ruleNIC(&r)
		if err != nil {
			return nil, err
		}
		c := get(n)
		c.Rules = append(c.Rules, placedRule{Rule: r, Loose: loose})
	}
	for _, r := range s.Resolved.Routes {
		n, loose, err := p.routeNIC(&r)
		if err != nil {
			return nil, err
		}
		c := get(n)
		c.Routes = append(c.Routes, placedRoute{Route: r, Loose: loose})
	}
	out := make([]*nicConfig, 0, len(byNIC))
	for _, c := range byNIC {
		slices.SortStableFunc(c.Rules, func(a, b placedRule) int { return netcfg.CompareRules(&a.Rule, &b.Rule) })
		slices.SortStableFunc(c.Routes, func(a, b placedRoute) int { return compareRoutesForOutput(&a.Route, &b.Route) })
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *nicConfig) int { return cmp.Compare(a.NIC, b.NIC) })
	return out, nil
}

// compareRoutesForOutput orders routes as a person reads them: by family,
// then table, the prefixes a NIC is on before the defaults that need them.
func compareRoutesForOutput(a, b *netcfg.Route) int {
	if c := cmp.Compare(a.Family(), b.Family()); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Table, b.Table); c != 0 {
		return c
	}
	if a.IsDefault() != b.IsDefault() {
		if a.IsDefault() {
			return 1
		}
		return -1
	}
	return a.Key().Compare(b.Key())
}

// sortedNames returns the snapshot's table names by id.
func sortedNames(s *Snapshot) []netcfg.TableName {
	names := slices.Clone(s.Resolved.Names)
	slices.SortFunc(names, func(a, b netcfg.TableName) int { return cmp.Compare(a.ID, b.ID) })
	return names
}
