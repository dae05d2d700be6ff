package netcfg

import (
	"fmt"
	"net/netip"
	"strconv"
)

// Intent is what a person asks for, as a snapshot file says it: which NIC
// goes to which table, plus explicit extra rules and routes. Resolve turns
// it into concrete rules and routes against a live state.
type Intent struct {
	Tables []TableDef    `json:"tables,omitempty"`
	NICs   []NICIntent   `json:"nics,omitempty"`
	Rules  []RuleIntent  `json:"rules,omitempty"`
	Routes []RouteIntent `json:"routes,omitempty"`
}

// TableDef gives a table a name.
type TableDef struct {
	ID   uint32 `json:"id"`
	Name string `json:"name,omitempty"`
}

// TableRef names a table by id or by name; exactly one is set.
type TableRef struct {
	ID   uint32 `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

func (t TableRef) String() string {
	if t.Name != "" {
		return t.Name
	}
	return strconv.FormatUint(uint64(t.ID), 10)
}

// Selector is a way a rule picks a NIC's traffic.
type Selector string

const (
	SelectFrom   Selector = "from"
	SelectOIF    Selector = "oif"
	SelectIIF    Selector = "iif"
	SelectFwmark Selector = "fwmark"
)

// Selectors lists every selector, in the order rules are made for them.
var Selectors = []Selector{SelectFrom, SelectOIF, SelectIIF, SelectFwmark}

// NICIntent sends one NIC's traffic through a table.
type NICIntent struct {
	Name  string   `json:"name"`
	Table TableRef `json:"table"`
	// Gateways holds at most one gateway per family; a family without one
	// takes the gateway main uses through the NIC.
	Gateways []netip.Addr `json:"gateways,omitempty"`
	// Select defaults to [from].
	Select []Selector `json:"select,omitempty"`
	FwMark *FwMark    `json:"fwmark,omitempty"`
	// Priority is 0 when nictab allocates it.
	Priority uint32 `json:"priority,omitempty"`
}

// RuleIntent is an explicit extra rule. A rule with neither From nor To is
// made for both families.
type RuleIntent struct {
	Priority uint32 `json:"priority,omitempty"`
	// Not inverts the whole selector (`ip rule add not from …`).
	Not    bool         `json:"not,omitempty"`
	From   netip.Prefix `json:"from,omitzero"`
	To     netip.Prefix `json:"to,omitzero"`
	IIF    string       `json:"iif,omitempty"`
	OIF    string       `json:"oif,omitempty"`
	FwMark *FwMark      `json:"fwmark,omitempty"`
	// UIDRange, IPProto, SPort and DPort select by the sending user, the
	// IP protocol and its ports (a range, or one port under a mask).
	UIDRange *UIDRange  `json:"uidrange,omitempty"`
	IPProto  uint8      `json:"ipproto,omitempty"`
	SPort    *PortRange `json:"sport,omitempty"`
	DPort    *PortRange `json:"dport,omitempty"`
	// Tos and DSCP select by the DS field, the old way (the whole byte)
	// or the new (FRA_DSCP, six bits under a mask); a rule has one or
	// neither.
	Tos  uint8      `json:"tos,omitempty"`
	DSCP *DSCPMatch `json:"dscp,omitempty"`
	// FlowLabel makes the rule IPv6-only.
	FlowLabel *FlowLabel `json:"flowlabel,omitempty"`
	// TunID is 0 for no selector, as in the kernel.
	TunID uint64   `json:"tun_id,omitempty"`
	Table TableRef `json:"table,omitzero"`
	// Action is lookup (Table) when 0; else one of IntentRuleActions,
	// which take no table.
	Action RuleAction `json:"action,omitempty"`
	// Goto is the priority a goto rule continues at.
	Goto uint32 `json:"goto,omitempty"`
}

// IntentRuleActions are the actions an explicit rule may take besides
// lookup: blackhole, unreachable and prohibit end the lookup with an error
// the sender sees; goto continues at a later priority, nop at the next
// rule.
var IntentRuleActions = []RuleAction{ActionBlackhole, ActionUnreachable, ActionProhibit, ActionGoto, ActionNop}

// Lookup reports whether the rule sends packets to its table.
func (x *RuleIntent) Lookup() bool { return x.Action == ActionUnspec || x.Action == ActionLookup }

// RouteIntent is an explicit extra route.
type RouteIntent struct {
	Table  TableRef     `json:"table"`
	Type   RouteType    `json:"type,omitempty"`
	To     netip.Prefix `json:"to"`
	Via    netip.Addr   `json:"via,omitzero"`
	Dev    string       `json:"dev,omitempty"`
	Src    netip.Addr   `json:"src,omitzero"`
	Scope  *Scope       `json:"scope,omitempty"`
	Metric uint32       `json:"metric,omitempty"`
	// MTU and AdvMSS are the route's mtu and advmss metrics (unlocked);
	// 0 leaves them unset.
	MTU    uint32 `json:"mtu,omitempty"`
	AdvMSS uint32 `json:"advmss,omitempty"`
}

// RTAXAdvMSS is the advmss metric's number (RTAX_ADVMSS).
const RTAXAdvMSS = 8

// FieldError is bad input tied to one field of an intent, named by its path
// in the snapshot file ("nics[0].gateway"), so the file reader can point at
// the line.
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(field, format string, a ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, a...)}
}
