// Package netcfg reads the live policy-routing state of a network namespace,
// turns a person's intent into the concrete rules and routes it means,
// plans the changes between the two and applies them through netlink.
//
// The types in this file are plain values: they import no netlink, so the
// planner, the resolver and the lookup simulator (netcfg/lookup) build and
// test anywhere.
package netcfg

import (
	"net/netip"
	"strconv"

	"github.com/nictab/nictab/internal/enum"
)

// Family is an address family. Its values are the IP versions so that they
// read naturally in tests and JSON.
type Family uint8

const (
	V4 Family = 4
	V6 Family = 6
)

func (f Family) String() string {
	switch f {
	case V4:
		return "inet"
	case V6:
		return "inet6"
	}
	return "family" + strconv.Itoa(int(f))
}

// FamilyOf reports the family of an address.
func FamilyOf(a netip.Addr) Family {
	if a.Is4() || a.Is4In6() {
		return V4
	}
	return V6
}

// Well-known routing tables. The kernel owns 0 and 253–255.
const (
	TableUnspec  uint32 = 0
	TableDefault uint32 = 253
	TableMain    uint32 = 254
	TableLocal   uint32 = 255
)

// ReservedTable reports whether a table id belongs to the kernel and may
// never be managed by nictab.
func ReservedTable(id uint32) bool {
	return id == TableUnspec || (id >= TableDefault && id <= TableLocal)
}

// ProtoNictab is the routing protocol number that marks every rule and route
// nictab installs (rtm_protocol on routes, FRA_PROTOCOL on rules).
//
// NOTE: ownership is decided by this number alone. 201 is not used by any
// protocol in the kernel's rtnetlink.h or iproute2's rt_protos, nor by the
// routing daemons we know of (zebra 11, bird 12, babel 42, bgp 186–192,
// keepalived 18). nictab names it in rt_protos.d/nictab.conf so `ip` prints
// "proto nictab".
const ProtoNictab uint8 = 201

// Kernel protocol numbers that nictab needs to recognise.
const (
	ProtoUnspec uint8 = 0
	ProtoKernel uint8 = 2
	ProtoBoot   uint8 = 3
	ProtoStatic uint8 = 4
	ProtoRA     uint8 = 9
	ProtoDHCP   uint8 = 16
)

// Scope is a route or address scope (rtm_scope).
type Scope uint8

const (
	ScopeUniverse Scope = 0
	ScopeSite     Scope = 200
	ScopeLink     Scope = 253
	ScopeHost     Scope = 254
	ScopeNowhere  Scope = 255
)

var scopes = enum.Table[Scope]{What: "scope", Names: map[Scope]string{
	ScopeUniverse: "global",
	ScopeSite:     "site",
	ScopeLink:     "link",
	ScopeHost:     "host",
	ScopeNowhere:  "nowhere",
}, Aliases: map[string]Scope{"universe": ScopeUniverse}, Numbers: true, Want: " (want global, site, link, host, nowhere or 0–255)"}

func (s Scope) String() string { return scopes.Text(s) }

// ParseScope accepts the names `ip` prints and plain numbers.
func ParseScope(s string) (Scope, error) { return scopes.Parse(s) }

func (s Scope) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

func (s *Scope) UnmarshalText(b []byte) error { return scopes.Unmarshal(s, b) }

// RouteType is rtm_type.
type RouteType uint8

const (
	RouteUnspec      RouteType = 0
	RouteUnicast     RouteType = 1
	RouteLocal       RouteType = 2
	RouteBroadcast   RouteType = 3
	RouteAnycast     RouteType = 4
	RouteMulticast   RouteType = 5
	RouteBlackhole   RouteType = 6
	RouteUnreachable RouteType = 7
	RouteProhibit    RouteType = 8
	RouteThrow       RouteType = 9
	RouteNAT         RouteType = 10
)

var routeTypes = enum.Table[RouteType]{What: "route type", Names: map[RouteType]string{
	RouteUnspec: "unspec", RouteUnicast: "unicast", RouteLocal: "local", RouteBroadcast: "broadcast",
	RouteAnycast: "anycast", RouteMulticast: "multicast", RouteBlackhole: "blackhole",
	RouteUnreachable: "unreachable", RouteProhibit: "prohibit", RouteThrow: "throw", RouteNAT: "nat",
}}

func (t RouteType) String() string { return routeTypes.Text(t) }

// ParseRouteType accepts the names `ip route` uses.
func ParseRouteType(s string) (RouteType, error) { return routeTypes.Parse(s) }

func (t RouteType) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func (t *RouteType) UnmarshalText(b []byte) error { return routeTypes.Unmarshal(t, b) }

// RuleAction is the fib rule action (frh.action).
type RuleAction uint8

const (
	ActionUnspec      RuleAction = 0
	ActionLookup      RuleAction = 1 // FR_ACT_TO_TBL
	ActionGoto        RuleAction = 2
	ActionNop         RuleAction = 3
	ActionBlackhole   RuleAction = 6
	ActionUnreachable RuleAction = 7
	ActionProhibit    RuleAction = 8
	// ActionNAT is RTN_NAT, which `ip rule add nat ADDR` still sends; the
	// kernel keeps such a rule but answers every lookup it decides with
	// EINVAL, as for an action it does not know.
	ActionNAT RuleAction = 10
)

