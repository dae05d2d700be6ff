package netcfg

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
)

// Packet is a packet to route: what `ip route get` takes. Only Dst is
// required.
type Packet struct {
	Dst netip.Addr `json:"dst"`
	// Src is the source address. A packet sent by this host without one
	// gets the source the kernel would choose.
	Src netip.Addr `json:"src,omitzero"`
	// IIF makes the packet one that arrives on that NIC, to be forwarded
	// or delivered here, instead of one this host sends.
	IIF string `json:"iif,omitempty"`
	// OIF is the device a sending socket is bound to.
	OIF  string `json:"oif,omitempty"`
	Mark uint32 `json:"fwmark,omitempty"`
	// UID is the user that sends the packet; nil is root for a packet this
	// host sends, and no user at all for one that arrives.
	UID     *uint32 `json:"uid,omitempty"`
	IPProto uint8   `json:"ipproto,omitempty"`
	SPort   uint16  `json:"sport,omitempty"`
	DPort   uint16  `json:"dport,omitempty"`
	// Tos is the DS field of the IP header (DSCP and ECN).
	Tos uint8 `json:"tos,omitempty"`
	// FlowLabel is an IPv6 packet's flow label.
	FlowLabel uint32 `json:"flowlabel,omitempty"`
	// TunID is the tunnel id a metadata-collecting tunnel gave an arriving
	// packet; 0 for one this host sends.
	TunID uint64 `json:"tun_id,omitempty"`
	// Unknown lists the fields the probe does not know. A rule that
	// selects on one of them, and on nothing that already excludes the
	// packet, makes the answer undetermined rather than a guess. The zero
	// value knows every field, as `ip route get` takes 0 for what it is
	// not given.
	Unknown PacketFields `json:"unknown,omitempty"`
}

// PacketFields is a set of a packet's fields.
type PacketFields uint16

const (
	FieldTos PacketFields = 1 << iota
	FieldFlowLabel
	FieldIPProto
	FieldSPort
	FieldDPort
	FieldUID
	FieldTunID
)

var fieldNames = []struct {
	f          PacketFields
	name, flag string
}{
	{FieldTos, "dscp/tos", "--dscp or --tos"}, {FieldFlowLabel, "flowlabel", "--flowlabel"},
	{FieldIPProto, "ipproto", "--ipproto"}, {FieldSPort, "sport", "--sport"}, {FieldDPort, "dport", "--dport"},
	{FieldUID, "uid", "--uid"}, {FieldTunID, "tun_id", "--tun-id"},
}

