//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// Name is the namespace `nictab sandbox` creates.
const Name = "nictab-sandbox"

// GatewayNS is the namespace that holds the sandbox's gateways.
func GatewayNS(name string) string { return name + "-gw" }

// Create makes the namespace name, holding NICs, and its gateway
// namespace. Whatever it made is removed again when it fails.
func Create(name string) (err error) {
	gwName := GatewayNS(name)
	for _, n := range []string{name, gwName} {
		if _, err := os.Stat(filepath.Join("/run/netns", n)); err == nil {
			return fmt.Errorf("network namespace %q already exists (remove it with `ip netns del %s`, or use it with --netns %s)", n, n, name)
		}
	}
	ns, err := newNamedNS(name)
	if err != nil {
		return fmt.Errorf("create network namespace %q: %w", name, err)
	}
	defer ns.Close()
	defer func() {
		if err != nil {
			_ = Delete(name)
		}
	}()
	gw, err := newNamedNS(gwName)
	if err != nil {
		return fmt.Errorf("create network namespace %q: %w", gwName, err)
	}
	defer gw.Close()

	// Without duplicate address detection the link-local addresses are
	// usable at once, so the sandbox is complete when this returns rather
	// than a second or two later.
	for _, h := range []netns.NsHandle{ns, gw} {
		if err := inNS(h, noDAD); err != nil {
			return fmt.Errorf("turn off IPv6 duplicate address detection: %w", err)
		}
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", name, err)
	}
	defer h.Close()
	hg, err := netlink.NewHandleAt(gw, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", gwName, err)
	}
	defer hg.Close()

	for _, hh := range []*netlink.Handle{h, hg} {
		lo, err := hh.LinkByName("lo")
		if err != nil {
			return fmt.Errorf("find lo: %w", err)
		}
		if err := hh.LinkSetUp(lo); err != nil {
			return fmt.Errorf("set lo up: %w", err)
		}
	}
	for _, n := range NICs {
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: n.Name}, PeerName: n.Peer, PeerNamespace: netlink.NsFd(int(gw))}
		if err := h.LinkAdd(veth); err != nil {
			return fmt.Errorf("add veth %s: %w", n.Name, err)
		}
		if err := addrsUp(h, n.Name, n.Addr4, n.Addr6); err != nil {
			return err
		}
		if err := addrsUp(hg, n.Peer, n.Gw4, n.Gw6); err != nil {
			return err
		}
	}
	k, err := netcfg.OpenKernelAt(ns)
	if err != nil {
		return err
	}
	defer k.Close()
	var ops []netcfg.Op
	for _, n := range NICs {
		ops = append(ops,
			netcfg.Op{Kind: netcfg.OpAddRoute, Route: &netcfg.Route{Table: netcfg.TableMain, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("0.0.0.0/0"), Gw: n.Gw4.Addr(), Dev: n.Name, Proto: netcfg.ProtoDHCP, Metric: n.DefaultMetric}},
			netcfg.Op{Kind: netcfg.OpAddRoute, Route: &netcfg.Route{Table: netcfg.TableMain, Type: netcfg.RouteUnicast, Dst: netip.MustParsePrefix("::/0"), Gw: n.Gw6.Addr(), Dev: n.Name, Proto: netcfg.ProtoRA, Metric: n.DefaultMetric}},
		)
	}
	if res := k.Exec(ops); res.Failed != nil {
		return fmt.Errorf("sandbox default routes: %w", res.Failed)
	}
	return waitSettled(k)
}

// waitSettled waits until every sandbox NIC has carrier and its IPv6
// link-local address: the kernel reports carrier through a delayed work
// queue, up to a second after both ends are up, and only then adds the
// address. A sandbox that is still settling changes under whoever looks.
func waitSettled(k netcfg.Kernel) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		links, err := k.Links()
		if err != nil {
			return err
		}
		ready := 0
		for _, l := range links {
			for _, a := range l.Addrs {
				if l.Carrier && a.Prefix.Addr().IsLinkLocalUnicast() && !slices.Contains(a.Flags, "tentative") {
					ready++
					break
				}
			}
		}
		if ready >= len(NICs) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sandbox NICs did not come up within 5s (%d of %d ready)", ready, len(NICs))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func addrsUp(h *netlink.Handle, dev string, addrs ...netip.Prefix) error {
	l, err := h.LinkByName(dev)
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
		if err := h.AddrAdd(l, a); err != nil {
			return fmt.Errorf("add %s to %s: %w", p, dev, err)
		}
	}
	if err := h.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up: %w", dev, err)
	}
	return nil
}

// inNS runs fn on a thread inside ns. Files under /proc/sys/net belong to
// the namespace of the thread that opens them.
func inNS(ns netns.NsHandle, fn func() error) error {
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

func noDAD() error {
	for _, k := range []string{"all", "default"} {
		p := filepath.Join("/proc/sys/net/ipv6/conf", k, "accept_dad")
		if err := os.WriteFile(p, []byte("0"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// newNamedNS creates a namespace bound at /run/netns/name, as `ip netns
// add` does, without moving the calling thread into it.
func newNamedNS(name string) (netns.NsHandle, error) {
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

// Delete removes the sandbox namespace, its gateway namespace and the
// names files kept for it under /etc/netns. Parts already gone are not an
// error.
func Delete(name string) error {
	var errs []error
	for _, n := range []string{name, GatewayNS(name)} {
		if err := DeleteNamedNS(n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
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
