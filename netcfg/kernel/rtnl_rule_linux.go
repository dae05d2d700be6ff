//go:build linux

package kernel

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// encodeRule appends a rule request to wbuf.
func (c *rtnl) encodeRule(typ, flags uint16, r *netcfg.Rule) uint32 {
	off, seq := c.begin(typ, flags)
	var h [fibHdrLen]byte
	h[0] = afOf(r.Family)
	if r.From.IsValid() {
		h[2] = uint8(r.From.Bits())
	}
	if r.To.IsValid() {
		h[1] = uint8(r.To.Bits())
	}
	h[3] = r.Tos
	if r.Table < 256 {
		h[4] = uint8(r.Table)
	}
	h[7] = uint8(r.Action)
	if r.Not {
		binary.NativeEndian.PutUint32(h[8:], fibRuleInv)
	}
	c.wbuf = append(c.wbuf, h[:]...)
	c.attrU32(unix.FRA_PRIORITY, r.Priority)
	if r.From.IsValid() && r.From.Bits() > 0 {
		c.attr(unix.FRA_SRC, addrBytes(r.From.Addr()))
	}
	if r.To.IsValid() && r.To.Bits() > 0 {
		c.attr(unix.FRA_DST, addrBytes(r.To.Addr()))
	}
	if r.IIF != "" {
		c.attr(unix.FRA_IIFNAME, append([]byte(r.IIF), 0))
	}
	if r.OIF != "" {
		c.attr(unix.FRA_OIFNAME, append([]byte(r.OIF), 0))
	}
	if r.Mark != nil {
		c.attrU32(unix.FRA_FWMARK, r.Mark.Value)
		c.attrU32(unix.FRA_FWMASK, r.Mark.Mask)
	}
	if r.Action == netcfg.ActionLookup && r.Table != 0 {
		c.attrU32(unix.FRA_TABLE, r.Table)
	}
	if r.Action == netcfg.ActionGoto {
		c.attrU32(unix.FRA_GOTO, r.Goto)
	}
	if r.SuppressPrefixLen >= 0 {
		c.attrU32(unix.FRA_SUPPRESS_PREFIXLEN, uint32(r.SuppressPrefixLen))
	}
	if r.SuppressIfgroup >= 0 {
		c.attrU32(unix.FRA_SUPPRESS_IFGROUP, uint32(r.SuppressIfgroup))
	}
	if r.L3MDev {
		c.attrU8(fraL3MDev, 1)
	}
	if r.UIDRange != nil {
		var b [8]byte
		binary.NativeEndian.PutUint32(b[0:], r.UIDRange.Start)
		binary.NativeEndian.PutUint32(b[4:], r.UIDRange.End)
		c.attr(fraUIDRange, b[:])
	}
	if r.IPProto != 0 {
		c.attrU8(fraIPProto, r.IPProto)
	}
	for _, p := range []struct {
		typ uint16
		r   *netcfg.PortRange
	}{{fraSPort, r.SPort}, {fraDPort, r.DPort}} {
		if p.r != nil {
			var b [4]byte
			binary.NativeEndian.PutUint16(b[0:], p.r.Start)
			binary.NativeEndian.PutUint16(b[2:], p.r.End)
			c.attr(p.typ, b[:])
		}
	}
	for _, p := range []struct {
		typ uint16
		r   *netcfg.PortRange
	}{{fraSPortMask, r.SPort}, {fraDPortMask, r.DPort}} {
		if p.r != nil && p.r.Mask != 0 {
			c.attr(p.typ, binary.NativeEndian.AppendUint16(nil, p.r.Mask))
		}
	}
	if r.DSCP != nil {
		c.attrU8(fraDSCP, r.DSCP.Value)
		if r.DSCP.Mask != 0x3f {
			c.attrU8(fraDSCPMask, r.DSCP.Mask)
		}
	}
	if r.FlowLabel != nil {
		c.attr(fraFlowLabel, binary.BigEndian.AppendUint32(nil, r.FlowLabel.Value))
		c.attr(fraFlowMask, binary.BigEndian.AppendUint32(nil, r.FlowLabel.Mask))
	}
	if r.TunID != 0 {
		c.attr(unix.FRA_TUN_ID, binary.BigEndian.AppendUint64(nil, r.TunID))
	}
	if r.Realms != 0 {
		c.attrU32(unix.FRA_FLOW, r.Realms)
	}
	if r.Proto != 0 {
		c.attrU8(fraProtocol, r.Proto)
	}
	c.end(off)
	return seq
}