var ruleActions = enum.Table[RuleAction]{What: "rule action", Names: map[RuleAction]string{
	ActionUnspec:      "unspec",
	ActionLookup:      "lookup",
	ActionGoto:        "goto",
	ActionNop:         "nop",
	ActionBlackhole:   "blackhole",
	ActionUnreachable: "unreachable",
	ActionProhibit:    "prohibit",
	ActionNAT:         "nat",
}}

func (a RuleAction) String() string { return ruleActions.Text(a) }

// ParseRuleAction accepts the names `ip rule` uses.
func ParseRuleAction(s string) (RuleAction, error) { return ruleActions.Parse(s) }

func (a RuleAction) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a *RuleAction) UnmarshalText(b []byte) error { return ruleActions.Unmarshal(a, b) }

// Addr is an address configured on a link, with its prefix length
// (192.168.10.2/24).
type Addr struct {
	Prefix netip.Prefix `json:"prefix"`
	Scope  Scope        `json:"scope"`
	// Flags holds the address flags `ip addr` prints that change how the
	// address may be used (tentative, dadfailed, deprecated, noprefixroute).
	Flags []string `json:"flags,omitempty"`
	// Dynamic is set for an address the kernel will expire (DHCP, SLAAC:
	// not IFA_F_PERMANENT); exports carry it as DHCP or router
	// advertisements rather than as a fixed address.
	Dynamic bool `json:"dynamic,omitempty"`
}

// Link is a network interface.
type Link struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	// Kind is the rtnetlink link kind ("veth", "bridge", "vlan", …); empty
	// for a plain device such as a physical NIC.
	Kind      string `json:"kind,omitempty"`
	OperState string `json:"operstate"`
	Up        bool   `json:"up"`
	Carrier   bool   `json:"carrier"`
	MAC       string `json:"mac,omitempty"`
	MTU       int    `json:"mtu"`
	Alias     string `json:"alias,omitempty"`
	Master    string `json:"master,omitempty"`
	Group     uint32 `json:"group"`
	Loopback  bool   `json:"loopback,omitempty"`
	Addrs     []Addr `json:"addrs"`
}

// NextHop is one path of a multipath route.
type NextHop struct {
	Gw     netip.Addr `json:"gateway,omitzero"`
	Dev    string     `json:"dev,omitempty"`
	Weight int        `json:"weight"`
	Onlink bool       `json:"onlink,omitempty"`
	// Realms is the next hop's RTA_FLOW.
	Realms uint32 `json:"realms,omitempty"`
	// Encap is the next hop's own lightweight tunnel, kept verbatim.
	Encap *Encap `json:"encap,omitempty"`
	// Dead and LinkDown are kernel state (RTNH_F_DEAD, RTNH_F_LINKDOWN),
	// shown but not compared: they follow the link, not the configuration.
	Dead     bool `json:"dead,omitempty"`
	LinkDown bool `json:"linkdown,omitempty"`
	// Unmodelled holds the next hop's attributes nictab does not model.
	Unmodelled []RawAttr `json:"unmodelled,omitempty"`
}

// Route is one entry of a routing table, with the fields an administrator
// reads in `ip route`.
type Route struct {
	Table  uint32       `json:"table"`
	Type   RouteType    `json:"type"`
	Dst    netip.Prefix `json:"dst"`
	Gw     netip.Addr   `json:"gateway,omitzero"`
	Dev    string       `json:"dev,omitempty"`
	Src    netip.Addr   `json:"prefsrc,omitzero"`
	Scope  Scope        `json:"scope"`
	Proto  uint8        `json:"protocol"`
	Metric uint32       `json:"metric"`
	Tos    uint8        `json:"tos,omitempty"`
	Onlink bool         `json:"onlink,omitempty"`
	// MultiPath holds the next hops of an ECMP route; Gw and Dev are then
	// empty.
	MultiPath []NextHop `json:"nexthops,omitempty"`
	// From is an IPv6 source-specific route's source prefix (RTA_SRC,
	// `ip -6 route add … from P`); it is part of the route's identity.
	From netip.Prefix `json:"from,omitzero"`
	// NHID is the nexthop object the route uses (RTA_NH_ID). The kernel
	// still reports the object's gateway and device in Gw, Dev and
	// MultiPath so the route can be read and simulated like any other.
	NHID uint32 `json:"nhid,omitempty"`
	// Metrics is RTA_METRICS (mtu, advmss, congctl, …); nil when none is
	// set, never a pointer to zero Metrics (see Metrics.Ptr).
	Metrics *Metrics `json:"metrics,omitzero"`
	// Pref is the IPv6 router preference (RTA_PREF).
	Pref RoutePref `json:"pref,omitempty"`
	// Realms is RTA_FLOW.
	Realms uint32 `json:"realms,omitempty"`
	// Expires is the seconds an expiring IPv6 route had left when it was
	// read (rta_cacheinfo.rta_expires); 0 for a route that does not expire.
	// Comparisons see only whether a route expires, not the count.
	Expires uint32 `json:"expires,omitempty"`
	// Encap is the route's lightweight tunnel (RTA_ENCAP_TYPE, RTA_ENCAP),
	// kept verbatim.
	Encap *Encap `json:"encap,omitempty"`
	// Dead and LinkDown are kernel state of a single-path route
	// (RTNH_F_DEAD, RTNH_F_LINKDOWN in rtm_flags), not compared.
	Dead     bool `json:"dead,omitempty"`
	LinkDown bool `json:"linkdown,omitempty"`
	// Unmodelled holds the attributes nictab does not model, verbatim.
	Unmodelled []RawAttr `json:"unmodelled,omitempty"`
}

