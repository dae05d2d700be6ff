//go:build linux

package netcfg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	// execMaxWindow is the most requests sent before their ACKs are read.
	// It is also the most datagrams one recvmmsg takes (UIO_MAXIOV), so a
	// whole window of ACKs comes back in one system call.
	execMaxWindow = 1024
	// execMinWindow keeps pipelining worth its name on a socket whose
	// receive buffer could not be raised.
	execMinWindow = 16
	// ackTruesize is what one queued ACK costs the receive buffer, with
	// room to spare. The kernel charges the buffer of the skb that carries
	// it (about 700 bytes for a 36-byte ACK, more with an extended-ACK
	// message), not the bytes of the message; when the next one does not
	// fit, it drops the ACK and the reader gets ENOBUFS.
	ackTruesize = 2048
	// ackSlot is the room for one ACK datagram in a batched receive. With
	// NETLINK_CAP_ACK an ACK is 36 bytes and a refusal adds the kernel's
	// reason, well under this; anything longer is not an ACK of ours.
	ackSlot = 512
)

// Per-request ACK states of a window.
const (
	ackPending uint8 = iota
	ackOK
	ackRefused
)

// ackRing holds what a batched receive needs, allocated once per socket.
type ackRing struct {
	buf   []byte
	iov   []unix.Iovec
	hdrs  []unix.Mmsghdr
	state []uint8
	errs  []error
}

func newAckRing(n int) *ackRing {
	r := &ackRing{
		buf:   make([]byte, n*ackSlot),
		iov:   make([]unix.Iovec, n),
		hdrs:  make([]unix.Mmsghdr, n),
		state: make([]uint8, n),
		errs:  make([]error, n),
	}
	for i := range n {
		r.iov[i].Base = &r.buf[i*ackSlot]
		r.iov[i].SetLen(ackSlot)
		r.hdrs[i].Hdr.Iov = &r.iov[i]
		r.hdrs[i].Hdr.SetIovlen(1)
	}
	return r
}

// exec writes ops in pipelined windows: a window of requests goes out in
// one sendmsg, then every ACK of the window is read, matched to its request
// by sequence number. After a refusal no further window is sent.
//
// The kernel handles a sendmsg's requests one after the other before the
// call returns, queueing one ACK per request on this socket. The window is
// sized at open from the receive buffer the kernel granted, so a whole
// window of ACKs fits and none is dropped; should one be dropped anyway
// (ENOBUFS), which ops of that window landed is unknown, and the result
// says so rather than guess.
func (c *rtnl) exec(ops []Op, links *linkIndexer) ExecResult {
	var res ExecResult
	if c.acks == nil {
		c.acks = newAckRing(c.window)
	}
	for start := 0; start < len(ops); {
		c.wbuf = c.wbuf[:0]
		first := c.seq + 1
		end := start
		var encErr *OpError
		for end < len(ops) && end-start < c.window && len(c.wbuf) < c.sendMax {
			if err := c.encodeOp(ops[end], links); err != nil {
				encErr = &OpError{Index: end, Op: ops[end], Err: err}
				break
			}
			end++
		}
		n := end - start
		if n > 0 {
			if err := c.send(); err != nil {
				// Nothing of this window reached the kernel.
				res.Failed = &OpError{Index: start, Op: ops[start], Err: err}
				return res
			}
			if err := c.readAcks(first, n); err != nil {
				if !errors.Is(err, unix.ENOBUFS) {
					res.Failed = &OpError{Index: start, Op: ops[start], Err: err}
					return res
				}
				// The window is sized so this does not happen; should the
				// kernel drop ACKs all the same, what became of the ops
				// whose ACK is missing is read back from the kernel.
				if err := c.settleLost(first, ops[start:end], links, err); err != nil {
					res.Failed = &OpError{Index: start, Op: ops[start], Err: err}
					return res
				}
			}
			// The first refusal decides the result; requests after it in
			// the same window were handled all the same.
			st := c.acks.state
			for k := range n {
				i := start + k
				switch {
				case res.Failed == nil && st[k] == ackOK:
					res.Done = i + 1
				case res.Failed == nil:
					res.Failed = &OpError{Index: i, Op: ops[i], Err: c.acks.errs[k]}
				case st[k] == ackOK:
					res.Stray = append(res.Stray, i)
				}
			}
			clear(c.acks.errs[:n])
			if res.Failed != nil {
				return res
			}
		}
		if encErr != nil {
			res.Failed = encErr
			return res
		}
		start = end
	}
	return res
}

func (c *rtnl) encodeOp(o Op, links *linkIndexer) error {
	const req = unix.NLM_F_REQUEST | unix.NLM_F_ACK
	switch o.Kind {
	case OpAddRoute:
		return c.encodeRoute(unix.RTM_NEWROUTE, req|unix.NLM_F_CREATE|unix.NLM_F_EXCL, o.Route, links)
	case OpReplaceRoute:
		return c.encodeRoute(unix.RTM_NEWROUTE, req|unix.NLM_F_CREATE|unix.NLM_F_REPLACE, o.Route, links)
	case OpDelRoute:
		return c.encodeRoute(unix.RTM_DELROUTE, req, o.Route, links)
	case OpAddRule:
		c.encodeRule(unix.RTM_NEWRULE, req|unix.NLM_F_CREATE|unix.NLM_F_EXCL, o.Rule)
		return nil
	case OpDelRule:
		c.encodeRule(unix.RTM_DELRULE, req, o.Rule)
		return nil
	}
	return fmt.Errorf("unknown op %v", o.Kind)
}

