package format

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"

	"github.com/nictab/nictab/internal/prefault"
	"github.com/nictab/nictab/netcfg"
)

// Marshal writes s as a version 1 snapshot file: keys in a fixed order,
// empty sections left out, one rule or route per line so that two
// snapshots diff line by line, and the checksum line last. The same
// snapshot always gives the same bytes.
//
// Nil and empty slices are written alike, and a rule's negative
// suppress_prefixlength or suppress_ifgroup is written as unset, so
// Parse(Marshal(s)) equals s up to those and the position records Parse
// adds. A Resolved that is empty but not nil is written as "resolved: {}":
// a snapshot of a host where nictab owns nothing still restores that.
//
// Marshal parses what it wrote and fails if the file would not load, so a
// snapshot that cannot be read back is never saved.
func Marshal(s *Snapshot) ([]byte, error) {
	if s == nil {
		return nil, errors.New("marshal snapshot: no snapshot")
	}
	if s.Version != 0 && s.Version != Version {
		return nil, fmt.Errorf("marshal snapshot: this nictab writes version %d files, not version %d", Version, s.Version)
	}
	out, sumAt, skip := marshalText(s)
	if err := checkWritten(out, sumAt, skip); err != nil {
		return nil, fmt.Errorf("marshal snapshot: it would not load back: %w", err)
	}
	return out, nil
}

// marshalText writes the file, returning where its checksum line starts
// and the lists in it known to load.
func marshalText(s *Snapshot) (out []byte, sumAt int, skip []span) {
	var w bytes.Buffer
	n := len(s.Intent.Routes) + len(s.Intent.Rules)
	if s.Resolved != nil {
		n += len(s.Resolved.Routes) + len(s.Resolved.Rules)
	}
	w.Grow(4096 + 96*n)
	// NOTE: the pages of about what the entries take (72 bytes each in
	// a snapshot of 100k routes) are mapped first, in one call: an
	// apply encodes its snapshot while the kernel writes, and a page
	// taken one at a time on the other core then slowed the writes (in
	// A/B, 11 and 15 pairs: kernel writes 125.2 -> 123.0 ms and 122.1 ->
	// 120.0, read back 31.1 -> 29.6 and 31.2 -> 30.4).
	if b := w.AvailableBuffer(); cap(b) > 0 {
		prefault.Slice(b[:0:min(cap(b), 4096+80*n)])
	}
	fmt.Fprintf(&w, "version: %d\n", Version)
	if s.Comment != "" {
		fmt.Fprintf(&w, "comment: %s\n", str(s.Comment))
	}
	if sp, ok := writeIntent(&w, &s.Intent); ok {
		skip = append(skip, sp)
	}
	if m := s.Meta; m != nil {
		w.WriteString("snapshot:\n")
		for _, kv := range [][2]string{{"id", m.ID}, {"time", timeText(m.Time)}, {"host", m.Host}, {"nictab", m.NictabVersion}, {"parent", m.Parent}, {"netns", m.Netns}, {"kind", m.Kind}} {
			if kv[1] != "" {
				fmt.Fprintf(&w, "  %s: %s\n", kv[0], str(kv[1]))
			}
		}
		if m.Networkd {
			w.WriteString("  networkd: true\n")
		}
		writeAddressing(&w, m.Addressing)
	}
	if t := s.Resolved; t != nil {
		if sp, ok := writeResolved(&w, t); ok {
			skip = append(skip, sp)
		}
	}
	// The checksum line goes on the same buffer: a copy of a 100k-route
	// snapshot is 15 MB.
	sumAt = w.Len()
	sum := Checksum(w.Bytes())
	w.WriteString("checksum: " + sum + "\n")
	return w.Bytes(), sumAt, skip
}

