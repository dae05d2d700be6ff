//go:build linux

package kernel

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// SqueezeExecWindow gives k's route socket a receive buffer of rcvbuf
// bytes and a window of window requests, so that tests can make the kernel
// drop ACKs, as a window sized wrongly would.
func SqueezeExecWindow(k netcfg.Kernel, rcvbuf, window int) error {
	lk, ok := k.(*linuxKernel)
	if !ok {
		return fmt.Errorf("%T is not the netlink kernel", k)
	}
	if err := unix.SetsockoptInt(lk.c.fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf); err != nil {
		return fmt.Errorf("set receive buffer: %w", err)
	}
	lk.c.window, lk.c.acks = window, nil
	return nil
}

// LostACKWindows says how many windows of k lost ACKs to a full receive
// buffer.
func LostACKWindows(k netcfg.Kernel) int { return k.(*linuxKernel).c.lostWindows }

// RuleDumps says how many times k read the rules of both families.
func RuleDumps(k netcfg.Kernel) int { return k.(*linuxKernel).c.ruleDumps }

// TablesDumps says how many one-dump reads of tables and nictab's routes
// k made (RoutesOfTables), and how many of them it left over budget.
func TablesDumps(k netcfg.Kernel) (dumps, left int) {
	c := k.(*linuxKernel).c
	return c.tablesDumps, c.tablesLeft
}

// RawDump returns the payload of every message the kernel answers a dump
// request of typ with; hdr is the request's family header.
func RawDump(k netcfg.Kernel, typ uint16, hdr []byte) ([][]byte, error) {
	c := k.(*linuxKernel).c
	var out [][]byte
	err := c.dumpOnce(func() uint32 {
		off, seq := c.begin(typ, unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
		c.wbuf = append(c.wbuf, hdr...)
		c.end(off)
		return seq
	}, func(m nlMsg) bool {
		out = append(out, append([]byte(nil), m.data...))
		return true
	})
	return out, err
}

// RawRefusal sends a route the kernel refuses (a gateway no table can
// reach) and returns the NLMSG_ERROR payload and message flags it answers.
func RawRefusal(k netcfg.Kernel) ([]byte, uint16, error) {
	lk := k.(*linuxKernel)
	if err := lk.ensureLinks(); err != nil {
		return nil, 0, err
	}
	c := lk.c
	c.wbuf = c.wbuf[:0]
	r := netcfg.Route{Table: 77, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("10.77.0.0/16"), Gw: netip.MustParseAddr("192.0.2.1"), Dev: "lo"}
	if err := c.encodeRoute(unix.RTM_NEWROUTE, unix.NLM_F_REQUEST|unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL, &r, &lk.links); err != nil {
		return nil, 0, err
	}
	if err := c.send(); err != nil {
		return nil, 0, err
	}
	b, err := c.recv()
	if err != nil {
		return nil, 0, err
	}
	var data []byte
	var flags uint16
	err = eachMsg(b, func(m nlMsg) error {
		if m.typ == unix.NLMSG_ERROR {
			data, flags = append([]byte(nil), m.data...), m.flags
		}
		return nil
	})
	if data == nil && err == nil {
		err = fmt.Errorf("no NLMSG_ERROR in the answer")
	}
	return data, flags, err
}

// SendOrder is the order in which Exec sends ops, as op indices.
func SendOrder(ops []netcfg.Op) []int32 { return sendOrder(ops) }

// WatchedQuiet asks w's change monitor whether it heard anything since it
// opened; a closed monitor answers with an error.
func WatchedQuiet(w *netcfg.Watched) (bool, error) { return w.Monitor.Quiet() }

// OneShotDatagrams returns how many datagrams of one-shot dumps k's
// socket looked at and took (see openOneShot).
func OneShotDatagrams(k netcfg.Kernel) (looked, taken int) {
	c := k.(*linuxKernel).c
	return c.oneShotLooked, c.oneShotTaken
}

// DiscardDump dumps table's IPv4 routes and throws every datagram away
// unread, as the kernel's own share of a dump: it returns how many
// RTM_NEWROUTE messages came.
func DiscardDump(k netcfg.Kernel, table uint32) (int, error) {
	c := k.(*linuxKernel).c
	c.wbuf = c.wbuf[:0]
	off, seq := c.begin(unix.RTM_GETROUTE, unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	var h [rtmsgLen]byte
	h[0] = unix.AF_INET
	c.wbuf = append(c.wbuf, h[:]...)
	c.attrU32(unix.RTA_TABLE, table)
	c.end(off)
	if err := c.send(); err != nil {
		return 0, err
	}
	b := make([]byte, streamBufLen)
	n := 0
	for {
		l, err := c.recvInto(b)
		if err != nil {
			return n, err
		}
		done := false
		_ = eachMsg(b[:l], func(m nlMsg) error {
			switch {
			case m.seq != seq:
			case m.typ == unix.NLMSG_DONE || m.typ == unix.NLMSG_ERROR:
				done = true
			default:
				n++
			}
			return nil
		})
		if done {
			return n, nil
		}
	}
}
