//go:build linux

package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
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
	// maxKeptArena is the largest buffer of encoded requests a socket
	// keeps for its next exec: an Apply's batches of 131,072 routes need
	// about 8 MB.
	maxKeptArena = 16 << 20
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
// one sendmsg, then the window's answers are read, matched to their
// requests by sequence number.
//
// The kernel handles a sendmsg's requests one after the other before the
// call returns. Only the window's last request asks for an ACK: the kernel
// answers every refusal anyway, so a request with no answer before the
// last one's ACK was taken (see readAcks). An ACK per request costs the
// kernel an skb each: BenchmarkExecRoutes100k (adding then deleting 100k
// routes) took 1.02–1.05 s so, 0.69–0.81 s with one ACK per window.
//
// The window is sized at open from the receive buffer the kernel granted,
// so a whole window of refusals fits and none is dropped; should some be
// dropped anyway (ENOBUFS), what they would have said is read back from
// the kernel.
//
// Ops go out in order, except runs of rule additions (see sendOrder).
// After a refusal, only the ops before the refused one that are still
// unsent go out (those of a run sent backwards), so that every op before
// the refusal has an answer and the result is exact.
func (c *rtnl) exec(ops []netcfg.Op, links *linkIndexer) netcfg.ExecResult {
	if c.acks == nil {
		c.acks = newAckRing(c.window)
	}
	state := make([]uint8, len(ops))
	errs := map[int]error{}
	slot := make([]int32, 0, c.window) // op index of each request of a window
	refused := len(ops)                // lowest op refused so far
	// Every request is encoded first, in the order of ops, and the
	// windows are cut from the encoded requests in the order they go out.
	//
	// NOTE: encoding in send order (see spread) read the routes all over
	// the plan's memory, a cache miss or more per route: 31–40 ms for
	// 100k routes where the same encoding in their order takes 15 ms.
	// Cut from the encoded requests (~64 bytes each), the misses are
	// fewer and cheaper.
	runs := make([]bool, len(ops))
	arena, off := c.encodeOps(ops, links, runs, func(i int, err error) {
		state[i], errs[i] = ackRefused, err
		refused = min(refused, i)
	})
	order := sendOrderOfRuns(ops, runs)
	for p := 0; p < len(order); {
		c.wbuf = c.wbuf[:0]
		slot = slot[:0]
		first := c.seq + 1
		at := 0 // where the window's last request starts
		for ; p < len(order) && len(slot) < c.window && len(c.wbuf) < c.sendMax; p++ {
			i := int(order[p])
			if i > refused || off[i] == off[i+1] {
				continue
			}
			// The sequence numbers of a window are contiguous, in the
			// order its requests go out.
			c.seq++
			at = len(c.wbuf)
			c.wbuf = append(c.wbuf, arena[off[i]:off[i+1]]...)
			binary.NativeEndian.PutUint32(c.wbuf[at+8:], c.seq)
			flags := binary.NativeEndian.Uint16(c.wbuf[at+6:])
			binary.NativeEndian.PutUint16(c.wbuf[at+6:], flags&^unix.NLM_F_ACK)
			slot = append(slot, int32(i))
		}
		n := len(slot)
		if n == 0 {
			continue
		}
		flags := binary.NativeEndian.Uint16(c.wbuf[at+6:])
		binary.NativeEndian.PutUint16(c.wbuf[at+6:], flags|unix.NLM_F_ACK)
		if err := c.send(); err != nil {
			// Nothing of this window reached the kernel.
			for _, i := range slot {
				state[i], errs[int(i)] = ackRefused, err
				refused = min(refused, int(i))
			}
			continue
		}
		if err := c.readAcks(first, n); err != nil {
			if errors.Is(err, unix.ENOBUFS) {
				err = c.settleLost(first, slot, ops, links, err)
			}
			if err != nil {
				for k := range n {
					c.acks.state[k], c.acks.errs[k] = ackRefused, err
				}
			}
		}
		for k, i := range slot {
			state[i] = c.acks.state[k]
			if state[i] == ackRefused {
				errs[int(i)] = c.acks.errs[k]
				refused = min(refused, int(i))
			}
		}
		clear(c.acks.errs[:n])
	}
	if cap(arena) <= maxKeptArena {
		c.arena = arena[:0]
	}
	var res netcfg.ExecResult
	for res.Done < len(ops) && state[res.Done] == ackOK {
		res.Done++
	}
	if res.Done < len(ops) {
		res.Failed = &netcfg.OpError{Index: res.Done, Op: ops[res.Done], Err: errs[res.Done]}
		for i := res.Done + 1; i < len(ops); i++ {
			if state[i] == ackOK {
				res.Stray = append(res.Stray, i)
			}
		}
	}
	return res
}