// checkWritten is checkLoads for the file Marshal wrote, whose lists in
// skip are known to load (file_written.go): the rest is parsed without
// them. When that fails the whole file is checked, for the message about
// the line of the file that it is.
func checkWritten(data []byte, sumAt int, skip []span) error {
	if len(skip) > 0 && checkLoads(withoutSpans(data, sumAt, skip), -1) == nil {
		return nil
	}
	return checkLoads(data, sumAt)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// writeIntent writes the intent; known is the span of its routes' lines
// when they are known to load (simpleRoutes).
func writeIntent(w *bytes.Buffer, in *netcfg.Intent) (known span, ok bool) {
	if len(in.Tables) > 0 {
		w.WriteString("tables:\n")
		for _, t := range in.Tables {
			var f flow
			f.uint("id", uint64(t.ID))
			f.str("name", t.Name)
			f.writeLine(w, "  - ")
		}
	}
	if len(in.NICs) > 0 {
		w.WriteString("nics:\n")
		for _, n := range in.NICs {
			fmt.Fprintf(w, "  - name: %s\n", str(n.Name))
			fmt.Fprintf(w, "    table: %s\n", tableRefText(n.Table))
			switch len(n.Gateways) {
			case 0:
			case 1:
				fmt.Fprintf(w, "    gateway: %s\n", str(addrText(n.Gateways[0])))
			default:
				gws := make([]string, len(n.Gateways))
				for i, g := range n.Gateways {
					gws[i] = str(addrText(g))
				}
				fmt.Fprintf(w, "    gateway: [%s]\n", strings.Join(gws, ", "))
			}
			if len(n.Select) > 0 {
				sel := make([]string, len(n.Select))
				for i, s := range n.Select {
					sel[i] = str(string(s))
				}
				fmt.Fprintf(w, "    select: [%s]\n", strings.Join(sel, ", "))
			}
			if n.FwMark != nil {
				fmt.Fprintf(w, "    fwmark: %s\n", fwmarkText(n.FwMark))
			}
			if n.Priority != 0 {
				fmt.Fprintf(w, "    priority: %d\n", n.Priority)
			}
		}
	}
	if len(in.Rules) > 0 {
		w.WriteString("rules:\n")
		f := flow{plain: map[string]bool{}}
		for i := range in.Rules {
			f.next()
			ruleIntentFlow(&f, &in.Rules[i])
			f.writeLine(w, "  - ")
		}
	}
	if len(in.Routes) > 0 {
		w.WriteString("routes:\n")
		known.start, ok = w.Len(), simpleRoutes(in.Routes)
		f := flow{plain: map[string]bool{}}
		for i := range in.Routes {
			r := &in.Routes[i]
			f.next()
			if r.Table.Name != "" {
				f.str("table", r.Table.Name)
			} else {
				f.uint("table", uint64(r.Table.ID))
			}
			f.prefix("to", r.To)
			f.addr("via", r.Via)
			f.str("dev", r.Dev)
			f.addr("src", r.Src)
			if r.Scope != nil {
				f.str("scope", r.Scope.String())
			}
			if r.Metric != 0 {
				f.uint("metric", uint64(r.Metric))
			}
			if r.Type != netcfg.RouteUnspec {
				f.str("type", r.Type.String())
			}
			if r.MTU != 0 {
				f.uint("mtu", uint64(r.MTU))
			}
			if r.AdvMSS != 0 {
				f.uint("advmss", uint64(r.AdvMSS))
			}
			f.writeLine(w, "  - ")
		}
		known.end = w.Len()
	}
	return known, ok
}

// writeResolved writes the resolved section; known is the span of its
// routes' lines when they are known to load (simpleSavedRoutes).
func writeResolved(w *bytes.Buffer, t *netcfg.Owned) (known span, ok bool) {
	if len(t.Names) == 0 && len(t.Rules) == 0 && len(t.Routes) == 0 {
		w.WriteString("resolved: {}\n")
		return known, false
	}
	w.WriteString("resolved:\n")
	if len(t.Names) > 0 {
		w.WriteString("  names:\n")
		for _, n := range t.Names {
			var f flow
			f.uint("id", uint64(n.ID))
			f.str("name", n.Name)
			f.writeLine(w, "    - ")
		}
	}
	if len(t.Rules) > 0 {
		w.WriteString("  rules:\n")
		f := flow{plain: map[string]bool{}}
		for i := range t.Rules {
			f.next()
			savedRuleFlow(&f, &t.Rules[i])
			f.writeLine(w, "    - ")
		}
	}
	if len(t.Routes) > 0 {
		w.WriteString("  routes:\n")
		known.start, ok = w.Len(), simpleSavedRoutes(t.Routes)
		f := flow{plain: map[string]bool{}}
		for i := range t.Routes {
			f.next()
			savedRouteFlow(&f, &t.Routes[i])
			f.writeLine(w, "    - ")
		}
		known.end = w.Len()
	}
	return known, ok
}

func savedRuleFlow(f *flow, r *netcfg.Rule) {
	f.str("family", r.Family.String())
	f.uint("priority", uint64(r.Priority))
	f.flag("not", r.Not)
	f.prefix("from", r.From)
	f.prefix("to", r.To)
	f.str("iif", r.IIF)
	f.str("oif", r.OIF)
	if r.Mark != nil {
		f.add("fwmark", fwmarkText(r.Mark))
	}
	if r.Tos != 0 {
		f.add("tos", num(r.Tos))
	}
	if r.UIDRange != nil {
		f.add("uidrange", rangeText(uint64(r.UIDRange.Start), uint64(r.UIDRange.End)))
	}
	if r.IPProto != 0 {
		f.add("ipproto", num(r.IPProto))
	}
	if r.SPort != nil {
		f.add("sport", rangeText(uint64(r.SPort.Start), uint64(r.SPort.End)))
	}
	if r.DPort != nil {
		f.add("dport", rangeText(uint64(r.DPort.Start), uint64(r.DPort.End)))
	}
	f.flag("l3mdev", r.L3MDev)
	if r.Action != netcfg.ActionLookup {
		if _, err := netcfg.ParseRuleAction(r.Action.String()); err == nil {
			f.str("action", r.Action.String())
		} else {
			f.add("action", num(r.Action))
		}
	}
	if r.Table != 0 {
		f.add("table", num(r.Table))
	}
	if r.Goto != 0 {
		f.add("goto", num(r.Goto))
	}
	if r.SuppressPrefixLen >= 0 {
		f.add("suppress_prefixlength", strconv.Itoa(r.SuppressPrefixLen))
	}
	if r.SuppressIfgroup >= 0 {
		f.add("suppress_ifgroup", strconv.Itoa(r.SuppressIfgroup))
	}
	if r.Proto != 0 {
		f.uint("protocol", uint64(r.Proto))
	}
	ruleAttrsFlow(f, r)
}

func savedRouteFlow(f *flow, r *netcfg.Route) {
	f.uint("table", uint64(r.Table))
	if r.Type != netcfg.RouteUnicast {
		if _, err := netcfg.ParseRouteType(r.Type.String()); err == nil {
			f.str("type", r.Type.String())
		} else {
			f.add("type", num(r.Type))
		}
	}
	f.prefix("to", r.Dst)
	f.addr("via", r.Gw)
	f.str("dev", r.Dev)
	f.addr("src", r.Src)
	if r.Scope != netcfg.ScopeUniverse {
		f.str("scope", r.Scope.String())
	}
	if r.Proto != 0 {
		f.uint("protocol", uint64(r.Proto))
	}
	if r.Metric != 0 {
		f.uint("metric", uint64(r.Metric))
	}
	if r.Tos != 0 {
		f.uint("tos", uint64(r.Tos))
	}
	f.flag("onlink", r.Onlink)
	routeAttrsFlow(f, r)
	if len(r.MultiPath) > 0 {
		hops := make([]string, len(r.MultiPath))
		for i, nh := range r.MultiPath {
			h := flow{plain: f.plain}
			h.addr("via", nh.Gw)
			h.str("dev", nh.Dev)
			if nh.Weight != 0 {
				h.add("weight", strconv.Itoa(nh.Weight))
			}
			h.flag("onlink", nh.Onlink)
			if nh.Realms != 0 {
				h.add("realms", num(nh.Realms))
			}
			opaqueFlow(&h, nh.Encap, nh.Unmodelled)
			hops[i] = h.String()
		}
		f.add("nexthops", "["+strings.Join(hops, ", ")+"]")
	}
}

// flow builds a flow mapping, {key: value, …}, appending its entries to
// one buffer: a snapshot of 100k routes is 200k of these lines, written
// with no string per value.
type flow struct {
	b []byte
	// plain remembers, when not nil, which texts str writes plain: the
	// names and words of a large list repeat line after line, and asking
	// the lexer costs microseconds a value.
	plain map[string]bool
}

// next starts a list's next line in the same buffer.
func (f *flow) next() { f.b = f.b[:0] }

func (f *flow) key(k string) {
	if len(f.b) > 0 {
		f.b = append(f.b, ", "...)
	}
	f.b = append(f.b, k...)
	f.b = append(f.b, ": "...)
}

func (f *flow) add(key, val string) {
	f.key(key)
	f.b = append(f.b, val...)
}

func (f *flow) uint(key string, v uint64) {
	f.key(key)
	f.b = strconv.AppendUint(f.b, v, 10)
}

func (f *flow) str(key, s string) {
	if s != "" {
		f.key(key)
		f.text(s)
	}
}

// text appends s as str encodes it.
func (f *flow) text(s string) {
	plain, known := f.plain[s]
	if !known {
		plain = plainOK(s)
		if f.plain != nil && len(f.plain) < 4096 {
			f.plain[s] = plain
		}
	}
	if plain {
		f.b = append(f.b, s...)
	} else {
		f.b = append(f.b, quote(s)...)
	}
}

func (f *flow) flag(key string, b bool) {
	if b {
		f.add(key, "true")
	}
}

// addr and prefix write an IPv4 address or prefix as it is: dotted quads
// (and a /bits) are always plain text to the parser (two dots or a slash
// make a string; see plainType), so only IPv6 needs str's question.
func (f *flow) addr(key string, a netip.Addr) {
	if !a.IsValid() {
		return
	}
	f.key(key)
	if a.Is4() {
		f.b = a.AppendTo(f.b)
	} else {
		f.text(addrText(a))
	}
}

func (f *flow) prefix(key string, p netip.Prefix) {
	if !p.IsValid() {
		return
	}
	f.key(key)
	if p.Addr().Is4() {
		f.b = p.AppendTo(f.b)
	} else {
		f.text(p.String())
	}
}

func (f *flow) String() string { return "{" + string(f.b) + "}" }

// writeLine writes the flow mapping as one list entry.
func (f *flow) writeLine(w *bytes.Buffer, lead string) {
	w.WriteString(lead)
	w.WriteByte('{')
	w.Write(f.b)
	w.WriteString("}\n")
}

func num[T uint8 | uint32 | netcfg.RouteType | netcfg.RuleAction](v T) string {
	return strconv.FormatUint(uint64(v), 10)
}

func addrText(a netip.Addr) string { return a.String() }

func tableRefText(t netcfg.TableRef) string {
	if t.Name != "" {
		return str(t.Name)
	}
	return num(t.ID)
}

func fwmarkText(m *netcfg.FwMark) string {
	if m.Mask == 0xffffffff {
		return fmt.Sprintf("0x%x", m.Value)
	}
	return fmt.Sprintf("0x%x/0x%x", m.Value, m.Mask)
}

func rangeText(lo, hi uint64) string {
	if lo == hi {
		return strconv.FormatUint(lo, 10)
	}
	return str(fmt.Sprintf("%d-%d", lo, hi))
}

// str encodes text as a YAML scalar: plain where the YAML lexer reads it
// back as the same string in both block and flow context (names,
// addresses, prefixes), double-quoted otherwise (anything that would read
// as a number, a boolean, null, or holds YAML punctuation).
func str(s string) string {
	if plainOK(s) {
		return s
	}
	return quote(s)
}

func plainOK(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	// Addresses, prefixes and names, nearly every value of a large
	// snapshot, are what the list reader takes as plain text; asking the
	// lexer twice costs 10 µs a value.
	if readerPlain(s) {
		return true
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/:@+ ()=", c)) {
			return false
		}
	}
	block := lexer.Tokenize("k: " + s)
	inFlow := lexer.Tokenize("{k: " + s + "}")
	return len(block) == 3 && isPlain(block[2], s) && len(inFlow) == 5 && isPlain(inFlow[3], s)
}

// readerPlain reports whether s is text the list reader (flowReader)
// reads as a plain string, in a flow mapping or a block one: made of
// letters, digits and . _ : / -, not ending in a colon, and typed as text
// by the parser's rule.
func readerPlain(s string) bool {
	if !plainStart(s[0]) || s[len(s)-1] == ':' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !plainByte(s[i]) {
			return false
		}
	}
	return plainType(s) == token.StringType
}

func isPlain(tk *token.Token, s string) bool { return tk.Type == token.StringType && tk.Value == s }

// quote writes a YAML double-quoted scalar. Control characters, and the
// characters YAML or terminals treat as line breaks, are escaped; the rest
// is written as it is.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteRune(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x2028 || c == 0x2029 || c == 0xfeff:
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteRune(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
