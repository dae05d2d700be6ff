package format

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"

	"github.com/nictab/nictab/netcfg"
)

// Keys of each mapping, in the order Marshal writes them.
var (
	topKeys   = []string{"version", "comment", "tables", "nics", "rules", "routes", "snapshot", "resolved", "checksum"}
	tableKeys = []string{"id", "name"}
	nicKeys   = []string{"name", "table", "gateway", "select", "fwmark", "priority"}
	ruleKeys  = []string{"priority", "not", "from", "to", "iif", "oif", "fwmark", "tos", "dscp", "flowlabel", "uidrange", "ipproto", "sport", "dport", "tun_id", "table", "action", "goto"}
	routeKeys = []string{"table", "to", "via", "dev", "src", "scope", "metric", "type", "mtu", "advmss"}
	metaKeys  = []string{"id", "time", "host", "nictab", "parent", "netns", "kind", "networkd", "addressing"}
)

// metaKinds are what may make a snapshot (Meta.Kind).
var metaKinds = []string{"apply", "rollback", "save", "adopt", KindBaseline}

const prioRange = "rule priorities 1–32765 are free to use; 0, 32766 and 32767 hold the kernel's own rules (local, main, default)"

func (d *decoder) snapshot(root ast.Node) *Snapshot {
	if !d.version(root) {
		return nil
	}
	f, _ := d.mapping(root, "", topKeys...)
	if f == nil {
		return nil
	}
	s := &Snapshot{Version: Version}
	if f.has("comment") {
		s.Comment, _ = d.text(f.vals["comment"], "comment")
	}
	s.Intent.Tables = d.tables(f.vals["tables"])
	s.Intent.NICs = d.nics(f.vals["nics"])
	s.Intent.Rules = d.rules(f.vals["rules"])
	s.Intent.Routes = d.routes(f.vals["routes"])
	if f.has("snapshot") {
		s.Meta = d.meta(f.vals["snapshot"])
	}
	if f.has("resolved") {
		s.Resolved = d.resolved(f.vals["resolved"])
	}
	d.checksumKey(f)
	return s
}

// version checks the version before anything else: a file of another
// version would otherwise be buried in errors about keys this nictab does
// not know.
func (d *decoder) version(root ast.Node) bool {
	m, ok := root.(*ast.MappingNode)
	if !ok {
		if _, one := root.(*ast.MappingValueNode); one {
			m = &ast.MappingNode{Values: []*ast.MappingValueNode{root.(*ast.MappingValueNode)}}
		} else {
			d.fail(root, "", "the file must be a mapping of keys (version: 1, nics: …), got %s", describe(root))
			return false
		}
	}
	for _, kv := range m.Values {
		if keyText(kv.Key) != "version" {
			continue
		}
		n := kv.Value
		if i, ok := n.(*ast.IntegerNode); ok {
			if v, err := parseNum(i.GetToken().Value); err == nil && v == Version {
				return true
			}
		}
		if i, ok := n.(*ast.IntegerNode); ok {
			d.fail(n, "version", "this nictab reads snapshot files of version %d only, and this one is version %s", Version, i.GetToken().Value)
		} else {
			d.fail(n, "version", "want the integer %d, got %s", Version, describe(n))
		}
		return false
	}
	d.fail(root, "version", "missing: this nictab reads snapshot files of version %d; start the file with version: %d", Version, Version)
	return false
}

func (d *decoder) checksumKey(f *fields) {
	n, given := f.vals["checksum"]
	switch {
	case given && d.checksumLine == 0:
		d.fail(n, "checksum", "write it as nictab does: checksum: sha256:… alone on the last line, unindented")
	case given:
		d.text(n, "checksum")
	case d.checksumLine > 0:
		d.failAt(filePos{d.checksumLine, 1}, "checksum", "this line looks like the checksum but is not a key of the file's top level")
	}
}

