//go:build linux

package kernel

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// WatchEvent says what kinds of objects changed since the last event.
type WatchEvent struct {
	Links, Addrs, Routes, Rules bool
	// Overflow means the kernel dropped notifications because they came
	// faster than they were read: anything may have changed.
	Overflow bool
}

func (e WatchEvent) merge(o WatchEvent) WatchEvent {
	return WatchEvent{
		Links:    e.Links || o.Links,
		Addrs:    e.Addrs || o.Addrs,
		Routes:   e.Routes || o.Routes,
		Rules:    e.Rules || o.Rules,
		Overflow: e.Overflow || o.Overflow,
	}
}

func (e WatchEvent) String() string {
	var s []string
	for _, x := range []struct {
		on   bool
		name string
	}{{e.Links, "links"}, {e.Addrs, "addresses"}, {e.Routes, "routes"}, {e.Rules, "rules"}, {e.Overflow, "overflow"}} {
		if x.on {
			s = append(s, x.name)
		}
	}
	return strings.Join(s, ",")
}

// WatchOptions tunes how bursts are coalesced.
type WatchOptions struct {
	// Quiet is how long the namespace must be calm before an event is
	// sent; default 50ms.
	Quiet time.Duration
	// MaxDelay bounds how long a steady stream of changes holds an event
	// back; default 250ms.
	MaxDelay time.Duration
}

// Multicast groups a watcher joins. All are below 32, so the bind mask of
// sockaddr_nl carries them and no NETLINK_ADD_MEMBERSHIP is needed.
var watchGroups = []uint{
	unix.RTNLGRP_LINK,
	unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
	unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE,
	unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE,
}

// Watch reports changes of links, addresses, routes and rules in the named
// network namespace (the one nictab runs in when name is empty), until ctx
// ends. A burst of changes — a script adding a thousand routes — gives one
// event, sent once the namespace has been calm for opts.Quiet, or at the
// latest opts.MaxDelay after its first change. An event the receiver has
// not taken yet is merged with the next one, so a slow receiver never
// blocks the watcher and never misses that something changed.
func Watch(ctx context.Context, name string, opts WatchOptions) (<-chan WatchEvent, error) {
	if opts.Quiet <= 0 {
		opts.Quiet = 50 * time.Millisecond
	}
	if opts.MaxDelay <= 0 {
		opts.MaxDelay = 250 * time.Millisecond
	}
	ns := netns.None()
	if name != "" {
		if strings.ContainsRune(name, '/') || name == "." || name == ".." {
			return nil, &NamespaceError{Name: name, Err: fs.ErrNotExist}
		}
		var err error
		if ns, err = netns.GetFromName(name); err != nil {
			return nil, &NamespaceError{Name: name, Err: err}
		}
		defer ns.Close()
	}
	fd, err := socketIn(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	var mask uint32
	for _, g := range watchGroups {
		mask |= 1 << (g - 1)
	}
	// A large buffer rides out bursts; when it still overflows the kernel
	// says so with ENOBUFS, which is reported as an Overflow event.
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: mask}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("join rtnetlink groups: %w", err)
	}
	out := make(chan WatchEvent, 1)
	w := &watcher{fd: fd, out: out, opts: opts, buf: make([]byte, 64<<10)}
	go w.run(ctx)
	return out, nil
}

type watcher struct {
	fd   int
	out  chan WatchEvent
	opts WatchOptions
	buf  []byte

	pending     WatchEvent
	has         bool
	first, last time.Time
}

// pollEvery bounds how long the watcher sleeps in poll, so that it notices
// the end of its context.
const pollEvery = 200 * time.Millisecond

func (w *watcher) run(ctx context.Context) {
	defer close(w.out)
	defer unix.Close(w.fd)
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	for {
		if ctx.Err() != nil {
			return
		}
		timeout := pollEvery
		if w.has {
			timeout = max(time.Until(w.due()), 0)
		}
		n, err := unix.Poll(fds, int(timeout.Milliseconds()))
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if n > 0 && !w.drain() {
			return
		}
		if w.has && !time.Now().Before(w.due()) {
			w.flush()
		}
	}
}

// due is when the pending event goes out: after a calm of Quiet, or
// MaxDelay after its first change, whichever is sooner.
func (w *watcher) due() time.Time {
	d := w.last.Add(w.opts.Quiet)
	if m := w.first.Add(w.opts.MaxDelay); m.Before(d) {
		return m
	}
	return d
}

// drain reads every datagram queued on the socket. It reports false when
// the socket failed for good.
func (w *watcher) drain() bool {
	for {
		n, _, err := unix.Recvfrom(w.fd, w.buf, unix.MSG_DONTWAIT)
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			return true
		case errors.Is(err, unix.ENOBUFS):
			w.note(WatchEvent{Overflow: true})
			continue
		case err != nil:
			return false
		}
		ev := classify(w.buf[:n])
		if ev != (WatchEvent{}) {
			w.note(ev)
		}
	}
}

func (w *watcher) note(ev WatchEvent) {
	now := time.Now()
	if !w.has {
		w.first = now
		w.has = true
	}
	w.last = now
	w.pending = w.pending.merge(ev)
}

func (w *watcher) flush() {
	ev := w.pending
	// An event the receiver has not taken yet is folded into this one.
	select {
	case old := <-w.out:
		ev = ev.merge(old)
	default:
	}
	w.out <- ev
	w.pending, w.has = WatchEvent{}, false
}

// classify reads the message types of one datagram.
func classify(b []byte) WatchEvent {
	var ev WatchEvent
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b[0:4]))
		typ := binary.NativeEndian.Uint16(b[4:6])
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			break
		}
		switch typ {
		case unix.RTM_NEWLINK, unix.RTM_DELLINK:
			ev.Links = true
		case unix.RTM_NEWADDR, unix.RTM_DELADDR:
			ev.Addrs = true
		case unix.RTM_NEWROUTE, unix.RTM_DELROUTE:
			ev.Routes = true
		case unix.RTM_NEWRULE, unix.RTM_DELRULE:
			ev.Rules = true
		}
		al := (l + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1)
		if al > len(b) {
			break
		}
		b = b[al:]
	}
	return ev
}
