package netcfg

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// RuleArgs returns the arguments that select and act like the rule in
// `ip rule add|del`, in the order `ip rule show` prints them. Table ids are
// numbers and protocol numbers stay numeric so the command works on hosts
// that have no names for them.
func RuleArgs(r *Rule) []string {
	a := make([]string, 0, 12)
	if r.Not {
		a = append(a, "not")
	}
	a = append(a, "from", PrefixArg(r.From))
	if r.To.IsValid() {
		a = append(a, "to", PrefixArg(r.To))
	}
	if r.Tos != 0 {
		a = append(a, "tos", fmt.Sprintf("0x%02x", r.Tos))
	}
	if r.DSCP != nil {
		a = append(a, "dscp", r.DSCP.String())
	}
	if r.FlowLabel != nil {
		a = append(a, "flowlabel", r.FlowLabel.String())
	}
	if r.Mark != nil {
		if r.Mark.Mask == 0xffffffff {
			a = append(a, "fwmark", fmt.Sprintf("0x%x", r.Mark.Value))
		} else {
			a = append(a, "fwmark", fmt.Sprintf("0x%x/0x%x", r.Mark.Value, r.Mark.Mask))
		}
	}
	if r.IIF != "" {
		a = append(a, "iif", r.IIF)
	}
	if r.OIF != "" {
		a = append(a, "oif", r.OIF)
	}
	if r.L3MDev {
		a = append(a, "l3mdev")
	}
	if r.UIDRange != nil {
		a = append(a, "uidrange", fmt.Sprintf("%d-%d", r.UIDRange.Start, r.UIDRange.End))
	}
	if r.IPProto != 0 {
		a = append(a, "ipproto", strconv.Itoa(int(r.IPProto)))
	}
	if r.SPort != nil {
		a = append(a, "sport", PortArg(r.SPort))
	}
	if r.DPort != nil {
		a = append(a, "dport", PortArg(r.DPort))
	}
	if r.TunID != 0 {
		a = append(a, "tun_id", strconv.FormatUint(r.TunID, 10))
	}
	switch r.Action {
	case ActionLookup:
		a = append(a, "lookup", strconv.FormatUint(uint64(r.Table), 10))
	case ActionGoto:
		a = append(a, "goto", strconv.FormatUint(uint64(r.Goto), 10))
	case ActionNAT:
		// `ip rule add nat ADDR` needs an address; the kernel keeps none
		// (ip prints the rule as "masquerade"), so any address recreates it.
		a = append(a, "nat", "0.0.0.0")
	default:
		a = append(a, r.Action.String())
	}
	if r.SuppressPrefixLen >= 0 {
		a = append(a, "suppress_prefixlength", strconv.Itoa(r.SuppressPrefixLen))
	}
	if r.SuppressIfgroup >= 0 {
		a = append(a, "suppress_ifgroup", strconv.Itoa(r.SuppressIfgroup))
	}
	if r.Realms != 0 {
		a = append(a, "realms", Realms(r.Realms))
	}
	if r.Proto != ProtoUnspec {
		a = append(a, "proto", strconv.Itoa(int(r.Proto)))
	}
	return a
}