func (d *decoder) tables(n ast.Node) []netcfg.TableDef {
	items, _ := d.list(n, "tables")
	var out []netcfg.TableDef
	ids := map[uint32]int{}
	names := map[string]int{}
	for i, item := range items {
		path := index("tables", i)
		f, clean := d.mapping(item, path, tableKeys...)
		if f == nil || !d.require(f, "id") {
			continue
		}
		var t netcfg.TableDef
		var ok bool
		if t.ID, ok = d.tableID(f.vals["id"], join(path, "id")); !ok {
			continue
		}
		if j, dup := ids[t.ID]; dup {
			d.fail(f.vals["id"], join(path, "id"), "table %d is defined twice (also tables[%d], line %d)", t.ID, j, d.pos[index("tables", j)].line)
			continue
		}
		ids[t.ID] = i
		if f.has("name") {
			if t.Name, ok = d.tableName(f.vals["name"], join(path, "name")); !ok {
				continue
			}
			if j, dup := names[t.Name]; dup {
				d.fail(f.vals["name"], join(path, "name"), "table name %q is used twice (also tables[%d], line %d)", t.Name, j, d.pos[index("tables", j)].line)
				continue
			}
			names[t.Name] = i
		}
		if clean {
			out = append(out, t)
		}
	}
	return out
}

func (d *decoder) nics(n ast.Node) []netcfg.NICIntent {
	items, _ := d.list(n, "nics")
	var out []netcfg.NICIntent
	seen := map[string]int{}
	for i, item := range items {
		path := index("nics", i)
		f, clean := d.mapping(item, path, nicKeys...)
		if f == nil {
			continue
		}
		nic, ok := d.nic(f, path)
		if !ok || !clean {
			continue
		}
		if j, dup := seen[nic.Name]; dup {
			d.fail(f.vals["name"], join(path, "name"), "NIC %s is listed twice (also nics[%d], line %d)", nic.Name, j, d.pos[index("nics", j)].line)
			continue
		}
		seen[nic.Name] = i
		out = append(out, nic)
	}
	return out
}

func (d *decoder) nic(f *fields, path string) (netcfg.NICIntent, bool) {
	var nic netcfg.NICIntent
	ok := d.require(f, "name", "table")
	if f.has("name") {
		var good bool
		nic.Name, good = d.ifName(f.vals["name"], join(path, "name"))
		ok = ok && good
	}
	if f.has("table") {
		var good bool
		nic.Table, good = d.tableRef(f.vals["table"], join(path, "table"))
		ok = ok && good
	}
	if f.has("gateway") {
		var good bool
		nic.Gateways, good = d.gateways(f.vals["gateway"], join(path, "gateway"))
		ok = ok && good
	}
	if f.has("select") {
		var good bool
		nic.Select, good = d.selectors(f.vals["select"], join(path, "select"))
		ok = ok && good
	}
	if f.has("fwmark") {
		var good bool
		nic.FwMark, good = d.fwmark(f.vals["fwmark"], join(path, "fwmark"), true)
		ok = ok && good
	}
	if f.has("priority") {
		nic.Priority, ok = d.priority(f.vals["priority"], join(path, "priority"), ok)
	}
	if !ok {
		return nic, false
	}
	marked := slices.Contains(nic.Select, netcfg.SelectFwmark)
	switch {
	case marked && nic.FwMark == nil:
		d.fail(f.vals["select"], join(path, "select"), "select: [fwmark] needs fwmark: (e.g. fwmark: 0x13)")
		return nic, false
	case !marked && nic.FwMark != nil:
		d.fail(f.vals["fwmark"], join(path, "fwmark"), "fwmark is set but select does not include fwmark (select: [fwmark])")
		return nic, false
	}
	return nic, true
}

// priority decodes a rule priority; ok carries the validity of what was
// decoded before it.
func (d *decoder) priority(n ast.Node, path string, ok bool) (uint32, bool) {
	v, good := d.uint(n, path, 32765, prioRange)
	if good && v == 0 {
		d.fail(n, path, "0 is out of range: %s (leave priority out for nictab to choose one)", prioRange)
		good = false
	}
	return uint32(v), ok && good
}

// gateways decodes one address, or a list of one IPv4 and one IPv6.
func (d *decoder) gateways(n ast.Node, path string) ([]netip.Addr, bool) {
	switch n.(type) {
	case *ast.SequenceNode:
	case *ast.MappingNode, *ast.MappingValueNode:
		d.fail(n, path, "want an address, or a list of one IPv4 and one IPv6 address, got %s", describe(n))
		return nil, false
	default:
		a, ok := d.hostAddr(n, path)
		return []netip.Addr{a}, ok
	}
	items, _ := d.list(n, path)
	if len(items) == 0 {
		d.fail(n, path, "an empty list: leave gateway out to use the one main uses through the NIC")
		return nil, false
	}
	if len(items) > 2 {
		d.fail(items[2], index(path, 2), "at most two gateways: one IPv4 and one IPv6")
		return nil, false
	}
	var out []netip.Addr
	ok := true
	for j, item := range items {
		a, good := d.hostAddr(item, index(path, j))
		if !good {
			ok = false
			continue
		}
		if len(out) > 0 && netcfg.FamilyOf(out[0]) == netcfg.FamilyOf(a) {
			d.fail(item, index(path, j), "a second %s gateway: a NIC has at most one per family", famName(netcfg.FamilyOf(a)))
			ok = false
			continue
		}
		out = append(out, a)
	}
	return out, ok
}

