// Package export turns a saved snapshot into configuration for other
// tools: NixOS modules (networkd and scripted flavours), systemd-networkd
// units and a POSIX shell script of ip commands. Each export is a pure
// function of the snapshot and its options, touching no kernel and no
// file, so it builds on any OS.
package export

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// Error is a snapshot that cannot be exported, or a value in it that
// the chosen format has no way to say. Export refuses rather than drop it:
// a configuration that silently lacks a rule is worse than none.
type Error struct {
	Msg string
}

func (e *Error) Error() string { return e.Msg }

func exportErrf(format string, a ...any) error {
	return &Error{Msg: fmt.Sprintf(format, a...)}
}

// DefaultUnitPrefix is what NixOS puts before a NIC's name when
// networking.useNetworkd = true turns networking.interfaces into networkd
// units ("40-eno1"); a unit of the same name merges with the person's.
const DefaultUnitPrefix = "40-"

// UnitMode says what a networkd unit of the export holds besides rules and
// routes.
type UnitMode uint8

const (
	// UnitsOwn gives each NIC a unit that also carries its addressing as
	// nictab saw it, so the unit cannot leave the NIC without an address
	// whatever the host's configuration says for it.
	UnitsOwn UnitMode = iota
	// UnitsMerge puts rules and routes on units the host's configuration
	// already defines, named by --unit-prefix or --unit; their addressing
	// stays the host's.
	UnitsMerge
	// UnitsRulesOnly writes rules and routes only, for a host whose
	// configuration owns the NICs' addresses on units of these names.
	UnitsRulesOnly
)

// UnitNames says which systemd-networkd unit carries each NIC's rules and
// routes.
type UnitNames struct {
	Mode UnitMode
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

// Unit returns the unit name for nic. A unit nictab names itself (mode
// UnitsOwn) is derived from a safe form of the NIC's name; one that must
// match the host's unit is the prefix and the name as they are.
func (u UnitNames) Unit(nic string) string {
	if n, ok := u.Units[nic]; ok {
		return n
	}
	p := u.Prefix
	if p == "" {
		p = DefaultUnitPrefix
	}
	if u.Mode == UnitsOwn {
		return p + safeUnitPart(nic)
	}
	return p + nic
}

// storeNameByte reports whether Nix takes c in a store path name.
func storeNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+-._?=", c) >= 0
}

// ValidStoreName reports whether Nix accepts s as the name of a store
// path: 1 to 211 bytes of A-Za-z0-9+-._?=, not starting with a dot.
//
// NOTE: NixOS builds every networkd unit as a derivation named
// "unit-" and the unit's file name, so a unit name outside this set fails
// the whole system build ("contains illegal character").
func ValidStoreName(s string) bool {
	if s == "" || len(s) > 211 || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !storeNameByte(s[i]) {
			return false
		}
	}
	return true
}

// safeUnitPart is nic as it can appear in a unit name: unchanged when
// every byte is one Nix takes in a store path name (the '?' glob aside),
// else with each other byte as '_' and a hash of the real name after it,
// so two NICs never share a unit. The real name stays in [Match] Name=.
func safeUnitPart(nic string) string {
	clean := true
	b := []byte(nic)
	for i, c := range b {
		if !storeNameByte(c) || c == '?' {
			b[i] = '_'
			clean = false
		}
	}
	if clean && nic != "" && nic[0] != '.' {
		return nic
	}
	sum := sha256.Sum256([]byte(nic))
	return string(b) + "-" + hex.EncodeToString(sum[:4])
}

