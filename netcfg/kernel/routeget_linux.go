//go:build linux

package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// Route attributes of a lookup request that x/sys/unix does not name.
const (
	rtaUID     = 25 // RTA_UID
	rtaIPProto = 27 // RTA_IP_PROTO
	rtaSPort   = 28 // RTA_SPORT
	rtaDPort   = 29 // RTA_DPORT
)

// RouteGet asks the kernel which route decides p now, as `ip route get
// fibmatch` does: the table entry itself, in the table that gave it
// (RTM_F_FIB_MATCH with RTM_F_LOOKUP_TABLE), not the cached result. It is
// the guard's oracle for main: the one route of a full Internet table
// that matters for a packet, without reading the table. nil when the
// kernel finds no route.
func (k *linuxKernel) RouteGet(p netcfg.Packet) (*netcfg.Route, error) {
	if p.IIF != "" {
		return nil, errors.New("route get: only packets this host sends are asked")
	}
	c := k.c
	if k.links.byIndex == nil {
		if _, err := k.Links(); err != nil {
			return nil, err
		}
	}
	off, seq := c.begin(unix.RTM_GETROUTE, unix.NLM_F_REQUEST)
	fam := uint8(unix.AF_INET)
	if p.Family() == netcfg.V6 {
		fam = unix.AF_INET6
	}
	var hdr [12]byte
	hdr[0], hdr[1] = fam, uint8(p.Dst.BitLen())
	if p.Src.IsValid() {
		hdr[2] = uint8(p.Src.BitLen())
	}
	hdr[3] = p.Tos
	binary.NativeEndian.PutUint32(hdr[8:], unix.RTM_F_FIB_MATCH|unix.RTM_F_LOOKUP_TABLE)
	c.wbuf = append(c.wbuf, hdr[:]...)
	c.attrAddr(unix.RTA_DST, p.Dst)
	if p.Src.IsValid() {
		c.attrAddr(unix.RTA_SRC, p.Src)
	}
	if p.OIF != "" {
		i, err := k.links.index(p.OIF)
		if err != nil {
			c.wbuf = c.wbuf[:off]
			return nil, err
		}
		c.attrU32(unix.RTA_OIF, uint32(i))
	}
	if p.Mark != 0 {
		c.attrU32(unix.RTA_MARK, p.Mark)
	}
	if p.UID != nil {
		c.attrU32(rtaUID, *p.UID)
	}
	if p.IPProto != 0 {
		c.attrU8(rtaIPProto, p.IPProto)
		if p.IPProto == netcfg.ProtoTCP || p.IPProto == netcfg.ProtoUDP {
			var b [2]byte
			binary.BigEndian.PutUint16(b[:], p.SPort)
			c.attr(rtaSPort, b[:])
			binary.BigEndian.PutUint16(b[:], p.DPort)
			c.attr(rtaDPort, b[:])
		}
	}
	c.end(off)
	if err := c.send(); err != nil {
		return nil, err
	}
	for {
		b, err := c.recv()
		if err != nil {
			return nil, err
		}
		var (
			rt    netcfg.Route
			found bool
			rerr  error
			mine  bool
		)
		err = eachMsg(b, func(m nlMsg) error {
			if m.seq != seq {
				return nil
			}
			mine = true
			switch m.typ {
			case unix.RTM_NEWROUTE:
				found = decodeRoute(m.data, &k.links, &rt)
			case unix.NLMSG_ERROR:
				rerr = parseErr(m.data, m.flags)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if !mine {
			continue
		}
		var ke *Error
		if errors.As(rerr, &ke) && (ke.Errno == unix.ENETUNREACH || ke.Errno == unix.EHOSTUNREACH || ke.Errno == unix.EACCES || ke.Errno == unix.EINVAL) {
			return nil, nil
		}
		if rerr != nil {
			return nil, fmt.Errorf("route get %s: %w", p.Dst, rerr)
		}
		if !found {
			return nil, nil
		}
		return &rt, nil
	}
}