// PrefixArg is a rule's prefix as `ip rule` writes it: "all" for any
// address, a host prefix as its address.
func PrefixArg(p netip.Prefix) string {
	if !p.IsValid() || (p.Bits() == 0 && p.Addr().IsUnspecified()) {
		return "all"
	}
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// PortArg is a rule's port range as `ip rule` writes it: "22",
// "1000-2000", or a start and mask "4096/0xf000".
func PortArg(p *PortRange) string {
	if p.Mask != 0 {
		return fmt.Sprintf("%d/0x%x", p.Start, p.Mask)
	}
	if p.Start == p.End {
		return strconv.Itoa(int(p.Start))
	}
	return fmt.Sprintf("%d-%d", p.Start, p.End)
}

// RuleString is the rule as `ip rule show` prints it: "1000: from … lookup 13",
// with what nictab does not model named after it.
func RuleString(r *Rule) string {
	s := strconv.FormatUint(uint64(r.Priority), 10) + ":\t" + strings.Join(RuleArgs(r), " ")
	if len(r.Unmodelled) > 0 {
		s += " (" + rawAttrsString(r.Unmodelled) + ")"
	}
	return s
}

// RuleCommand is the `ip` command that performs verb ("add" or "del") on
// the rule.
func RuleCommand(verb string, r *Rule) string {
	var b strings.Builder
	b.WriteString("ip ")
	if r.Family == V6 {
		b.WriteString("-6 ")
	}
	b.WriteString("rule ")
	b.WriteString(verb)
	for _, a := range RuleArgs(r) {
		b.WriteByte(' ')
		b.WriteString(ShellQuote(a))
	}
	b.WriteString(" pref ")
	b.WriteString(strconv.FormatUint(uint64(r.Priority), 10))
	return b.String()
}

// RouteArgs returns the arguments of `ip route add|del|replace` that
// recreate the route exactly, table and protocol included.
func RouteArgs(r *Route) []string {
	a := make([]string, 0, 16)
	if r.Type != RouteUnicast && r.Type != RouteUnspec {
		a = append(a, r.Type.String())
	}
	if r.IsDefault() {
		a = append(a, "default")
	} else {
		a = append(a, r.Dst.String())
	}
	if r.Tos != 0 {
		a = append(a, "tos", fmt.Sprintf("0x%02x", r.Tos))
	}
	if r.Gw.IsValid() {
		a = append(a, "via", r.Gw.String())
	}
	if r.Dev != "" {
		a = append(a, "dev", r.Dev)
	}
	a = append(a, "table", strconv.FormatUint(uint64(r.Table), 10))
	if r.Proto != ProtoUnspec {
		a = append(a, "proto", strconv.Itoa(int(r.Proto)))
	}
	// IPv6 routes have no scope of their own; `ip -6` refuses nothing but
	// prints none, so say none.
	if r.Family() == V4 {
		a = append(a, "scope", r.Scope.String())
	}
	if r.Src.IsValid() {
		a = append(a, "src", r.Src.String())
	}
	if r.Metric != 0 || r.Family() == V6 {
		a = append(a, "metric", strconv.FormatUint(uint64(r.Metric), 10))
	}
	if r.Onlink {
		a = append(a, "onlink")
	}
	for _, nh := range r.MultiPath {
		a = append(a, "nexthop")
		if nh.Gw.IsValid() {
			a = append(a, "via", nh.Gw.String())
		}
		if nh.Dev != "" {
			a = append(a, "dev", nh.Dev)
		}
		a = append(a, "weight", strconv.Itoa(max(nh.Weight, 1)))
		if nh.Onlink {
			a = append(a, "onlink")
		}
		if nh.Realms != 0 {
			a = append(a, "realms", Realms(nh.Realms))
		}
	}
	return append(a, routeModelArgs(r)...)
}

// routeModelArgs are the `ip route` words of the attributes after the
// next hops, in the order `ip route` prints them.
func routeModelArgs(r *Route) []string {
	var a []string
	if r.From.IsValid() {
		a = append(a, "from", r.From.String())
	}
	if r.NHID != 0 {
		a = append(a, "nhid", strconv.FormatUint(uint64(r.NHID), 10))
	}
	if r.Realms != 0 {
		a = append(a, "realms", Realms(r.Realms))
	}
	if r.Pref != PrefMedium {
		a = append(a, "pref", r.Pref.String())
	}
	return append(a, r.Metrics.Args()...)
}

// routeOpaqueArgs are the words for what nictab keeps but cannot write:
// they follow RouteArgs in RouteString, so comparisons and fingerprints see
// them, but never enter an `ip` command.
func routeOpaqueArgs(r *Route) []string {
	var a []string
	if r.Expires != 0 {
		a = append(a, "expires")
	}
	a = append(a, encapArgs(r.Encap)...)
	for i, nh := range r.MultiPath {
		if nh.Encap != nil || len(nh.Unmodelled) > 0 {
			a = append(a, "nexthop"+strconv.Itoa(i+1))
			a = append(a, encapArgs(nh.Encap)...)
			a = append(a, rawArgs(nh.Unmodelled)...)
		}
	}
	return append(a, rawArgs(r.Unmodelled)...)
}

// RouteString is the route as `ip route show table all` would print it,
// followed by what nictab keeps verbatim.
func RouteString(r *Route) string {
	s := strings.Join(RouteArgs(r), " ")
	if o := routeOpaqueArgs(r); len(o) > 0 {
		s += " " + strings.Join(o, " ")
	}
	return s
}

// RouteCommand is the `ip` command that performs verb ("add", "del" or
// "replace") on the route.
func RouteCommand(verb string, r *Route) string {
	if BasicRoute(r) {
		return string(appendBasicRouteCommand(make([]byte, 0, 96), verb, r))
	}
	return routeCommandWords(verb, r)
}

// routeCommandWords is RouteCommand built from RouteArgs' words, for any
// route.
func routeCommandWords(verb string, r *Route) string {
	var b strings.Builder
	b.WriteString("ip ")
	if r.Family() == V6 {
		b.WriteString("-6 ")
	}
	b.WriteString("route ")
	b.WriteString(verb)
	args := RouteArgs(r)
	if r.NHID != 0 {
		args = withoutNextHops(args)
	}
	// NOTE: `ip route` prints a locked rto_min as "rto_min lock N" but
	// takes no lock for it: it locks every rto_min it writes.
	if i := slices.Index(args, "rto_min"); i >= 0 && i+1 < len(args) && args[i+1] == "lock" {
		args = slices.Delete(slices.Clone(args), i+1, i+2)
	}
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(ShellQuote(a))
	}
	return b.String()
}