// decodeRule parses an RTM_NEWRULE message.
func decodeRule(data []byte) (netcfg.Rule, bool) {
	if len(data) < fibHdrLen {
		return netcfg.Rule{}, false
	}
	fam := data[0]
	if fam != unix.AF_INET && fam != unix.AF_INET6 {
		return netcfg.Rule{}, false
	}
	r := netcfg.NewRule()
	r.Family = netcfg.V4
	if fam == unix.AF_INET6 {
		r.Family = netcfg.V6
	}
	dstLen, srcLen := int(data[1]), int(data[2])
	r.Tos = data[3]
	r.Table = uint32(data[4])
	r.Action = netcfg.RuleAction(data[7])
	rflags := binary.NativeEndian.Uint32(data[8:])
	r.Not = rflags&fibRuleInv != 0
	r.Unresolved = rflags&fibRuleUnresolved != 0
	var mark, mask uint32
	hasMark, hasMask := false, false
	var sportMask, dportMask uint16
	dscpMask, hasDSCPMask := uint8(0x3f), false
	flowMask, hasFlowMask := uint32(0xfffff), false
	forAttrs(data[fibHdrLen:], func(typ uint16, v []byte) {
		u32 := func() uint32 {
			if len(v) >= 4 {
				return binary.NativeEndian.Uint32(v)
			}
			return 0
		}
		switch typ {
		case unix.FRA_PRIORITY:
			r.Priority = u32()
		case unix.FRA_SRC:
			if a, ok := addrFrom(v); ok {
				r.From = netip.PrefixFrom(a, srcLen)
			}
		case unix.FRA_DST:
			if a, ok := addrFrom(v); ok {
				r.To = netip.PrefixFrom(a, dstLen)
			}
		case unix.FRA_IIFNAME:
			r.IIF = cString(v)
		case unix.FRA_OIFNAME:
			r.OIF = cString(v)
		case unix.FRA_FWMARK:
			mark, hasMark = u32(), true
		case unix.FRA_FWMASK:
			mask, hasMask = u32(), true
		case unix.FRA_TABLE:
			r.Table = u32()
		case unix.FRA_GOTO:
			r.Goto = u32()
		case unix.FRA_SUPPRESS_PREFIXLEN:
			r.SuppressPrefixLen = int(int32(u32()))
		case unix.FRA_SUPPRESS_IFGROUP:
			r.SuppressIfgroup = int(int32(u32()))
		case fraL3MDev:
			r.L3MDev = len(v) > 0 && v[0] != 0
		case fraUIDRange:
			if len(v) >= 8 {
				r.UIDRange = &netcfg.UIDRange{Start: binary.NativeEndian.Uint32(v), End: binary.NativeEndian.Uint32(v[4:])}
			}
		case fraIPProto:
			if len(v) > 0 {
				r.IPProto = v[0]
			}
		case fraSPort, fraDPort:
			if len(v) >= 4 {
				p := &netcfg.PortRange{Start: binary.NativeEndian.Uint16(v), End: binary.NativeEndian.Uint16(v[2:])}
				if typ == fraSPort {
					r.SPort = p
				} else {
					r.DPort = p
				}
			}
		case fraProtocol:
			if len(v) > 0 {
				r.Proto = v[0]
			}
		case fraSPortMask, fraDPortMask:
			if len(v) >= 2 {
				if typ == fraSPortMask {
					sportMask = binary.NativeEndian.Uint16(v)
				} else {
					dportMask = binary.NativeEndian.Uint16(v)
				}
			}
		case fraDSCP:
			if len(v) >= 1 {
				r.DSCP = &netcfg.DSCPMatch{Value: v[0]}
			}
		case fraDSCPMask:
			if len(v) >= 1 {
				dscpMask, hasDSCPMask = v[0], true
			}
		case fraFlowLabel:
			if len(v) >= 4 {
				r.FlowLabel = &netcfg.FlowLabel{Value: binary.BigEndian.Uint32(v)}
			}
		case fraFlowMask:
			if len(v) >= 4 {
				flowMask, hasFlowMask = binary.BigEndian.Uint32(v), true
			}
		case unix.FRA_TUN_ID:
			if len(v) >= 8 {
				r.TunID = binary.BigEndian.Uint64(v)
			}
		case unix.FRA_FLOW:
			r.Realms = u32()
		case fraPad:
		default:
			r.Unmodelled = append(r.Unmodelled, rawAttr("FRA", ruleAttrNames, typ, v))
		}
	})
	// A mask without its selector cannot be shown in ip's words; keep it
	// verbatim so the rule stays opaque rather than narrowed.
	// NOTE: the kernel reports a single port's selector with mask 0xffff
	// (the mask that means "the whole port"), also when none was given;
	// it is the same selector as the plain port and reads as that.
	if sportMask == 0xffff && r.SPort != nil && r.SPort.Start == r.SPort.End {
		sportMask = 0
	}
	if dportMask == 0xffff && r.DPort != nil && r.DPort.Start == r.DPort.End {
		dportMask = 0
	}
	if sportMask != 0 {
		if r.SPort != nil {
			r.SPort.Mask = sportMask
		} else {
			r.Unmodelled = append(r.Unmodelled, rawAttr("FRA", ruleAttrNames, fraSPortMask, binary.NativeEndian.AppendUint16(nil, sportMask)))
		}
	}
	if dportMask != 0 {
		if r.DPort != nil {
			r.DPort.Mask = dportMask
		} else {
			r.Unmodelled = append(r.Unmodelled, rawAttr("FRA", ruleAttrNames, fraDPortMask, binary.NativeEndian.AppendUint16(nil, dportMask)))
		}
	}
	if r.DSCP != nil {
		r.DSCP.Mask = dscpMask
	} else if hasDSCPMask {
		r.Unmodelled = append(r.Unmodelled, rawAttr("FRA", ruleAttrNames, fraDSCPMask, []byte{dscpMask}))
	}
	if r.FlowLabel != nil {
		r.FlowLabel.Mask = flowMask
	} else if hasFlowMask {
		r.Unmodelled = append(r.Unmodelled, rawAttr("FRA", ruleAttrNames, fraFlowMask, binary.BigEndian.AppendUint32(nil, flowMask)))
	}
	if hasMark || hasMask {
		if !hasMask {
			mask = 0xffffffff
		}
		r.Mark = &netcfg.FwMark{Value: mark, Mask: mask}
	}
	if r.Action != netcfg.ActionLookup {
		r.Table = 0
	}
	return r, true
}