// checkUnitName refuses unit names that would not stay one file in
// /etc/systemd/network, and for NixOS (nix set) those it cannot build.
func checkUnitName(unit, nic string, u UnitNames, nix bool) error {
	if unit == "" || unit[0] == '.' || strings.ContainsAny(unit, "/\\") || hasControl(unit) {
		return exportErrf("the unit name %s for NIC %s cannot be a file name in /etc/systemd/network (not empty, no leading dot, no /, \\ or control characters); name it with --unit %s=UNIT", quoteText(unit), quoteText(nic), readable(nic))
	}
	if !nix || ValidStoreName(unit+".network") {
		return nil
	}
	why := "a unit name must be letters, digits and + - . _ ? = only, not starting with a dot: NixOS builds each unit as a Nix store path, which takes no other character, and networkd reads it as a file name"
	if _, named := u.Units[nic]; named || u.Mode == UnitsOwn {
		return exportErrf("the unit name %s for NIC %s cannot be used: %s; name it with --unit %s=UNIT", quoteText(unit), quoteText(nic), why, readable(nic))
	}
	return exportErrf("the unit name %s for NIC %s cannot be used: %s. NixOS cannot have built a unit of that name for the host either; export without --unit-prefix (nictab names the unit %s and carries the NIC's addressing), or name the host's unit with --unit %s=UNIT", quoteText(unit), quoteText(nic), why, quoteText(DefaultUnitPrefix+safeUnitPart(nic)), readable(nic))
}

// readable makes host text safe in a message or a comment without
// changing what is already printable: control characters and invalid
// UTF-8 become Go escapes (a newline would end a Nix comment and run the
// rest), a backslash stays one backslash.
func readable(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029:
			q := strconv.QuoteRuneToGraphic(c)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// quoteText is host text in double quotes for a message.
func quoteText(s string) string { return `"` + readable(s) + `"` }

// ruleText and routeText name a rule or route in a refusal, on one line
// and as `ip` would take it.
func ruleText(r *netcfg.Rule) string {
	return "rule " + quoteText(strconv.FormatUint(uint64(r.Priority), 10)+": "+strings.Join(netcfg.RuleArgs(r), " "))
}

func routeText(r *netcfg.Route) string { return "route " + quoteText(netcfg.RouteString(r)) }

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
		return exportErrf("%s %s is not a valid interface name (1–15 bytes)", field, quoteText(name))
	}
	for _, c := range []byte(name) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(":/%*?[\"'\\", c) >= 0 {
			return exportErrf("%s %s cannot be written for systemd-networkd: it reads interface names as printable ASCII without spaces, ':', '/' or '%%', and as globs that it unquotes, so '*', '?', '[', quotes and backslashes would change what matches; the scripted flavour or the ip export can carry it", field, quoteText(name))
		}
	}
	return nil
}

// checkExportable refuses snapshots that hold nothing concrete to export.
func checkExportable(s *format.Snapshot) error {
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
func header(s *format.Snapshot, what, version string) []string {
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

func newPlacer(t *netcfg.Owned, in netcfg.Intent, rulesNIC string) *placer {
	p := &placer{nics: map[string]bool{}, addrNIC: map[string]string{}, tableNIC: map[uint32]string{}}
	for _, n := range in.NICs {
		p.nics[n.Name] = true
	}
	routes := slices.Clone(t.Routes)
	slices.SortFunc(routes, func(a, b netcfg.Route) int { return cmp.Compare(a.Dev, b.Dev) })
	for _, r := range routes {
		if r.Dev == "" || r.Dev == "lo" && deviceless(r.Type) {
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
	return "", false, exportErrf("%s is tied to no NIC and the snapshot names no NIC whose unit could carry it; name one with --rules-nic", ruleText(r))
}

// routeNIC places a route. A route without a device, whose gateway is on
// none of the snapshot's NICs, cannot go on a unit: networkd ties every
// route of a .network file to that file's link.
func (p *placer) routeNIC(r *netcfg.Route) (nic string, loose bool, err error) {
	// NOTE: the kernel shows an IPv6 blackhole, unreachable or prohibit
	// route on lo; it belongs to no NIC, and a unit for lo would take
	// the loopback over.
	if r.Dev != "" && !(r.Dev == "lo" && deviceless(r.Type)) {
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
	return "", false, exportErrf("%s has no device and is on none of the snapshot's NICs; systemd-networkd ties every route to a link, so it cannot be exported (the ip export or the scripted flavour can)", routeText(r))
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
func placeAll(s *format.Snapshot, u UnitNames) ([]*nicConfig, error) {
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
func sortedNames(s *format.Snapshot) []netcfg.TableName {
	names := slices.Clone(s.Resolved.Names)
	slices.SortFunc(names, func(a, b netcfg.TableName) int { return cmp.Compare(a.ID, b.ID) })
	return names
}