// BasicRoute reports whether the route has nothing but the attributes
// of RouteArgs' fixed first words (type, destination, tos, gateway,
// device, table, protocol, scope, source, metric, onlink): no next hops,
// metrics, nexthop object or what nictab keeps verbatim. Printers that
// write those words themselves, a route at a time in one buffer, handle
// such routes whole and leave the others to RouteArgs.
func BasicRoute(r *Route) bool { return len(r.MultiPath) == 0 && !r.hasExtras() }

// appendBasicRouteCommand appends RouteCommand(verb, r) of a BasicRoute
// to b: the words of RouteArgs, each through ShellQuote, without the
// slice of strings.
func appendBasicRouteCommand(b []byte, verb string, r *Route) []byte {
	b = append(b, "ip "...)
	return appendBasicRouteCommandArgs(b, verb, r)
}

// appendBasicRouteCommandArgs is appendBasicRouteCommand after the "ip ".
func appendBasicRouteCommandArgs(b []byte, verb string, r *Route) []byte {
	fam := r.Family()
	if fam == V6 {
		b = append(b, "-6 "...)
	}
	b = append(b, "route "...)
	b = append(b, verb...)
	b = append(b, ' ')
	b = AppendRouteHead(b, r, true)
	if r.Dev != "" {
		b = append(b, " dev "...)
		b = appendShellQuote(b, r.Dev)
	}
	b = append(b, " table "...)
	b = strconv.AppendUint(b, uint64(r.Table), 10)
	if r.Proto != ProtoUnspec {
		b = append(b, " proto "...)
		b = strconv.AppendUint(b, uint64(r.Proto), 10)
	}
	if fam == V4 {
		b = append(b, " scope "...)
		b = appendShellQuote(b, scopeText(r.Scope))
	}
	if r.Src.IsValid() {
		b = append(b, " src "...)
		b = r.Src.AppendTo(b)
	}
	if r.Metric != 0 || fam == V6 {
		b = append(b, " metric "...)
		b = strconv.AppendUint(b, uint64(r.Metric), 10)
	}
	if r.Onlink {
		b = append(b, " onlink"...)
	}
	return b
}

// scopeText is s.String() without the map lookup for the two scopes
// nearly every route has.
func scopeText(s Scope) string {
	switch s {
	case ScopeUniverse:
		return "global"
	case ScopeLink:
		return "link"
	}
	return s.String()
}