// sendOrder returns the order in which ops are sent: as given, except that
// a run of rule additions whose priorities rise within each family is sent
// backwards.
//
// NOTE: the kernel keeps rules in one list per family, ordered by
// priority, and inserts a rule after walking past every rule of lower or
// equal priority. Rules added in rising order walk the whole list each
// time, quadratic in their number (10k rules: ~0.6 s of kernel time);
// backwards, each is inserted at once. The rules in place afterwards are
// the same: no two rules of one family with the same priority change
// places, and a plan adds rules only once the routes they need are in.
//
// NOTE: a run of route additions or deletions of one table and family,
// all through a gateway or all without one, is sent spread out (see
// spread): a plan lists them in key order, and the kernel handles
// neighbours in its trie one after the other more slowly than the same
// routes scattered over the address space. A raw writer's times for
// 100k IPv4 /24s (one ACK per window; in key order / spread within blocks
// of 16,384 / spread over all of them): adding 100k in a row from
// 20.0.0.0/24, 195–205 / 208 / 141–148 ms; adding 100k drawn over 220 /8s,
// 191–201 / 207–226 / 163–172 ms; deleting the first 748–759 / 611–630 /
// 119–128 ms; deleting the others 129–138 / 123–125 / 155–165 ms. Through
// nictab, deleting 100k random /24s took 0.32–0.41 s spread over the run
// and 0.49–0.56 s spread within blocks, so a run is spread whole.
func sendOrder(ops []netcfg.Op) []int32 {
	runs := make([]bool, len(ops))
	for i := 1; i < len(ops); i++ {
		runs[i] = continuesRun(&ops[i-1], &ops[i])
	}
	return sendOrderOfRuns(ops, runs)
}

// continuesRun reports whether op b, right after a, continues the run of
// route writes sendOrder spreads that a is in: both additions or both
// deletions, spreadable, of one table and family, both through a
// gateway or both without one.
func continuesRun(a, b *netcfg.Op) bool {
	k := a.Kind
	return (k == netcfg.OpAddRoute || k == netcfg.OpDelRoute) && b.Kind == k && spreadable(a.Route) && spreadable(b.Route) &&
		b.Route.Table == a.Route.Table && b.Route.Gw.IsValid() == a.Route.Gw.IsValid() && b.Route.Family() == a.Route.Family()
}

// sendOrderOfRuns is sendOrder, told by runs[i] whether op i continues
// the run of op i-1 (continuesRun).
//
// NOTE: the runs are found as the requests are encoded, each route then
// read already: found in a walk of their own, over 24 MB of 100k routes
// out of the cache since the plan printed, they took 2.9 ms.
func sendOrderOfRuns(ops []netcfg.Op, runs []bool) []int32 {
	order := make([]int32, len(ops))
	for i := range order {
		order[i] = int32(i)
	}
	for i := 0; i < len(ops); {
		if k := ops[i].Kind; (k == netcfg.OpAddRoute || k == netcfg.OpDelRoute) && spreadable(ops[i].Route) {
			j := i + 1
			for j < len(ops) && runs[j] {
				j++
			}
			spread(order[i:j])
			i = j
			continue
		}
		if ops[i].Kind != netcfg.OpAddRule {
			i++
			continue
		}
		var last [2]int64 // per family, the priority of the run's last rule
		last[0], last[1] = -1, -1
		j := i
		for ; j < len(ops) && ops[j].Kind == netcfg.OpAddRule; j++ {
			f := 0
			if ops[j].Rule.Family == netcfg.V6 {
				f = 1
			}
			if int64(ops[j].Rule.Priority) <= last[f] {
				break
			}
			last[f] = int64(ops[j].Rule.Priority)
		}
		slices.Reverse(order[i:j])
		i = j
	}
	return order
}

// spreadable reports whether a route depends on no other route of its
// run: one through a gateway needs only a connected route, which a plan
// puts before every route through a gateway, and one without a gateway
// needs none. A multipath route or one through a nexthop object may need
// routes beside it, and keeps its place.
func spreadable(r *netcfg.Route) bool { return len(r.MultiPath) == 0 && r.NHID == 0 }

// spread permutes a run of indices so that neighbours go far apart: the
// k-th sent is run[k·step mod n], step near n/φ and prime to n.
func spread(run []int32) {
	n := len(run)
	if n < 3 {
		return
	}
	step := n * 618 / 1000
	for gcd(step, n) != 1 {
		step++
	}
	orig := slices.Clone(run)
	pos := 0
	// NOTE: a subtraction, not pos%n: the division made spreading 100k
	// routes 0.68 ms where this takes 0.23.
	for k := range run {
		run[k] = orig[pos]
		if pos += step; pos >= n {
			pos -= n
		}
	}
}

