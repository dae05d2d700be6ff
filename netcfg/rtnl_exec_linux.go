//go:build linux

package netcfg

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// execWindow is how many requests are sent before their ACKs are read.
// Each queued ACK costs about 1 KB of the receive buffer (8 MB here), so
// the window stays far below what would make the kernel drop ACKs.
const execWindow = 1024

// exec writes ops in pipelined windows: a window of requests goes out in
// one sendmsg, then every ACK of the window is read and matched to its
// request by sequence number. After a refusal no further window is sent.
func (c *rtnl) exec(ops []Op, links *linkIndexer) ExecResult {
	res := ExecResult{}
	type sent struct {
		seq uint32
		idx int
	}
	window := make([]sent, 0, execWindow)
	errs := make(map[int]error)
	for start := 0; start < len(ops); start += execWindow {
		end := min(start+execWindow, len(ops))
		c.wbuf = c.wbuf[:0]
		window = window[:0]
		var encErr *OpError
		for i := start; i < end; i++ {
			seq, err := c.encodeOp(ops[i], links)
			if err != nil {
				encErr = &OpError{Index: i, Op: ops[i], Err: err}
				break
			}
			window = append(window, sent{seq: seq, idx: i})
		}
		if len(window) > 0 {
			if err := c.send(); err != nil {
				// Nothing of this window reached the kernel.
				res.Failed = &OpError{Index: window[0].idx, Op: ops[window[0].idx], Err: err}
				return res
			}
			first := window[0].seq
			if err := c.readAcks(first, len(window), func(k int, err error) {
				if err != nil {
					errs[window[k].idx] = err
				}
			}); err != nil {
				// The ACKs are lost, so which ops landed is unknown: report
				// the window's first op as failed and every other op of the
				// window as possibly applied, so an undo tries them all.
				res.Done = window[0].idx
				res.Failed = &OpError{Index: window[0].idx, Op: ops[window[0].idx], Err: err}
				for _, s := range window[1:] {
					res.Stray = append(res.Stray, s.idx)
				}
				return res
			}
		}
		// The first refusal decides the result.
		for _, s := range window {
			if err, bad := errs[s.idx]; bad && res.Failed == nil {
				res.Failed = &OpError{Index: s.idx, Op: ops[s.idx], Err: err}
				continue
			}
			if res.Failed == nil {
				res.Done = s.idx + 1
			} else if errs[s.idx] == nil {
				res.Stray = append(res.Stray, s.idx)
			}
		}
		if res.Failed != nil {
			return res
		}
		if encErr != nil {
			res.Failed = encErr
			return res
		}
	}
	return res
}

func (c *rtnl) encodeOp(o Op, links *linkIndexer) (uint32, error) {
	const req = unix.NLM_F_REQUEST | unix.NLM_F_ACK
	switch o.Kind {
	case OpAddRoute:
		return c.encodeRoute(unix.RTM_NEWROUTE, req|unix.NLM_F_CREATE|unix.NLM_F_EXCL, o.Route, links)
	case OpReplaceRoute:
		return c.encodeRoute(unix.RTM_NEWROUTE, req|unix.NLM_F_CREATE|unix.NLM_F_REPLACE, o.Route, links)
	case OpDelRoute:
		return c.encodeRoute(unix.RTM_DELROUTE, req, o.Route, links)
	case OpAddRule:
		return c.encodeRule(unix.RTM_NEWRULE, req|unix.NLM_F_CREATE|unix.NLM_F_EXCL, o.Rule), nil
	case OpDelRule:
		return c.encodeRule(unix.RTM_DELRULE, req, o.Rule), nil
	}
	return 0, fmt.Errorf("unknown op %v", o.Kind)
}

// readAcks reads n ACKs for the sequence numbers first..first+n-1 and calls
// got with each one's position and result.
func (c *rtnl) readAcks(first uint32, n int, got func(k int, err error)) error {
	seen := 0
	for seen < n {
		b, err := c.recv()
		if err != nil {
			return err
		}
		if err := eachMsg(b, func(m nlMsg) error {
			if m.typ != unix.NLMSG_ERROR {
				return nil
			}
			k := int(m.seq - first)
			if k < 0 || k >= n {
				return nil
			}
			seen++
			got(k, parseErr(m.data, m.flags))
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