func (d *decoder) selectors(n ast.Node, path string) ([]netcfg.Selector, bool) {
	if _, isList := n.(*ast.SequenceNode); !isList {
		d.fail(n, path, "want a list such as [from] or [oif, iif], got %s", describe(n))
		return nil, false
	}
	items, _ := d.list(n, path)
	if len(items) == 0 {
		d.fail(n, path, "an empty list selects nothing; leave select out for the default [from]")
		return nil, false
	}
	var out []netcfg.Selector
	ok := true
	for j, item := range items {
		s, good := d.text(item, index(path, j))
		if !good {
			ok = false
			continue
		}
		sel := netcfg.Selector(s)
		switch {
		case !slices.Contains(netcfg.Selectors, sel):
			d.fail(item, index(path, j), "unknown selector %q (want from, oif, iif or fwmark)", s)
			ok = false
		case slices.Contains(out, sel):
			d.fail(item, index(path, j), "%s is selected twice", s)
			ok = false
		default:
			out = append(out, sel)
		}
	}
	return out, ok
}

func (d *decoder) rules(n ast.Node) []netcfg.RuleIntent {
	var out []netcfg.RuleIntent
	seen := map[string]int{}
	d.eachItem(n, "rules", ruleKeys, nil, func(i int, item ast.Node, f *fields, clean bool) {
		path := f.path
		r, ok := d.rule(f, path)
		if !ok || !clean {
			return
		}
		k := ruleIntentKey(&r)
		if j, dup := seen[k]; dup {
			d.fail(item, path, "the same rule as rules[%d] (line %d)", j, d.itemLine("rules", j))
			return
		}
		seen[k] = i
		out = append(out, r)
	})
	return out
}

func (d *decoder) rule(f *fields, path string) (netcfg.RuleIntent, bool) {
	var r netcfg.RuleIntent
	ok, good := true, true
	if f.has("action") {
		r.Action, good = d.ruleAction(f.vals["action"], join(path, "action"))
		ok = ok && good
	}
	switch {
	case !ok:
	case r.Lookup():
		ok = d.require(f, "table")
	case f.has("table"):
		d.fail(f.vals["table"], join(path, "table"), "a rule with action %s looks up no table: leave table out", r.Action)
		ok = false
	}
	if f.has("table") && r.Lookup() {
		r.Table, good = d.tableRef(f.vals["table"], join(path, "table"))
		ok = ok && good
	}
	if f.has("priority") {
		r.Priority, ok = d.priority(f.vals["priority"], join(path, "priority"), ok)
	}
	if f.has("from") {
		r.From, good = d.prefix(f.vals["from"], join(path, "from"), rulePrefix)
		ok = ok && good
	}
	if f.has("to") {
		r.To, good = d.prefix(f.vals["to"], join(path, "to"), rulePrefix)
		ok = ok && good
	}
	if f.has("iif") {
		r.IIF, good = d.ifName(f.vals["iif"], join(path, "iif"))
		ok = ok && good
	}
	if f.has("oif") {
		r.OIF, good = d.ifName(f.vals["oif"], join(path, "oif"))
		ok = ok && good
	}
	if f.has("fwmark") {
		r.FwMark, good = d.fwmark(f.vals["fwmark"], join(path, "fwmark"), true)
		ok = ok && good
	}
	if f.has("uidrange") {
		lo, hi, good := d.rangeOf(f.vals["uidrange"], join(path, "uidrange"), maxU32, "uid range")
		r.UIDRange, ok = &netcfg.UIDRange{Start: uint32(lo), End: uint32(hi)}, ok && good
	}
	if f.has("ipproto") {
		v, good := d.uint(f.vals["ipproto"], join(path, "ipproto"), 255, "ipproto is an IP protocol number, 0–255 (6 tcp, 17 udp)")
		r.IPProto, ok = uint8(v), ok && good
	}
	for _, p := range []struct {
		key string
		dst **netcfg.PortRange
	}{{"sport", &r.SPort}, {"dport", &r.DPort}} {
		if f.has(p.key) {
			var good bool
			*p.dst, good = d.portSel(f.vals[p.key], join(path, p.key))
			ok = ok && good
		}
	}
	ok = d.ruleExtras(f, path, &r) && ok
	if ok && r.From.IsValid() && r.To.IsValid() && netcfg.FamilyOf(r.From.Addr()) != netcfg.FamilyOf(r.To.Addr()) {
		d.fail(f.vals["to"], join(path, "to"), "from is %s and to is %s: a rule matches one family", famName(netcfg.FamilyOf(r.From.Addr())), famName(netcfg.FamilyOf(r.To.Addr())))
		ok = false
	}
	return r, ok
}

