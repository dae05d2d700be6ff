//go:build linux

package kernel

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// DetectWatched reads the state as netcfg.Detect does, with a change
// monitor of the namespace opened before the first dump. netcfg.Apply,
// given the result (ApplyOptions.Watched) with a plan made from its
// State, skips the stale check's dumps when the monitor heard of no
// change since.
//
// Only the kernels of this package have a monitor; with any other
// netcfg.Kernel the result carries none, and Apply reads the kernel again
// as it does without one.
func DetectWatched(k netcfg.Kernel, names netcfg.Names, opts netcfg.DetectOptions) (*netcfg.Watched, error) {
	w := &netcfg.Watched{}
	// The namespace by its inode, not the kernel value: the engine reads
	// and writes through kernels of its own, opened one after the other
	// in one namespace. The monitor holds the namespace alive, so its
	// inode names no other meanwhile.
	if lk, ok := k.(*linuxKernel); ok {
		if id := lk.ns.UniqueId(); id != "NS(unknown)" {
			m, err := openMonitor(lk.ns, id)
			if err != nil {
				return nil, err
			}
			w.Monitor = m
		}
	}
	s, err := netcfg.Detect(k, names, opts)
	if err != nil {
		return nil, errors.Join(err, w.Close())
	}
	w.State = s
	return w, nil
}

// monitorGroups are the notifications of whatever a State holds: links
// and addresses besides routes and rules, because the kernel removes the
// IPv4 routes of a link going down, or through an address removed,
// without a notification of their own; and nexthop objects, whose
// replacement changes what routes through them read back as.
var monitorGroups = []uint32{
	unix.RTNLGRP_LINK,
	unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
	unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE,
	unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE,
	unix.RTNLGRP_NEXTHOP,
}

// changeMonitor is a route socket subscribed to monitorGroups that is
// never read but to learn whether anything arrived.
type changeMonitor struct {
	fd      int
	changed bool
	// ns is the unique id of the namespace listened to.
	ns string
}

func openMonitor(ns netns.NsHandle, id string) (*changeMonitor, error) {
	fd, err := socketIn(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind change monitor: %w", err)
	}
	for _, g := range monitorGroups {
		if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_ADD_MEMBERSHIP, int(g)); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("join rtnetlink group %d: %w", g, err)
		}
	}
	return &changeMonitor{fd: fd, ns: id}, nil
}

// Watches reports whether k is a kernel of nictab's in the namespace m
// listens to, whichever of them (see DetectWatched).
func (m *changeMonitor) Watches(k netcfg.Kernel) bool {
	o, ok := k.(*linuxKernel)
	return ok && o.ns.UniqueId() == m.ns
}

// Quiet reports whether no notification has arrived since the monitor
// was opened, and the kernel dropped none (ENOBUFS: a full buffer is a
// change too). Once something arrived it stays false.
//
// NOTE: the kernel queues a notification on this socket before the
// request that changed the object returns, so a change that a dump made
// now would show has been announced by now.
func (m *changeMonitor) Quiet() (bool, error) {
	if m.changed {
		return false, nil
	}
	var b [16]byte
	for {
		_, _, err := unix.Recvfrom(m.fd, b[:], unix.MSG_DONTWAIT|unix.MSG_PEEK|unix.MSG_TRUNC)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return true, nil
		case err == nil, errors.Is(err, unix.ENOBUFS):
			m.changed = true
			return false, nil
		}
		return false, fmt.Errorf("read change monitor: %w", err)
	}
}

func (m *changeMonitor) Close() error {
	if m.fd >= 0 {
		if err := unix.Close(m.fd); err != nil {
			return fmt.Errorf("close change monitor: %w", err)
		}
		m.fd = -1
	}
	return nil
}
