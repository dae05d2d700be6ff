//go:build linux

package main

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// The limit: what the kernel alone costs for the writes of a row. A
// minimal rtnetlink writer of its own (none of nictab's code), sending
// the same routes or rules pipelined, rawWindow requests per sendmsg, each
// with NLM_F_ACK, and reading every ACK before the next window. It does
// no planning, no read-back and no verification beyond the ACKs.
const rawWindow = 1024

type rawConn struct {
	fd  int
	seq uint32
	buf []byte
}

// rawOpen opens an rtnetlink socket inside the named namespace, from a
// thread moved there for it (a socket stays in the namespace it was made
// in). The goroutine ends locked, so Go retires the thread rather than
// reuse it in the wrong namespace.
func rawOpen(ns string) (*rawConn, error) {
	type res struct {
		fd  int
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread()
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		if err != nil {
			ch <- res{err: fmt.Errorf("enter %s: %w", ns, err)}
			return
		}
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		ch <- res{fd, err}
	}()
	r := <-ch
	if r.err != nil {
		return nil, r.err
	}
	fd := r.fd
	for _, o := range []struct{ opt, v int }{{unix.SO_RCVBUFFORCE, 8 << 20}, {unix.SO_SNDBUFFORCE, 8 << 20}} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, o.opt, o.v); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return &rawConn{fd: fd, buf: make([]byte, 1<<20)}, nil
}

func (c *rawConn) close() { unix.Close(c.fd) }

// msg appends one request: header, fixed part, attributes.
func (c *rawConn) msg(b []byte, typ, flags uint16, fixed []byte, attrs ...[]byte) []byte {
	start := len(b)
	c.seq++
	b = binary.NativeEndian.AppendUint32(b, 0) // length, filled in below
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags|unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	b = binary.NativeEndian.AppendUint32(b, c.seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, fixed...)
	for _, a := range attrs {
		b = append(b, a...)
	}
	binary.NativeEndian.PutUint32(b[start:], uint32(len(b)-start))
	return b
}

func attr(typ uint16, v []byte) []byte {
	a := binary.NativeEndian.AppendUint16(nil, uint16(4+len(v)))
	a = binary.NativeEndian.AppendUint16(a, typ)
	a = append(a, v...)
	for len(a)%4 != 0 {
		a = append(a, 0)
	}
	return a
}

func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }

// send writes the requests of msgs (each one request) in windows and
// checks every ACK, returning the time it all took.
func (c *rawConn) send(msgs [][]byte) (float64, error) { return c.sendWindows(msgs, false) }

// sendQuiet is send with an ACK asked for only by each window's last
// request: the kernel answers a refusal anyway, so nothing goes unchecked,
// and it builds one ACK per window instead of one per request. nictab
// writes so; this is the limit of that way of writing.
func (c *rawConn) sendQuiet(msgs [][]byte) (float64, error) { return c.sendWindows(msgs, true) }

func (c *rawConn) sendWindows(msgs [][]byte, quiet bool) (float64, error) {
	t := time.Now()
	var win []byte
	for i := 0; i < len(msgs); i += rawWindow {
		win = win[:0]
		end := min(i+rawWindow, len(msgs))
		last := 0
		for _, m := range msgs[i:end] {
			last = len(win)
			win = append(win, m...)
			if quiet {
				f := binary.NativeEndian.Uint16(win[last+6:])
				binary.NativeEndian.PutUint16(win[last+6:], f&^unix.NLM_F_ACK)
			}
		}
		acks := end - i
		if quiet {
			f := binary.NativeEndian.Uint16(win[last+6:])
			binary.NativeEndian.PutUint16(win[last+6:], f|unix.NLM_F_ACK)
			acks = 1
		}
		if err := unix.Sendto(c.fd, win, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return 0, fmt.Errorf("sendmsg: %w", err)
		}
		for acks > 0 {
			n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
			if err != nil {
				return 0, fmt.Errorf("recv: %w", err)
			}
			for b := c.buf[:n]; len(b) >= unix.NLMSG_HDRLEN; {
				l := int(binary.NativeEndian.Uint32(b))
				if l < unix.NLMSG_HDRLEN || l > len(b) {
					return 0, fmt.Errorf("bad netlink message of %d bytes", l)
				}
				if binary.NativeEndian.Uint16(b[4:]) == unix.NLMSG_ERROR {
					if e := int32(binary.NativeEndian.Uint32(b[16:])); e != 0 {
						return 0, fmt.Errorf("request %d: %w", binary.NativeEndian.Uint32(b[28:]), unix.Errno(-e))
					}
					acks--
				}
				b = b[(l+3)&^3:]
			}
		}
	}
	return since(t), nil
}