// encodeOps encodes the request of each op into an arena, in the order
// of ops: request i is arena[off[i]:off[i+1]], empty for an op that
// cannot be encoded, which refuse is told of. The sequence numbers in it
// are the window's to set, c.seq is as before. runs[i] is set to whether
// op i continues the run of op i-1 (continuesRun).
//
// NOTE: a route request that differs from the one before it only in the
// destination's address is that one's bytes with the address put in
// (sameButDst): the routes of a file or a table mostly share all else. A
// first Exec of 100k routes spent 11-14 ms before its first window
// encoding them one by one.
func (c *rtnl) encodeOps(ops []netcfg.Op, links *linkIndexer, runs []bool, refuse func(i int, err error)) (arena []byte, off []uint32) {
	arena, off = c.arena[:0], make([]uint32, len(ops)+1)
	seq := c.seq
	c.wbuf, arena = arena, c.wbuf
	// The last route request encoded in full, and where its
	// destination's address lies in it (0: none to put in).
	var last *netcfg.Route
	lastKind, lastAt, lastLen, lastDst := netcfg.OpKind(0), 0, 0, 0
	for i := range ops {
		if i > 0 && cap(c.wbuf)-len(c.wbuf) < arenaSlack {
			c.wbuf = reserveArena(c.wbuf, i, len(ops))
		}
		o := &ops[i]
		at := len(c.wbuf)
		if i > 0 {
			runs[i] = continuesRun(&ops[i-1], o)
		}
		switch {
		case last != nil && o.Kind == lastKind && o.Route != nil && sameButDst(o.Route, last):
			c.seq++
			c.wbuf = append(c.wbuf, c.wbuf[lastAt:lastAt+lastLen]...)
			binary.NativeEndian.PutUint32(c.wbuf[at+8:], c.seq)
			putAddr(c.wbuf[at+lastDst:], o.Route.Dst.Addr())
		default:
			err := c.encodeOp(*o, links)
			if err != nil {
				refuse(i, err)
			}
			last = nil
			if err == nil && o.Route != nil && isRouteOp(o.Kind) {
				if d := attrPayload(c.wbuf[at:], unix.RTA_DST); d > 0 {
					last, lastKind, lastAt, lastLen, lastDst = o.Route, o.Kind, at, len(c.wbuf)-at, d
				}
			}
		}
		off[i+1] = uint32(len(c.wbuf))
	}
	c.wbuf, arena = arena, c.wbuf
	c.seq = seq
	return arena, off
}

// isRouteOp reports whether k writes a route.
func isRouteOp(k netcfg.OpKind) bool {
	return k == netcfg.OpAddRoute || k == netcfg.OpReplaceRoute || k == netcfg.OpDelRoute
}

// sameButDst reports whether encodeRoute makes the same request of a and
// b but for the bytes of the destination's address: every field it
// encodes is equal, the destination of the same family and length. Routes
// with next hops, metrics, an encapsulation or attributes kept verbatim
// are never taken so (their requests are made in full).
func sameButDst(a, b *netcfg.Route) bool {
	if a.MultiPath != nil || b.MultiPath != nil || a.Metrics != nil || b.Metrics != nil ||
		a.Encap != nil || b.Encap != nil || a.Unmodelled != nil || b.Unmodelled != nil {
		return false
	}
	return a.Dst.Bits() == b.Dst.Bits() && a.Dst.Bits() > 0 && a.Dst.Addr().Is4() == b.Dst.Addr().Is4() &&
		a.Table == b.Table && a.Type == b.Type && a.Gw == b.Gw && a.Dev == b.Dev && a.Src == b.Src &&
		a.Scope == b.Scope && a.Proto == b.Proto && a.Metric == b.Metric && a.Tos == b.Tos &&
		a.Onlink == b.Onlink && a.From == b.From && a.NHID == b.NHID && a.Pref == b.Pref && a.Realms == b.Realms
}

// attrPayload is where the payload of req's first attribute of type typ
// starts, 0 for none: req is one route request (netlink and rtmsg
// headers, then attributes).
func attrPayload(req []byte, typ uint16) int {
	for at := nlHdrLen + rtmsgLen; at+4 <= len(req); {
		l := int(binary.NativeEndian.Uint16(req[at:]))
		if l < 4 {
			return 0
		}
		if binary.NativeEndian.Uint16(req[at+2:]) == typ {
			return at + 4
		}
		at += (l + 3) &^ 3
	}
	return 0
}

// putAddr writes a's bytes (4 or 16) at the start of b.
func putAddr(b []byte, a netip.Addr) {
	if a.Is4() {
		v := a.As4()
		copy(b, v[:])
		return
	}
	v := a.As16()
	copy(b, v[:])
}