// readAcks reads the ACKs of the n requests numbered first…first+n-1 into
// c.acks.state and c.acks.errs. Anything else on the socket (ACKs of an
// earlier window given up on, the tail of an abandoned dump) is skipped.
func (c *rtnl) readAcks(first uint32, n int) error {
	clear(c.acks.state[:n])
	for seen := 0; seen < n; {
		got, err := c.recvBatch(n - seen)
		if err != nil {
			return err
		}
		seen += c.takeAcks(first, n, got)
	}
	return nil
}

// takeAcks records the ACKs among the got datagrams just received and
// returns how many it recorded.
func (c *rtnl) takeAcks(first uint32, n, got int) int {
	r := c.acks
	taken := 0
	for i := range got {
		h := &r.hdrs[i]
		b := r.buf[i*ackSlot : i*ackSlot+int(h.Len)]
		if h.Hdr.Flags&unix.MSG_TRUNC != 0 {
			// Longer than any ACK of ours: not one, or one whose reason
			// text was cut. The errno is in the part kept.
			if len(b) < nlHdrLen+4 {
				continue
			}
			binary.NativeEndian.PutUint32(b, uint32(len(b)))
		}
		// A malformed datagram is not an ACK of ours; the window's own
		// ACKs are still counted, so nothing is taken for granted.
		_ = eachMsg(b, func(m nlMsg) error {
			if m.typ != unix.NLMSG_ERROR {
				return nil
			}
			k := int(m.seq - first)
			if k < 0 || k >= n || r.state[k] != ackPending {
				return nil
			}
			taken++
			if e := parseErr(m.data, m.flags); e != nil {
				r.state[k], r.errs[k] = ackRefused, e
			} else {
				r.state[k] = ackOK
			}
			return nil
		})
	}
	return taken
}

// settleLost finds out, after the kernel dropped some ACKs of a window
// (ENOBUFS), which of its ops took effect. The ACKs still queued are read
// first; an op whose ACK is missing took effect when the kernel now holds
// what it added, or no longer holds what it deleted, which a read-back of
// its table (or of the rules) tells.
func (c *rtnl) settleLost(first uint32, ops []Op, links *linkIndexer, lost error) error {
	c.lostWindows++
	r := c.acks
	n := len(ops)
	for {
		got, err := c.recvQueued(n)
		if err != nil && !errors.Is(err, unix.ENOBUFS) {
			return err
		}
		if got == 0 && err == nil {
			break
		}
		c.takeAcks(first, n, got)
	}
	tables := map[uint32]bool{}
	rulesToo := false
	for k := range n {
		if r.state[k] != ackPending {
			continue
		}
		if ops[k].Route != nil {
			tables[ops[k].Route.Table] = true
		} else {
			rulesToo = true
		}
	}
	have := map[RouteKey][]Route{}
	for t := range tables {
		err := c.routes(RouteQuery{Table: t}, links, func(rt *Route) error {
			cp := *rt
			cp.MultiPath = slices.Clone(rt.MultiPath)
			have[rt.Key()] = append(have[rt.Key()], cp)
			return nil
		})
		if err != nil {
			return fmt.Errorf("ACKs were lost (%v) and table %d could not be read back: %w", lost, t, err)
		}
	}
	haveRule := map[string]bool{}
	if rulesToo {
		rs, err := c.rules()
		if err != nil {
			return fmt.Errorf("ACKs were lost (%v) and the rules could not be read back: %w", lost, err)
		}
		for i := range rs {
			haveRule[RuleKey(&rs[i])] = true
		}
	}
	for k := range n {
		if r.state[k] != ackPending {
			continue
		}
		o := ops[k]
		var present bool
		if o.Route != nil {
			present = slices.ContainsFunc(have[o.Route.Key()], func(h Route) bool { return RouteEqual(&h, o.Route) })
		} else {
			present = haveRule[RuleKey(o.Rule)]
		}
		if present == !o.Kind.isDelete() {
			r.state[k] = ackOK
		} else {
			r.state[k] = ackRefused
			r.errs[k] = fmt.Errorf("the kernel's answer was lost (%v) and the change is not in the kernel", lost)
		}
	}
	return nil
}

// recvQueued is recvBatch without waiting: it returns 0 when nothing is
// queued.
func (c *rtnl) recvQueued(max int) (int, error) {
	r := c.acks
	max = min(max, len(r.hdrs))
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(c.fd),
			uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(max), unix.MSG_DONTWAIT, 0, 0)
		runtime.KeepAlive(r)
		switch errno {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, nil
		}
		return 0, fmt.Errorf("netlink receive: %w", errno)
	}
}

// recvBatch receives up to max datagrams in one recvmmsg, waiting for the
// first one only: the ACKs of a window are all queued by the time its
// sendmsg returns.
func (c *rtnl) recvBatch(max int) (int, error) {
	r := c.acks
	max = min(max, len(r.hdrs))
	for {
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(c.fd),
			uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(max), unix.MSG_WAITFORONE, 0, 0)
		runtime.KeepAlive(r)
		switch {
		case errno == unix.EINTR:
			continue
		case errors.Is(errno, unix.ENOBUFS):
			return 0, fmt.Errorf("netlink receive: the kernel dropped ACKs (socket buffer full): %w", errno)
		case errno != 0:
			return 0, fmt.Errorf("netlink receive: %w", errno)
		}
		return int(n), nil
	}
}