// rawRoutes are the add and delete requests of routes (IPv4, one next
// hop each, as the apply rows make them).
func (c *rawConn) rawRoutes(ns string, routes []netcfg.Route) (add, del [][]byte, err error) {
	oif := map[string]uint32{}
	for i := range routes {
		r := &routes[i]
		if _, ok := oif[r.Dev]; !ok {
			if oif[r.Dev], err = ifindex(ns, r.Dev); err != nil {
				return nil, nil, err
			}
		}
		dst, gw := r.Dst.Addr().As4(), r.Gw.As4()
		fixed := []byte{unix.AF_INET, byte(r.Dst.Bits()), 0, 0, unix.RT_TABLE_UNSPEC, r.Proto, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST, 0, 0, 0, 0}
		attrs := [][]byte{attr(unix.RTA_TABLE, u32(r.Table)), attr(unix.RTA_DST, dst[:]), attr(unix.RTA_GATEWAY, gw[:]), attr(unix.RTA_OIF, u32(oif[r.Dev]))}
		add = append(add, c.msg(nil, unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, fixed, attrs...))
		del = append(del, c.msg(nil, unix.RTM_DELROUTE, 0, fixed, attrs...))
	}
	return add, del, nil
}

// rawRules are the add and delete requests of rules (IPv4, from a
// prefix, lookup a table). The kernel inserts a rule after every rule of
// lower priority, walking its list, so additions go out highest priority
// first (each inserted at the head) and deletions lowest first (each
// found at the head): the cheapest order there is, or the limit would not
// be one.
func (c *rawConn) rawRules(rules []netcfg.Rule) (add, del [][]byte) {
	rules = slices.Clone(rules)
	slices.SortStableFunc(rules, func(a, b netcfg.Rule) int { return cmp.Compare(a.Priority, b.Priority) })
	for i := range rules {
		r := &rules[i]
		src := r.From.Addr().As4()
		fixed := []byte{unix.AF_INET, 0, byte(r.From.Bits()), 0, unix.RT_TABLE_UNSPEC, 0, 0, unix.FR_ACT_TO_TBL, 0, 0, 0, 0}
		attrs := [][]byte{attr(unix.FRA_SRC, src[:]), attr(unix.FRA_PRIORITY, u32(r.Priority)), attr(unix.FRA_TABLE, u32(r.Table)), attr(unix.FRA_PROTOCOL, []byte{r.Proto})}
		add = append(add, c.msg(nil, unix.RTM_NEWRULE, unix.NLM_F_CREATE|unix.NLM_F_EXCL, fixed, attrs...))
		del = append(del, c.msg(nil, unix.RTM_DELRULE, 0, fixed, attrs...))
	}
	slices.Reverse(add)
	return add, del
}

// ifindex looks dev up inside ns, from a thread moved there for it.
func ifindex(ns, dev string) (uint32, error) {
	type res struct {
		i   uint32
		err error
	}
	ch := make(chan res, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see rawOpen
		fd, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = unix.Setns(fd, unix.CLONE_NEWNET)
			unix.Close(fd)
		}
		if err != nil {
			ch <- res{err: err}
			return
		}
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			ch <- res{err: err}
			return
		}
		ch <- res{i: uint32(ifi.Index)}
	}()
	r := <-ch
	return r.i, r.err
}