// Names lists the fields of the set as `ip rule` names them.
func (f PacketFields) Names() []string {
	var out []string
	for _, n := range fieldNames {
		if f&n.f != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// Flags lists the trace flags that would give the fields of the set.
func (f PacketFields) Flags() []string {
	var out []string
	for _, n := range fieldNames {
		if f&n.f != 0 {
			out = append(out, n.flag)
		}
	}
	return out
}

func (f PacketFields) MarshalJSON() ([]byte, error) {
	names := f.Names()
	if names == nil {
		names = []string{}
	}
	return json.Marshal(names)
}

func (f *PacketFields) UnmarshalJSON(b []byte) error {
	var names []string
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	*f = 0
	for _, s := range names {
		i := slices.IndexFunc(fieldNames, func(n struct {
			f          PacketFields
			name, flag string
		}) bool {
			return n.name == s
		})
		if i < 0 {
			return fmt.Errorf("unknown packet field %q", s)
		}
		*f |= fieldNames[i].f
	}
	return nil
}

// Family reports the family of the packet's destination.
func (p *Packet) Family() Family { return FamilyOf(p.Dst) }

// Verdict is what happens to a traced packet.
type Verdict uint8

const (
	// VerdictRouted: the packet leaves through Path.Dev.
	VerdictRouted Verdict = iota + 1
	// VerdictLocal: the packet is for this host.
	VerdictLocal
	// VerdictBroadcast: the packet is a broadcast on Path.Dev (or, when
	// it arrives, delivered here as one).
	VerdictBroadcast
	// VerdictBlackhole: the packet is dropped without a word.
	VerdictBlackhole
	// VerdictUnreachable: the packet is dropped and the sender told the
	// destination is unreachable.
	VerdictUnreachable
	// VerdictProhibit: the packet is dropped and the sender told it is
	// administratively prohibited.
	VerdictProhibit
	// VerdictNoRoute: no rule led to a route.
	VerdictNoRoute
	// VerdictRefused: the kernel refuses the packet before or after the
	// lookup (a source that is not this host's, a martian address).
	VerdictRefused
	// VerdictLoop: the rules jump backwards; the kernel would not accept
	// such a rule set.
	VerdictLoop
	// VerdictUndetermined: a rule selects on a field the probe does not
	// give, or on something nictab cannot simulate; Path.Rule names it.
	VerdictUndetermined
)

var verdicts = enum[Verdict]{what: "verdict", prefix: "verdict", names: map[Verdict]string{
	VerdictRouted: "routed", VerdictLocal: "local", VerdictBroadcast: "broadcast", VerdictBlackhole: "blackhole",
	VerdictUnreachable: "unreachable", VerdictProhibit: "prohibit", VerdictNoRoute: "no route",
	VerdictRefused: "refused", VerdictLoop: "loop", VerdictUndetermined: "undetermined",
}}

func (v Verdict) String() string { return verdicts.text(v) }

func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

func (v *Verdict) UnmarshalText(b []byte) error { return verdicts.unmarshal(v, b) }

// Delivered reports whether the packet goes somewhere: out through a NIC,
// to this host, or as a broadcast.
func (v Verdict) Delivered() bool {
	return v == VerdictRouted || v == VerdictLocal || v == VerdictBroadcast
}

// Errno is the error `ip route get` reports for a packet that is not
// delivered, named as the kernel names it.
type Errno uint8

const (
	ENETUNREACH Errno = iota + 1
	EHOSTUNREACH
	EACCES
	EINVAL
)

var errnoNames = [...][2]string{
	{"", ""},
	{"ENETUNREACH", "Network is unreachable"},
	{"EHOSTUNREACH", "No route to host"},
	{"EACCES", "Permission denied"},
	{"EINVAL", "Invalid argument"},
}

// Name is the errno's C name ("ENETUNREACH").
func (e Errno) Name() string {
	if int(e) < len(errnoNames) {
		return errnoNames[e][0]
	}
	return "errno" + strconv.Itoa(int(e))
}

// String is the errno's text as `ip` prints it ("Network is unreachable").
func (e Errno) String() string {
	if int(e) < len(errnoNames) {
		return errnoNames[e][1]
	}
	return e.Name()
}

func (e Errno) MarshalText() ([]byte, error) { return []byte(e.Name()), nil }

func (e *Errno) UnmarshalText(b []byte) error {
	for i, n := range errnoNames {
		if i > 0 && n[0] == string(b) {
			*e = Errno(i)
			return nil
		}
	}
	return fmt.Errorf("unknown errno %q", b)
}

// StepResult says what one rule did with the packet.
type StepResult uint8

const (
	// StepNoMatch: the rule's selectors do not match; next rule.
	StepNoMatch StepResult = iota + 1
	// StepGoto: the rule matches and jumps to its goto priority.
	StepGoto
	// StepGotoUnresolved: the rule matches, but no rule has the priority
	// it jumps to, so the kernel goes on with the next rule.
	StepGotoUnresolved
	// StepNop: the rule matches and does nothing.
	StepNop
	// StepNoRoute: the rule's table has no route for the packet; next
	// rule.
	StepNoRoute
	// StepThrow: the table's best route is a throw route; next rule.
	StepThrow
	// StepSuppressed: the table has a route, but the rule's
	// suppress_prefixlength or suppress_ifgroup rejects it; next rule.
	StepSuppressed
	// StepDecided: the rule decides the packet's fate.
	StepDecided
	// StepLoop: the rule jumps backwards.
	StepLoop
	// StepUndetermined: whether the rule matches depends on what the
	// probe does not say or nictab cannot simulate; the walk stops.
	StepUndetermined
)

var stepResults = enum[StepResult]{what: "step result", prefix: "step", names: map[StepResult]string{
	StepNoMatch: "no match", StepGoto: "goto", StepGotoUnresolved: "goto unresolved", StepNop: "nop",
	StepNoRoute: "no route", StepThrow: "throw", StepSuppressed: "suppressed", StepDecided: "decided",
	StepLoop: "loop", StepUndetermined: "undetermined",
}}

func (r StepResult) String() string { return stepResults.text(r) }

func (r StepResult) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

func (r *StepResult) UnmarshalText(b []byte) error { return stepResults.unmarshal(r, b) }

// Step is one rule the kernel tried, in the order it tried them.
type Step struct {
	Rule   Rule       `json:"rule"`
	Result StepResult `json:"result"`
	// Why explains the result in a sentence.
	Why string `json:"why"`
	// Table is the table a lookup rule consulted.
	Table uint32 `json:"table,omitempty"`
	// Route is the route the table gave, also when it was suppressed or
	// thrown.
	Route *Route `json:"route,omitempty"`
	// Partial is set when Table was not read in full: the answer may be
	// wrong.
	Partial bool `json:"partial,omitempty"`
}

// Path is the simulator's answer: every rule tried and where the packet
// goes.
type Path struct {
	Packet Packet `json:"packet"`
	Family Family `json:"family"`
	// Input is set for a packet that arrives on Packet.IIF.
	Input   bool    `json:"input"`
	Steps   []Step  `json:"steps"`
	Verdict Verdict `json:"verdict"`
	// Errno is what `ip route get` reports when the packet is not
	// delivered.
	Errno Errno `json:"errno,omitempty"`
	// Rule is the rule that decided; nil when none did.
	Rule  *Rule  `json:"rule,omitempty"`
	Table uint32 `json:"table,omitempty"`
	// Route is the route chosen; nil for a rule's own action and when the
	// packet has no route.
	Route   *Route     `json:"route,omitempty"`
	Dev     string     `json:"dev,omitempty"`
	Gateway netip.Addr `json:"gateway,omitzero"`
	// Src is the packet's source: the one given, else the kernel's choice.
	Src netip.Addr `json:"src,omitzero"`
	// Reason says in a sentence why the packet goes where it goes.
	Reason string `json:"reason"`
	// Missing lists tables the rules reached that were not read in full;
	// the answer may be wrong when it is not empty.
	Missing []uint32 `json:"missing_tables,omitempty"`
	// Notes are remarks on parts the simulator cannot decide exactly,
	// such as which next hop of a multipath route a flow takes.
	Notes []string `json:"notes,omitempty"`
}

// Complete reports whether every table the lookup needed was read.
func (p *Path) Complete() bool { return len(p.Missing) == 0 }

// PacketError is a packet the simulator cannot route as given: bad input,
// not a routing answer.
type PacketError struct {
	Field string
	Msg   string
}

func (e *PacketError) Error() string { return e.Field + ": " + e.Msg }

// TraceDetectOptions says what to read for Trace: every table a rule can
// reach, local, main and default included.
//
// NOTE: Detect normally reads only the default routes of main, so that a
// full Internet table costs nothing; a trace has to read all of main,
// because any of its routes can be the one that wins.
func TraceDetectOptions() DetectOptions {
	return DetectOptions{RuleTables: true, Tables: []uint32{TableDefault, TableMain, TableLocal}}
}

// Trace routes p through s as the kernel's fib lookup does (`ip route get`):
// the rules in priority order with their selectors and actions, then, in
// each table a rule sends it to, the longest prefix, the lowest metric and
// the route's type. s should be read with TraceDetectOptions; Path.Missing
// lists tables it needed and did not have.
//
// For a packet that arrives (IIF set) it assumes the host forwards
// (net.ipv4.ip_forward=1; TraceWith can say otherwise), does no
// reverse-path filtering (rp_filter=0)
// and neither accepts packets from its own addresses (accept_local=0) nor
// lets the mark choose the route back (src_valid_mark=0), which are the
// kernel's defaults for a router.
//
// NOTE: until a namespace has had a rule of its own, the kernel keeps the
// local and main tables in one trie: `ip route get` then reports a route
// of the local table as main's, and a route of main more specific than the
// local table's for the same address would win over it. Trace always walks
// the tables as the rules name them and reports the table a route is in;
// the packet goes the same way unless main shadows a local route.
func Trace(s State, p Packet) (Path, error) {
	return TraceWith(s, p, TraceOptions{})
}

// TraceOptions tells Trace about settings of the host a State does not
// hold.
type TraceOptions struct {
	// Forwarding reports whether the host forwards IPv4 packets that
	// arrive on a device (net.ipv4.conf.DEV.forwarding); nil means it
	// forwards on every device, as a router does.
	Forwarding func(dev string) bool
}

// TraceWith is Trace with the host's settings.
func TraceWith(s State, p Packet, o TraceOptions) (Path, error) {
	if err := checkPacket(&s, &p); err != nil {
		return Path{}, err
	}
	t := newTracer(&s, p.Family())
	t.forwarding = o.Forwarding
	return t.trace(p), nil
}

// Tracer traces many packets through one state. Trace sorts the state's
// rules and sorts its routes into tables for every packet; the guard
// traces hundreds of connections through the same state, so a Tracer
// does that once per family.
type Tracer struct {
	s   State
	fam [2]*tracer
}

// NewTracer prepares s for tracing; s must not change while it is used.
func NewTracer(s State) *Tracer { return &Tracer{s: s} }

// Trace is Trace(s, p) for the Tracer's state.
func (tr *Tracer) Trace(p Packet) (Path, error) {
	if err := checkPacket(&tr.s, &p); err != nil {
		return Path{}, err
	}
	i := 0
	if p.Family() == V6 {
		i = 1
	}
	if tr.fam[i] == nil {
		tr.fam[i] = newTracer(&tr.s, p.Family())
	}
	t := tr.fam[i]
	clear(t.missing)
	return t.trace(p), nil
}

// trace walks one checked packet.
func (t *tracer) trace(p Packet) Path {
	t.unknown = p.Unknown
	path := Path{Packet: p, Family: p.Family(), Input: p.IIF != "", Steps: []Step{}}
	switch {
	case path.Family == V4 && path.Input:
		t.input4(&path)
	case path.Family == V4:
		t.output4(&path)
	case path.Input:
		t.input6(&path)
	default:
		t.output6(&path)
	}
	path.Missing = t.missingTables()
	if len(path.Missing) > 0 {
		path.Notes = append(path.Notes, fmt.Sprintf("tables %v were not read in full; this answer may be wrong", path.Missing))
	}
	return path
}

func checkPacket(s *State, p *Packet) error {
	if !p.Dst.IsValid() {
		return &PacketError{Field: "destination", Msg: "a destination address is required"}
	}
	p.Dst = p.Dst.Unmap().WithZone("")
	if p.Src.IsValid() {
		p.Src = p.Src.Unmap().WithZone("")
		if p.Src.IsUnspecified() {
			p.Src = netip.Addr{}
		}
	}
	if p.Src.IsValid() && FamilyOf(p.Src) != p.Family() {
		return &PacketError{Field: "from", Msg: fmt.Sprintf("source %s and destination %s are of different families", p.Src, p.Dst)}
	}
	switch {
	case p.Dst.IsUnspecified():
		return &PacketError{Field: "destination", Msg: p.Dst.String() + " is the unspecified address, not a destination"}
	case p.Dst.IsMulticast():
		return &PacketError{Field: "destination", Msg: p.Dst.String() + " is a multicast address; only unicast and broadcast destinations are simulated"}
	case p.Dst == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return &PacketError{Field: "destination", Msg: "the limited broadcast 255.255.255.255 never leaves its link and is not simulated"}
	}
	if p.IIF != "" && p.OIF != "" {
		return &PacketError{Field: "oif", Msg: "a packet either arrives on a NIC (iif) or is sent through one (oif), not both"}
	}
	for _, d := range []struct{ field, name string }{{"iif", p.IIF}, {"oif", p.OIF}} {
		if d.name == "" {
			continue
		}
		if _, ok := s.Link(d.name); !ok {
			return &PacketError{Field: d.field, Msg: fmt.Sprintf("no device named \"%s\" here", d.name)}
		}
	}
	return nil
}

// loopbackName is the name of the namespace's loopback device, which the
// kernel uses as the input device of every packet the host sends itself.
func loopbackName(s *State) string {
	for i := range s.Links {
		if s.Links[i].Loopback {
			return s.Links[i].Name
		}
	}
	return "lo"
}

// tracer holds one state prepared for lookups of one family.
type tracer struct {
	s   *State
	fam Family
	// rules are the family's rules in the order the kernel walks them.
	rules   []Rule
	tables  map[uint32][]*Route
	missing map[uint32]bool
	lo      string
	// portRules is set when some rule selects on ipproto or ports; the
	// kernel only dissects a forwarded packet's ports then.
	portRules  bool
	forwarding func(dev string) bool
	// unknown are the packet's fields the probe does not give.
	unknown PacketFields
}

func newTracer(s *State, fam Family) *tracer {
	t := &tracer{s: s, fam: fam, tables: map[uint32][]*Route{}, missing: map[uint32]bool{}, lo: loopbackName(s)}
	for _, r := range s.Rules {
		if r.Family == fam {
			t.rules = append(t.rules, r)
			if r.IPProto != 0 || r.SPort != nil || r.DPort != nil {
				t.portRules = true
			}
		}
	}
	// The kernel keeps its rule list sorted by priority, rules of equal
	// priority in the order they were added, which is the order a dump
	// returns; a stable sort keeps that order and fixes a hand-built
	// state.
	slices.SortStableFunc(t.rules, func(a, b Rule) int { return cmpU32(a.Priority, b.Priority) })
	for i := range s.Routes {
		r := &s.Routes[i]
		if r.Family() == fam {
			t.tables[r.Table] = append(t.tables[r.Table], r)
		}
	}
	return t
}

func (t *tracer) missingTables() []uint32 {
	var out []uint32
	for id := range t.missing {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// linkUp reports whether the named device exists and is up.
func (t *tracer) linkUp(name string) bool {
	l, ok := t.s.Link(name)
	return ok && l.Up
}
