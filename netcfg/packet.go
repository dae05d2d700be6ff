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

// IP protocol numbers `ip route get` understands.
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// IPProtoName is the name `ip rule` gives an IP protocol number, else
// the number.
func IPProtoName(p uint8) string {
	switch p {
	case 0:
		return "none"
	case ProtoICMP:
		return "icmp"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoICMPv6:
		return "ipv6-icmp"
	}
	return strconv.Itoa(int(p))
}

// ParseIPProto accepts the protocol names `ip rule` and `ip route get`
// use, and numbers.
func ParseIPProto(s string) (uint8, error) {
	for _, p := range []uint8{ProtoICMP, ProtoTCP, ProtoUDP, ProtoICMPv6} {
		if IPProtoName(p) == s {
			return p, nil
		}
	}
	if s == "icmpv6" {
		return ProtoICMPv6, nil
	}
	n, err := strconv.ParseUint(s, 0, 8)
	if err != nil {
		return 0, fmt.Errorf("unknown IP protocol %q (want tcp, udp, icmp, ipv6-icmp or 0–255)", s)
	}
	return uint8(n), nil
}

// Socket is one connected socket of the namespace, as sock_diag reports
// it: an established TCP connection or a connected UDP socket. Its replies
// are the packets the guard traces.
type Socket struct {
	// IPProto is ProtoTCP or ProtoUDP.
	IPProto uint8          `json:"ipproto"`
	Local   netip.AddrPort `json:"local"`
	Remote  netip.AddrPort `json:"remote"`
	// Dev is the device the socket is bound to (SO_BINDTODEVICE).
	Dev  string `json:"dev,omitempty"`
	Mark uint32 `json:"fwmark,omitempty"`
	UID  uint32 `json:"uid"`
	// Tos is the DS field the socket sends with, when HasTos says the
	// kernel reported it.
	Tos    uint8 `json:"tos,omitempty"`
	HasTos bool  `json:"-"`
}