func ruleIntentKey(r *netcfg.RuleIntent) string {
	mark := "-"
	if r.FwMark != nil {
		mark = fmt.Sprintf("%#x/%#x", r.FwMark.Value, r.FwMark.Mask)
	}
	return fmt.Sprintf("%d %s %s %q %q %s %q %d %d %v %d %v %v %v %d %v %v %d %d", r.Priority, r.From, r.To, r.IIF, r.OIF, mark, r.Table.Name, r.Table.ID, r.Action,
		r.UIDRange, r.IPProto, r.SPort, r.DPort, r.Not, r.Tos, r.DSCP, r.FlowLabel, r.TunID, r.Goto)
}

// ruleAction decodes an explicit rule's action: lookup, or one that ends
// the lookup (blackhole, unreachable, prohibit), goto or nop.
func (d *decoder) ruleAction(n ast.Node, path string) (netcfg.RuleAction, bool) {
	s, ok := d.text(n, path)
	if !ok {
		return 0, false
	}
	a, err := netcfg.ParseRuleAction(s)
	if err != nil || (a != netcfg.ActionLookup && !slices.Contains(netcfg.IntentRuleActions, a)) {
		d.fail(n, path, "unknown action %q (want lookup, goto, nop, blackhole, unreachable or prohibit)", s)
		return 0, false
	}
	if a == netcfg.ActionLookup {
		a = netcfg.ActionUnspec
	}
	return a, true
}

func (d *decoder) meta(n ast.Node) *Meta {
	f, _ := d.mapping(n, "snapshot", metaKeys...)
	if f == nil || !d.require(f, "id", "time") {
		return nil
	}
	m := &Meta{}
	words := []struct {
		key string
		dst *string
	}{{"id", &m.ID}, {"host", &m.Host}, {"nictab", &m.NictabVersion}, {"parent", &m.Parent}, {"netns", &m.Netns}, {"kind", &m.Kind}}
	for _, w := range words {
		if f.has(w.key) {
			*w.dst, _ = d.word(f.vals[w.key], join("snapshot", w.key))
		}
	}
	for _, id := range []struct{ key, val string }{{"id", m.ID}, {"parent", m.Parent}} {
		if id.val != "" && !validID(id.val) {
			d.fail(f.vals[id.key], join("snapshot", id.key), "%q is not a snapshot id (letters, digits, '.', '_' and '-', not starting with '.' or '-', at most 64 bytes)", id.val)
		}
	}
	if m.Kind != "" && !slices.Contains(metaKinds, m.Kind) {
		d.fail(f.vals["kind"], "snapshot.kind", "unknown kind %q (want %s)", m.Kind, strings.Join(metaKinds, ", "))
	}
	if s, ok := d.word(f.vals["time"], "snapshot.time"); ok {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			d.fail(f.vals["time"], "snapshot.time", "%q is not a time such as 2026-11-24T17:55:12Z (RFC 3339)", s)
		}
		m.Time = t.UTC()
	}
	if f.has("networkd") {
		m.Networkd, _ = d.boolean(f.vals["networkd"], "snapshot.networkd")
	}
	if f.has("addressing") {
		m.Addressing = d.addressingList(f.vals["addressing"])
	}
	return m
}

// validID reports whether s can be a snapshot id. The store names files
// after ids, so an id must never be able to reach outside its directory.
func validID(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '.' || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
