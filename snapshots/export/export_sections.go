package export

import (
	"fmt"
	"strconv"

	"github.com/nictab/nictab/netcfg"
)

// ndKind is how a networkd setting's value is typed in Nix: NixOS checks
// that Priority, Table and friends are integers, and a string there fails
// the build.
type ndKind uint8

const (
	ndString ndKind = iota
	ndInt
	ndBool
)

// carriedElsewhere ends a refusal of the networkd exports: what can carry
// the object instead.
const carriedElsewhere = "; the scripted flavour (--flavor scripted) and the ip export carry it"

// ndField is one setting of a [RoutingPolicyRule] or [Route] section.
type ndField struct {
	Key  string
	Text string
	Kind ndKind
}

func ndStr(k, v string) ndField { return ndField{Key: k, Text: v} }

func ndNum[T ~uint8 | ~uint16 | ~uint32 | ~int](k string, v T) ndField {
	return ndField{Key: k, Text: strconv.FormatInt(int64(v), 10), Kind: ndInt}
}

// nixText is the value as Nix says it.
func (f ndField) nixText(w *nixWriter) string {
	if f.Kind == ndString {
		return w.str(f.Key, f.Text)
	}
	return f.Text
}

// ruleSection maps a rule onto systemd.network(5)'s [RoutingPolicyRule].
// legacy is set for the wrapped NixOS layout (24.05 and older), whose
// checks take FirewallMark and the ports as integers only.
//
// NOTE: networkd has no setting for a rule's protocol; it installs its
// rules as "proto static". The export says so in its header rather than
// refuse every rule.
func ruleSection(r *netcfg.Rule, legacy bool) ([]ndField, error) {
	what := func() string { return ruleText(r) }
	var fs []ndField
	from := r.From.IsValid() && r.From.Bits() > 0
	to := r.To.IsValid() && r.To.Bits() > 0
	if !from && !to {
		fam := "ipv4"
		if r.Family == netcfg.V6 {
			fam = "ipv6"
		}
		// networkd takes a rule without addresses as IPv4 only.
		fs = append(fs, ndStr("Family", fam))
	}
	if r.Not {
		fs = append(fs, ndField{Key: "InvertRule", Text: "true", Kind: ndBool})
	}
	if from {
		fs = append(fs, ndStr("From", r.From.String()))
	}
	if to {
		fs = append(fs, ndStr("To", r.To.String()))
	}
	for _, d := range []struct{ key, name string }{{"IncomingInterface", r.IIF}, {"OutgoingInterface", r.OIF}} {
		if d.name == "" {
			continue
		}
		if err := checkNetworkdIfName("the interface of "+what(), d.name); err != nil {
			return nil, err
		}
		fs = append(fs, ndStr(d.key, d.name))
	}
	if m := r.Mark; m != nil {
		switch {
		case m.Value == 0:
			return nil, exportErrf("%s matches fwmark 0, which systemd-networkd cannot express (FirewallMark takes 1–4294967295)"+carriedElsewhere, what())
		case m.Mask == 0xffffffff:
			fs = append(fs, ndNum("FirewallMark", m.Value))
		case legacy:
			return nil, exportErrf("%s has a fwmark mask, which NixOS before 24.11 does not accept in FirewallMark; export for a newer release with --nixos", what())
		default:
			fs = append(fs, ndStr("FirewallMark", fmt.Sprintf("%d/%d", m.Value, m.Mask)))
		}
	}
	if r.Tos != 0 {
		fs = append(fs, ndNum("TypeOfService", r.Tos))
	}
	if r.IPProto != 0 {
		fs = append(fs, ndNum("IPProtocol", r.IPProto))
	}
	for _, p := range []struct {
		key string
		r   *netcfg.PortRange
	}{{"SourcePort", r.SPort}, {"DestinationPort", r.DPort}} {
		switch {
		case p.r == nil:
		case p.r.Start == p.r.End:
			fs = append(fs, ndNum(p.key, p.r.Start))
		case legacy:
			return nil, exportErrf("%s has a port range, which NixOS before 24.11 does not accept in %s; export for a newer release with --nixos", what(), p.key)
		default:
			fs = append(fs, ndStr(p.key, fmt.Sprintf("%d-%d", p.r.Start, p.r.End)))
		}
	}
	if u := r.UIDRange; u != nil {
		fs = append(fs, ndStr("User", fmt.Sprintf("%d-%d", u.Start, u.End)))
	}
	if r.L3MDev {
		return nil, exportErrf("%s is an l3mdev rule, which systemd-networkd cannot express"+carriedElsewhere, what())
	}
	switch r.Action {
	case netcfg.ActionLookup:
		if r.Table == netcfg.TableUnspec {
			return nil, exportErrf("%s looks up table 0, which systemd-networkd cannot express"+carriedElsewhere, what())
		}
		fs = append(fs, ndNum("Table", r.Table))
	case netcfg.ActionBlackhole, netcfg.ActionUnreachable, netcfg.ActionProhibit:
		fs = append(fs, ndStr("Type", r.Action.String()))
	default:
		return nil, exportErrf("%s has the action %s, which systemd-networkd cannot express (it knows table lookups, blackhole, unreachable and prohibit)"+carriedElsewhere, what(), r.Action)
	}
	fs = append(fs, ndNum("Priority", r.Priority))
	if r.SuppressPrefixLen >= 0 {
		fs = append(fs, ndNum("SuppressPrefixLength", r.SuppressPrefixLen))
	}
	if r.SuppressIfgroup >= 0 {
		fs = append(fs, ndNum("SuppressInterfaceGroup", r.SuppressIfgroup))
	}
	return fs, nil
}