// Family reports the family of the route's destination.
func (r *Route) Family() Family { return FamilyOf(r.Dst.Addr()) }

// Owned reports whether nictab installed the route.
func (r *Route) Owned() bool { return r.Proto == ProtoNictab }

// IsDefault reports whether the route's destination is 0.0.0.0/0 or ::/0.
func (r *Route) IsDefault() bool { return r.Dst.Bits() == 0 }

// PortRange is a rule's sport or dport selector.
type PortRange struct {
	Start uint16 `json:"start"`
	End   uint16 `json:"end"`
	// Mask, when not 0, makes the selector match ports whose bits under
	// the mask equal Start (FRA_SPORT_MASK, FRA_DPORT_MASK); End is then
	// Start.
	Mask uint16 `json:"mask,omitempty"`
}

// FwMark is a rule's fwmark selector. Mask is 0xffffffff when the rule
// gives no mask.
type FwMark struct {
	Value uint32 `json:"value"`
	Mask  uint32 `json:"mask"`
}

// UIDRange is a rule's uidrange selector.
type UIDRange struct {
	Start uint32 `json:"start"`
	End   uint32 `json:"end"`
}

// Rule is a routing policy rule, as `ip rule` shows it.
type Rule struct {
	Family   Family `json:"family"`
	Priority uint32 `json:"priority"`
	// Not inverts the selector (`ip rule add not from …`).
	Not  bool         `json:"not,omitempty"`
	From netip.Prefix `json:"from,omitzero"`
	To   netip.Prefix `json:"to,omitzero"`
	IIF  string       `json:"iif,omitempty"`
	OIF  string       `json:"oif,omitempty"`
	// Mark is nil when the rule has no fwmark selector; fwmark 0 is a
	// selector of its own.
	Mark     *FwMark    `json:"fwmark,omitempty"`
	Tos      uint8      `json:"tos,omitempty"`
	UIDRange *UIDRange  `json:"uidrange,omitempty"`
	IPProto  uint8      `json:"ipproto,omitempty"`
	SPort    *PortRange `json:"sport,omitempty"`
	DPort    *PortRange `json:"dport,omitempty"`
	L3MDev   bool       `json:"l3mdev,omitempty"`
	Action   RuleAction `json:"action"`
	Table    uint32     `json:"table,omitempty"`
	// Goto is the priority a goto rule jumps to.
	Goto uint32 `json:"goto,omitempty"`
	// SuppressPrefixLen and SuppressIfgroup are -1 when unset, as in the
	// kernel; 0 is a meaningful prefix length and group.
	SuppressPrefixLen int   `json:"suppress_prefixlength"`
	SuppressIfgroup   int   `json:"suppress_ifgroup"`
	Proto             uint8 `json:"protocol"`
	// DSCP is nil when the rule has no dscp selector (FRA_DSCP); dscp 0 is
	// a selector of its own. IPv4 rules made with `tos` keep Tos instead.
	DSCP *DSCPMatch `json:"dscp,omitempty"`
	// FlowLabel is an IPv6 rule's flowlabel selector.
	FlowLabel *FlowLabel `json:"flowlabel,omitempty"`
	// TunID matches the tunnel id of packets from metadata-collecting
	// tunnels (FRA_TUN_ID); 0 means no selector, as in the kernel.
	TunID uint64 `json:"tun_id,omitempty"`
	// Realms is FRA_FLOW: the realms an IPv4 lookup through the rule gets.
	Realms uint32 `json:"realms,omitempty"`
	// Unresolved marks a goto rule whose target does not exist (kernel
	// state, FIB_RULE_UNRESOLVED), not compared.
	Unresolved bool `json:"unresolved,omitempty"`
	// Unmodelled holds the attributes nictab does not model, verbatim.
	Unmodelled []RawAttr `json:"unmodelled,omitempty"`
}

// NewRule returns a rule with every optional selector unset.
func NewRule() Rule {
	return Rule{Action: ActionLookup, SuppressPrefixLen: -1, SuppressIfgroup: -1}
}

// Owned reports whether nictab installed the rule.
func (r *Rule) Owned() bool { return r.Proto == ProtoNictab }

// TableName is one line of an rt_tables file: a name for a table id.
type TableName struct {
	ID   uint32 `json:"id"`
	Name string `json:"name"`
	// File is where the name was read; empty for names that exist only in a
	// desired state.
	File string `json:"file,omitempty"`
}