// arenaSlack is the room below which the arena is grown before the next
// request is encoded: more than any request takes but a multipath
// route's with many next hops, so that a request rarely has append grow
// the arena.
const arenaSlack = 1 << 10

// reserveArena grows arena, which holds the first done (> 0) of total
// requests, to hold all of them, as many bytes each as those so far take
// on average, and an eighth more. Until a thousand are in, the average
// counts as 256 at most: a few large requests first (multipath routes)
// say little of the rest, and should the rest be as large, the arena is
// grown again when full, from a truer average.
//
// NOTE: grown by append alone, the arena of 100k routes (6.4 MB) was
// copied into a new one a quarter larger (append's pace for large
// slices) over and over: some 30 MB of fresh pages faulted in while the
// kernel waited for the first window. The encoding of a first Exec took
// 33–41 ms of CPU so, 12–15 ms reserved, as with the arena kept from an
// earlier Exec.
func reserveArena(arena []byte, done, total int) []byte {
	each := len(arena)/done + 1
	if done < 1024 {
		each = min(each, 256)
	}
	want := len(arena) + (total-done)*each + (total-done)*each/8 + arenaSlack
	// NOTE: make and copy, not slices.Grow: append's growth clears the
	// room it adds, where make leaves fresh memory as the kernel hands
	// it over, cleared already. Grown so, the arena of a first Exec's
	// 100k routes was cleared twice, Go's clearing 3 ms of each apply
	// (perf, 3 applies of each); made, exec's CPU before the first
	// window is 1.4 ms less, the page faults moving into the encoding.
	grown := make([]byte, len(arena), want)
	copy(grown, arena)
	return grown
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func (c *rtnl) encodeOp(o netcfg.Op, links *linkIndexer) error {
	const req = unix.NLM_F_REQUEST | unix.NLM_F_ACK
	switch o.Kind {
	case netcfg.OpAddRoute:
		return c.encodeRoute(unix.RTM_NEWROUTE, req|unix.NLM_F_CREATE|unix.NLM_F_EXCL, o.Route, links)
	case netcfg.OpReplaceRoute:
		return c.encodeRoute(unix.RTM_NEWROUTE, req|unix.NLM_F_CREATE|unix.NLM_F_REPLACE, o.Route, links)
	case netcfg.OpDelRoute:
		return c.encodeRoute(unix.RTM_DELROUTE, req, o.Route, links)
	case netcfg.OpAddRule:
		c.encodeRule(unix.RTM_NEWRULE, req|unix.NLM_F_CREATE|unix.NLM_F_EXCL, o.Rule)
		return nil
	case netcfg.OpDelRule:
		c.encodeRule(unix.RTM_DELRULE, req, o.Rule)
		return nil
	}
	return fmt.Errorf("unknown op %v", o.Kind)
}

// readAcks reads the answers to the n requests numbered first…first+n-1
// into c.acks.state and c.acks.errs. Only the last request asked for an
// ACK; the kernel answers a refused request whether asked or not, and
// handles a sendmsg's requests in order, queueing their answers in that
// order. So once the last one's answer is in, a request with none was
// taken. Anything else on the socket (answers of an earlier window given
// up on, the tail of an abandoned dump) is skipped.
func (c *rtnl) readAcks(first uint32, n int) error {
	r := c.acks
	clear(r.state[:n])
	for seen := 0; r.state[n-1] == ackPending; {
		got, err := c.recvBatch(n - seen)
		if err != nil {
			return err
		}
		seen += c.takeAcks(first, n, got)
	}
	for k := range n - 1 {
		if r.state[k] == ackPending {
			r.state[k] = ackOK
		}
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
func (c *rtnl) settleLost(first uint32, slot []int32, all []netcfg.Op, links *linkIndexer, lost error) error {
	c.lostWindows++
	r := c.acks
	n := len(slot)
	ops := make([]netcfg.Op, n)
	for k, i := range slot {
		ops[k] = all[i]
	}
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
	have := map[netcfg.RouteKey][]netcfg.Route{}
	for t := range tables {
		err := c.routes(netcfg.RouteQuery{Table: t}, links, func(rt *netcfg.Route) error {
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
			haveRule[netcfg.RuleKey(&rs[i])] = true
		}
	}
	for k := range n {
		if r.state[k] != ackPending {
			continue
		}
		o := ops[k]
		var present bool
		if o.Route != nil {
			present = slices.ContainsFunc(have[o.Route.Key()], func(h netcfg.Route) bool { return netcfg.RouteEqual(&h, o.Route) })
		} else {
			present = haveRule[netcfg.RuleKey(o.Rule)]
		}
		if present == !o.Kind.IsDelete() {
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