// rawAttr keeps an attribute nictab does not model, named as the kernel's
// headers name it.
func rawAttr(prefix string, names map[uint16]string, typ uint16, v []byte) netcfg.RawAttr {
	n, ok := names[typ]
	if !ok {
		n = prefix + "_" + strconv.Itoa(int(typ))
	}
	return netcfg.RawAttr{Type: typ, Name: n, Data: slices.Clone(v)}
}

// ruleAttrNames and routeAttrNames name the kernel's attributes (uapi
// linux/fib_rules.h and linux/rtnetlink.h) for the ones nictab keeps
// verbatim.
var ruleAttrNames = map[uint16]string{
	0: "FRA_UNSPEC", 5: "FRA_UNUSED2", 7: "FRA_UNUSED3", 8: "FRA_UNUSED4", 9: "FRA_UNUSED5",
	fraSPortMask: "FRA_SPORT_MASK", fraDPortMask: "FRA_DPORT_MASK", fraDSCPMask: "FRA_DSCP_MASK", fraFlowMask: "FRA_FLOWLABEL_MASK",
}

var routeAttrNames = map[uint16]string{
	0: "RTA_UNSPEC", 3: "RTA_IIF", 9: "RTA_PROTOINFO", 11: "RTA_SESSION", 12: "RTA_CACHEINFO",
	13: "RTA_MP_ALGO", 17: "RTA_MFC_STATS", 19: "RTA_NEWDST", 25: "RTA_UID", 26: "RTA_TTL_PROPAGATE",
	27: "RTA_IP_PROTO", 28: "RTA_SPORT", 29: "RTA_DPORT",
}

// decodeMetrics reads the nested RTAX_* attributes of RTA_METRICS; a
// metric it cannot read goes to raw, verbatim.
func decodeMetrics(b []byte, raw []netcfg.RawAttr) (netcfg.Metrics, []netcfg.RawAttr) {
	var m netcfg.Metrics
	forAttrs(b, func(typ uint16, v []byte) {
		switch {
		case typ == netcfg.RTAXCCAlgo:
			m.CongCtl = cString(v)
		case typ == netcfg.RTAXLock && len(v) == 4:
			m.Lock = binary.NativeEndian.Uint32(v)
		case typ > netcfg.RTAXLock && typ <= netcfg.RTAXMax && len(v) == 4:
			m.Values[typ] = binary.NativeEndian.Uint32(v)
		default:
			raw = append(raw, netcfg.RawAttr{Type: typ, Name: "RTAX_" + strconv.Itoa(int(typ)), Data: slices.Clone(v)})
		}
	})
	return m, raw
}

// encodeMetrics writes m as the payload of RTA_METRICS.
func encodeMetrics(m *netcfg.Metrics) []byte {
	var out []byte
	put := func(typ uint16, v []byte) {
		var ah [4]byte
		binary.NativeEndian.PutUint16(ah[0:], uint16(4+len(v)))
		binary.NativeEndian.PutUint16(ah[2:], typ)
		out = append(out, ah[:]...)
		out = append(out, v...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	u32 := func(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
	if m.Lock != 0 {
		put(netcfg.RTAXLock, u32(m.Lock))
	}
	for i := netcfg.RTAXLock + 1; i <= netcfg.RTAXMax; i++ {
		if i == netcfg.RTAXCCAlgo {
			if m.CongCtl != "" {
				put(netcfg.RTAXCCAlgo, append([]byte(m.CongCtl), 0))
			}
			continue
		}
		if m.Values[i] != 0 {
			put(uint16(i), u32(m.Values[i]))
		}
	}
	return out
}
