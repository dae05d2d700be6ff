//go:build linux

package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NOTE: nictab itself never writes links or addresses; only the sandbox
// (internal/sandbox) builds them, so they go through vishvananda/netlink,
// a few requests each, rather than through the codec of routes and rules.

// LinkWriter adds and raises links and addresses in one namespace.
type LinkWriter struct {
	h *netlink.Handle
}

// OpenLinkWriter opens a LinkWriter in ns; the caller keeps ns.
func OpenLinkWriter(ns netns.NsHandle) (*LinkWriter, error) {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	return &LinkWriter{h: h}, nil
}

// Close closes w's socket.
func (w *LinkWriter) Close() { w.h.Close() }

// SetUp sets the link dev up.
func (w *LinkWriter) SetUp(dev string) error {
	l, err := w.h.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("find %s: %w", dev, err)
	}
	if err := w.h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", dev, err)
	}
	return nil
}

// AddVeth adds the veth pair name and peer, with peer in peerNS.
func (w *LinkWriter) AddVeth(name, peer string, peerNS netns.NsHandle) error {
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer, PeerNamespace: netlink.NsFd(int(peerNS))}
	if err := w.h.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s: %w", name, err)
	}
	return nil
}

// AddrsUp adds addrs to dev and sets it up. IPv6 addresses skip
// duplicate address detection.
func (w *LinkWriter) AddrsUp(dev string, addrs ...netip.Prefix) error {
	l, err := w.h.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("find %s: %w", dev, err)
	}
	for _, p := range addrs {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
		if p.Addr().Is6() {
			// Duplicate address detection would leave the address
			// tentative, and unusable as a source, for a second or two.
			a.Flags = unix.IFA_F_NODAD
		}
		if err := w.h.AddrAdd(l, a); err != nil {
			return fmt.Errorf("add %s to %s: %w", p, dev, err)
		}
	}
	if err := w.h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", dev, err)
	}
	return nil
}

// InNamespace runs fn on a thread inside ns. Files under /proc/sys/net
// belong to the namespace of the thread that opens them.
func InNamespace(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			errc <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: it dies with this goroutine.
			errc <- errors.Join(ferr, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// shareRunNetns makes /run/netns a shared mount of its own, as `ip netns
// add` does before its first namespace. Without it, the first `ip netns
// add` after nictab made a namespace bind-mounts /run/netns over itself and
// hides that namespace's mount beneath: its file can then be neither
// unmounted nor removed (EBUSY), and the namespace outlives its owner.
func shareRunNetns() error {
	const dir = "/run/netns"
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	for bound := false; ; bound = true {
		err := unix.Mount("", dir, "none", unix.MS_SHARED|unix.MS_REC, "")
		if err == nil {
			return nil
		}
		// EINVAL: not a mount point yet. Make it one, once.
		if !errors.Is(err, unix.EINVAL) || bound {
			return fmt.Errorf("make %s a shared mount: %w", dir, err)
		}
		if err := unix.Mount(dir, dir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind %s on itself: %w", dir, err)
		}
	}
}

// NewNamedNS creates a namespace bound at /run/netns/name, as `ip netns
// add` does, without moving the calling thread into it.
func NewNamedNS(name string) (netns.NsHandle, error) {
	if err := shareRunNetns(); err != nil {
		return netns.None(), err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return netns.None(), err
	}
	defer orig.Close()
	ns, err := netns.NewNamed(name)
	if serr := netns.Set(orig); serr != nil {
		panic(fmt.Sprintf("cannot return to the original network namespace: %v", serr))
	}
	if err != nil {
		_ = os.Remove(filepath.Join("/run/netns", name))
		return netns.None(), err
	}
	return ns, nil
}

// DeleteNamedNS removes /run/netns/name and the /etc/netns/name folder
// `ip netns` keeps for it.
func DeleteNamedNS(name string) error {
	p := filepath.Join("/run/netns", name)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return os.RemoveAll(filepath.Join("/etc/netns", name))
	}
	if err := netns.DeleteNamed(name); err != nil {
		return fmt.Errorf("delete network namespace %q: %w", name, err)
	}
	if err := os.RemoveAll(filepath.Join("/etc/netns", name)); err != nil {
		return fmt.Errorf("remove /etc/netns/%s: %w", name, err)
	}
	return nil
}