// AppendCommand appends CommandIn(netns, o.Command()) to b. The command
// of a BasicRoute is written word by word, the others built as strings:
// a plan of 100k routes prints 100k commands.
func (o Op) AppendCommand(b []byte, netns string) []byte {
	verb := ""
	switch o.Kind {
	case OpAddRoute:
		verb = "add"
	case OpReplaceRoute:
		verb = "replace"
	case OpDelRoute:
		verb = "del"
	}
	if verb == "" || o.Route == nil || !BasicRoute(o.Route) {
		return append(b, CommandIn(netns, o.Command())...)
	}
	b = append(b, "ip "...)
	if netns != "" {
		b = append(b, "-n "...)
		b = appendShellQuote(b, netns)
		b = append(b, ' ')
	}
	return appendBasicRouteCommandArgs(b, verb, o.Route)
}

// withoutNextHops drops the gateway, device and next hops from a route's
// arguments: of a route through a nexthop object they describe the object,
// and `ip route` refuses them beside nhid.
func withoutNextHops(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "via", "dev", "weight", "realms":
			if i > 0 && (args[i] != "realms" || inNextHop(args[:i])) {
				i++
				continue
			}
		case "nexthop", "onlink":
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// inNextHop reports whether the argument after args belongs to a nexthop.
func inNextHop(args []string) bool {
	for i := len(args) - 1; i >= 0; i-- {
		switch args[i] {
		case "nexthop":
			return true
		case "from", "nhid", "pref":
			return false
		}
	}
	return false
}

// ShellQuote quotes s for a POSIX shell when it holds anything but the
// characters of addresses, numbers and ordinary interface names. Interface
// names may hold `$`, `;` or quotes, and a command a person pastes must not
// run them.
func ShellQuote(s string) string {
	if shellSafe(s) {
		return s
	}
	return string(appendShellQuote(nil, s))
}

// shellWord marks the bytes ShellQuote leaves unquoted. Every byte of a
// character outside ASCII is 0x80 or above, so a byte test is the same
// as one on characters.
var shellWord = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c < 0x80 && strings.IndexByte("-_.:/,@%+=", byte(c)) >= 0
	}
	return t
}()

func shellSafe(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !shellWord[s[i]] {
			return false
		}
	}
	return true
}

// appendShellQuote appends ShellQuote(s) to b.
func appendShellQuote(b []byte, s string) []byte {
	if shellSafe(s) {
		return append(b, s...)
	}
	b = append(b, '\'')
	for {
		i := strings.IndexByte(s, '\'')
		if i < 0 {
			break
		}
		b = append(b, s[:i]...)
		b = append(b, `'\''`...)
		s = s[i+1:]
	}
	b = append(b, s...)
	return append(b, '\'')
}

// SafeText makes text from the kernel safe to print on a terminal: control
// characters, escape sequences and invalid UTF-8 are shown as Go escapes, so
// an interface alias cannot move the cursor or repaint the screen.
func SafeText(s string) string {
	if PlainASCII(s) {
		return s
	}
	clean := true
	for _, c := range s {
		if c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\\' || c == 0xfffd {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := strconv.QuoteToGraphic(s)
	return q[1 : len(q)-1]
}

// SafeLines is SafeText for a message of several lines: what lies between
// its line breaks and tabs is made safe, and the breaks and tabs are kept,
// as a terminal shows them and they move nothing. (A rule's text, in many
// messages, holds a tab: RuleString.)
func SafeLines(s string) string {
	if PlainASCII(strings.NewReplacer("\n", " ", "\t", " ").Replace(s)) {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		cells := strings.Split(l, "\t")
		for j, c := range cells {
			cells[j] = SafeText(c)
		}
		lines[i] = strings.Join(cells, "\t")
	}
	return strings.Join(lines, "\n")
}

// PlainASCII reports whether s is printable ASCII without a backslash:
// text SafeText returns as it is, found without decoding characters.
func PlainASCII[S string | []byte](s S) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}
