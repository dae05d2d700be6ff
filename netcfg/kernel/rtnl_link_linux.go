//go:build linux

package kernel

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// Links and addresses go through nictab's codec too, so that every message
// of the kernel nictab reads passes a decoder of its own that is fuzzed
// (the library's decoders index past the end of short messages).

const (
	ifinfoLen = unix.SizeofIfInfomsg
	ifaddrLen = unix.SizeofIfAddrmsg
)

var operStates = [...]string{"unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"}

// decodeLink reads an RTM_NEWLINK message. master is the index of the
// link's master device, 0 for none.
func decodeLink(data []byte) (l netcfg.Link, master int, ok bool) {
	if len(data) < ifinfoLen {
		return netcfg.Link{}, 0, false
	}
	flags := binary.NativeEndian.Uint32(data[8:])
	l = netcfg.Link{
		Index:     int(int32(binary.NativeEndian.Uint32(data[4:]))),
		Up:        flags&unix.IFF_UP != 0,
		Carrier:   flags&unix.IFF_LOWER_UP != 0,
		Loopback:  flags&unix.IFF_LOOPBACK != 0,
		OperState: operStates[0],
		Addrs:     []netcfg.Addr{},
	}
	forAttrs(data[ifinfoLen:], func(typ uint16, v []byte) {
		u32 := func() uint32 {
			if len(v) >= 4 {
				return binary.NativeEndian.Uint32(v)
			}
			return 0
		}
		switch typ {
		case unix.IFLA_IFNAME:
			l.Name = cString(v)
		case unix.IFLA_MTU:
			l.MTU = int(u32())
		case unix.IFLA_ADDRESS:
			l.MAC = net.HardwareAddr(v).String()
		case unix.IFLA_IFALIAS:
			l.Alias = cString(v)
		case unix.IFLA_GROUP:
			l.Group = u32()
		case unix.IFLA_MASTER:
			master = int(u32())
		case unix.IFLA_OPERSTATE:
			if len(v) > 0 && int(v[0]) < len(operStates) {
				l.OperState = operStates[v[0]]
			}
		case unix.IFLA_LINKINFO:
			forAttrs(v, func(t uint16, w []byte) {
				if t == unix.IFLA_INFO_KIND {
					l.Kind = cString(w)
				}
			})
		}
	})
	// vishvananda/netlink, which nictab read links with before, calls a
	// tun device "tuntap"; keep the name people have seen.
	if l.Kind == "tun" {
		l.Kind = "tuntap"
	}
	return l, master, true
}

// decodeAddr reads an RTM_NEWADDR message: the link's index and the
// address. IPv4 reports the local address in IFA_LOCAL and, when it has a
// peer, the peer in IFA_ADDRESS; the address is then the local one alone.
func decodeAddr(data []byte) (int, netcfg.Addr, bool) {
	if len(data) < ifaddrLen {
		return 0, netcfg.Addr{}, false
	}
	fam, plen, scope := data[0], int(data[1]), data[3]
	flags := uint32(data[2])
	index := int(binary.NativeEndian.Uint32(data[4:]))
	var local, addr netip.Addr
	forAttrs(data[ifaddrLen:], func(typ uint16, v []byte) {
		switch typ {
		case unix.IFA_ADDRESS:
			addr, _ = addrFrom(v)
		case unix.IFA_LOCAL:
			local, _ = addrFrom(v)
		case unix.IFA_FLAGS:
			if len(v) >= 4 {
				flags = binary.NativeEndian.Uint32(v)
			}
		}
	})
	a := addr
	if local.IsValid() {
		a = local
		if fam != unix.AF_INET || local != addr {
			plen = local.BitLen()
		}
	}
	if !a.IsValid() || (fam != unix.AF_INET && fam != unix.AF_INET6) || (fam == unix.AF_INET) != a.Is4() {
		return 0, netcfg.Addr{}, false
	}
	p := netip.PrefixFrom(a, plen)
	if !p.IsValid() {
		return 0, netcfg.Addr{}, false
	}
	// An address without IFA_F_PERMANENT came from DHCP, SLAAC or a
	// privacy extension and goes away by itself.
	return index, netcfg.Addr{Prefix: p, Scope: netcfg.Scope(scope), Flags: addrFlags(int(flags)), Dynamic: flags&unix.IFA_F_PERMANENT == 0}, true
}

// linksAndAddrs dumps every link and address, once.
func (c *rtnl) linksAndAddrs() ([]netcfg.Link, map[int]int, []addrOf, error) {
	var links []netcfg.Link
	masters := map[int]int{}
	var addrs []addrOf
	err := c.dumpOnce(func() uint32 {
		off, seq := c.begin(unix.RTM_GETLINK, unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
		c.wbuf = append(c.wbuf, make([]byte, ifinfoLen)...)
		c.end(off)
		return seq
	}, func(m nlMsg) bool {
		if m.typ == unix.RTM_NEWLINK {
			if l, master, ok := decodeLink(m.data); ok {
				links = append(links, l)
				if master != 0 {
					masters[l.Index] = master
				}
			}
		}
		return true
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list links: %w", err)
	}
	err = c.dumpOnce(func() uint32 {
		off, seq := c.begin(unix.RTM_GETADDR, unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
		c.wbuf = append(c.wbuf, make([]byte, ifaddrLen)...)
		c.end(off)
		return seq
	}, func(m nlMsg) bool {
		if m.typ == unix.RTM_NEWADDR {
			if i, a, ok := decodeAddr(m.data); ok {
				addrs = append(addrs, addrOf{index: i, addr: a})
			}
		}
		return true
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("list addresses: %w", err)
	}
	return links, masters, addrs, nil
}

type addrOf struct {
	index int
	addr  netcfg.Addr
}
