//go:build linux

package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// sock_diag's inet_diag (linux/inet_diag.h): a request is struct
// inet_diag_req_v2, every answer a struct inet_diag_msg and attributes.
const (
	sockDiagByFamily = 20 // SOCK_DIAG_BY_FAMILY
	inetDiagReqLen   = 56
	inetDiagMsgLen   = 72
	inetDiagTos      = 5  // INET_DIAG_TOS
	inetDiagTclass   = 6  // INET_DIAG_TCLASS
	inetDiagMark     = 15 // INET_DIAG_MARK, given to CAP_NET_ADMIN only
	tcpEstablished   = 1  // TCP_ESTABLISHED, the state of a connected UDP socket too
)

// NOTE: the sockets come from NETLINK_SOCK_DIAG rather than
// /proc/net/{tcp,udp}{,6}: one dump per family and protocol, the kernel
// filtering by state, and it reports what the reply's route depends on
// besides the addresses — the bound device, the socket's mark (which
// tailscaled and wg-quick's peers set, and their rules select on) and
// its TOS. A connected UDP socket is in state ESTABLISHED like a TCP
// connection, so one state filter serves both.

// Sockets lists the established TCP connections and connected UDP
// sockets of the namespace, IPv4 and IPv6; it stops keeping them after
// limit but counts them all.
func (k *linuxKernel) Sockets(limit int) ([]netcfg.Socket, int, error) {
	fd, err := socketIn(k.ns, unix.NETLINK_SOCK_DIAG)
	if err != nil {
		return nil, 0, fmt.Errorf("sock_diag: %w", err)
	}
	defer unix.Close(fd)
	if k.links.byIndex == nil {
		if _, err := k.Links(); err != nil {
			return nil, 0, err
		}
	}
	var out []netcfg.Socket
	total := 0
	buf := make([]byte, 1<<16)
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		for _, proto := range []uint8{netcfg.ProtoTCP, netcfg.ProtoUDP} {
			n, err := k.diagDump(fd, buf, fam, proto, func(s netcfg.Socket) {
				if len(out) < limit {
					out = append(out, s)
				}
			})
			total += n
			if err != nil {
				return nil, 0, fmt.Errorf("sock_diag dump of %s sockets: %w", netcfg.IPProtoName(proto), err)
			}
		}
	}
	return out, total, nil
}

// diagDump runs one inet_diag dump and calls fn for each socket.
func (k *linuxKernel) diagDump(fd int, buf []byte, fam, proto uint8, fn func(netcfg.Socket)) (int, error) {
	req := make([]byte, nlHdrLen+inetDiagReqLen)
	binary.NativeEndian.PutUint32(req[0:], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], sockDiagByFamily)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:], 1)
	r := req[nlHdrLen:]
	r[0], r[1] = fam, proto
	r[2] = 1<<(inetDiagTos-1) | 1<<(inetDiagTclass-1)
	binary.NativeEndian.PutUint32(r[4:], 1<<tcpEstablished)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return 0, err
	}
	n := 0
	for {
		got, _, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return n, err
		}
		done := false
		var derr error
		err = eachMsg(buf[:got], func(m nlMsg) error {
			switch m.typ {
			case unix.NLMSG_DONE:
				done = true
			case unix.NLMSG_ERROR:
				done = true
				derr = parseErr(m.data, m.flags)
			case sockDiagByFamily:
				if s, ok := k.decodeDiag(m.data, proto); ok {
					n++
					fn(s)
				}
			}
			return nil
		})
		if err != nil {
			return n, err
		}
		if done {
			return n, derr
		}
	}
}

// decodeDiag reads one struct inet_diag_msg and its attributes.
func (k *linuxKernel) decodeDiag(b []byte, proto uint8) (netcfg.Socket, bool) {
	if len(b) < inetDiagMsgLen {
		return netcfg.Socket{}, false
	}
	fam := b[0]
	addr := func(off int) netip.Addr {
		if fam == unix.AF_INET {
			return netip.AddrFrom4([4]byte(b[off : off+4]))
		}
		return netip.AddrFrom16([16]byte(b[off : off+16])).Unmap()
	}
	s := netcfg.Socket{IPProto: proto,
		Local:  netip.AddrPortFrom(addr(8), binary.BigEndian.Uint16(b[4:])),
		Remote: netip.AddrPortFrom(addr(24), binary.BigEndian.Uint16(b[6:])),
		UID:    binary.NativeEndian.Uint32(b[64:]),
	}
	if ifi := int(binary.NativeEndian.Uint32(b[40:])); ifi != 0 {
		dev, ok := k.links.byIndex[ifi]
		if !ok {
			// Bound to a device that is gone: its replies go nowhere
			// the guard can judge.
			return netcfg.Socket{}, false
		}
		s.Dev = dev
	}
	forAttrs(b[inetDiagMsgLen:], func(typ uint16, v []byte) {
		switch {
		case typ == inetDiagMark && len(v) == 4:
			s.Mark = binary.NativeEndian.Uint32(v)
		case typ == inetDiagTos && len(v) >= 1 && fam == unix.AF_INET:
			s.Tos, s.HasTos = v[0], true
		case typ == inetDiagTclass && len(v) >= 1 && fam == unix.AF_INET6:
			s.Tos, s.HasTos = v[0], true
		}
	})
	return s, true
}