// defaultScope is the scope `ip route add` and networkd give an IPv4 route
// that names none.
func defaultScope(r *netcfg.Route) netcfg.Scope {
	switch r.Type {
	case netcfg.RouteLocal, netcfg.RouteNAT:
		return netcfg.ScopeHost
	case netcfg.RouteBroadcast, netcfg.RouteMulticast, netcfg.RouteAnycast:
		return netcfg.ScopeLink
	case netcfg.RouteUnicast, netcfg.RouteUnspec:
		if !r.Gw.IsValid() {
			return netcfg.ScopeLink
		}
	}
	return netcfg.ScopeUniverse
}

// needScope reports whether an IPv4 route must name its scope: always when
// it is narrower than global, so the text shows it, and when global differs
// from what would be picked without it.
func needScope(r *netcfg.Route) bool {
	return r.Family() == netcfg.V4 && (r.Scope != netcfg.ScopeUniverse || defaultScope(r) != netcfg.ScopeUniverse)
}

// v6KernelMetric is the metric the kernel gives an IPv6 route without one;
// saying it adds nothing.
const v6KernelMetric = 1024

func needMetric(r *netcfg.Route) bool {
	if r.Family() == netcfg.V6 {
		return r.Metric != v6KernelMetric && r.Metric != 0
	}
	return r.Metric != 0
}

// routeSection maps a route onto systemd.network(5)'s [Route]. The device
// is not a setting: it is the link of the unit the section goes in.
func routeSection(r *netcfg.Route) ([]ndField, error) {
	what := func() string { return routeText(r) }
	if len(r.MultiPath) > 0 {
		return nil, exportErrf("%s has several next hops, which this export cannot express yet"+carriedElsewhere, what())
	}
	if r.Tos != 0 {
		return nil, exportErrf("%s selects a TOS, which systemd-networkd's [Route] cannot express"+carriedElsewhere, what())
	}
	var fs []ndField
	if r.Type != netcfg.RouteUnicast && r.Type != netcfg.RouteUnspec {
		fs = append(fs, ndStr("Type", r.Type.String()))
	}
	if !r.IsDefault() || !r.Gw.IsValid() {
		fs = append(fs, ndStr("Destination", r.Dst.String()))
	}
	if r.Gw.IsValid() {
		fs = append(fs, ndStr("Gateway", r.Gw.String()))
	}
	// NOTE: said either way: networkd turns GatewayOnLink on by itself
	// for a route with a gateway on a unit with no static address (a DHCP
	// NIC's), which is not the route nictab applied. Off, it waits until
	// the gateway is reachable.
	if r.Gw.IsValid() {
		fs = append(fs, ndField{Key: "GatewayOnLink", Text: strconv.FormatBool(r.Onlink), Kind: ndBool})
	}
	fs = append(fs, ndNum("Table", r.Table))
	if needScope(r) {
		switch r.Scope {
		case netcfg.ScopeUniverse, netcfg.ScopeSite, netcfg.ScopeLink, netcfg.ScopeHost, netcfg.ScopeNowhere:
			fs = append(fs, ndStr("Scope", r.Scope.String()))
		default:
			return nil, exportErrf("%s has the numeric scope %d, which systemd-networkd cannot express"+carriedElsewhere, what(), r.Scope)
		}
	}
	if r.Src.IsValid() {
		fs = append(fs, ndStr("PreferredSource", r.Src.String()))
	}
	if needMetric(r) {
		fs = append(fs, ndNum("Metric", r.Metric))
	}
	return fs, nil
}
