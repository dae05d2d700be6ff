//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/vishvananda/netns"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/kernel"
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
	ns, err := kernel.NewNamedNS(name)
	if err != nil {
		return fmt.Errorf("create network namespace %q: %w", name, err)
	}
	defer ns.Close()
	defer func() {
		if err != nil {
			_ = Delete(name)
		}
	}()
	gw, err := kernel.NewNamedNS(gwName)
	if err != nil {
		return fmt.Errorf("create network namespace %q: %w", gwName, err)
	}
	defer gw.Close()

	// Without duplicate address detection the link-local addresses are
	// usable at once, so the sandbox is complete when this returns rather
	// than a second or two later.
	for _, h := range []netns.NsHandle{ns, gw} {
		if err := kernel.InNamespace(h, noDAD); err != nil {
			return fmt.Errorf("turn off IPv6 duplicate address detection: %w", err)
		}
	}
	h, err := kernel.OpenLinkWriter(ns)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", name, err)
	}
	defer h.Close()
	hg, err := kernel.OpenLinkWriter(gw)
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", gwName, err)
	}
	defer hg.Close()

	for _, hh := range []*kernel.LinkWriter{h, hg} {
		if err := hh.SetUp("lo"); err != nil {
			return err
		}
	}
	for _, n := range NICs {
		if err := h.AddVeth(n.Name, n.Peer, gw); err != nil {
			return err
		}
		if err := h.AddrsUp(n.Name, n.Addr4, n.Addr6); err != nil {
			return err
		}
		if err := hg.AddrsUp(n.Peer, n.Gw4, n.Gw6); err != nil {
			return err
		}
	}
	k, err := kernel.OpenAt(ns)
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

// noDAD turns off IPv6 duplicate address detection in the namespace of
// the calling thread.
func noDAD() error {
	for _, k := range []string{"all", "default"} {
		p := filepath.Join("/proc/sys/net/ipv6/conf", k, "accept_dad")
		if err := os.WriteFile(p, []byte("0"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes the sandbox namespace, its gateway namespace and the
// names files kept for it under /etc/netns. Parts already gone are not an
// error.
func Delete(name string) error {
	var errs []error
	for _, n := range []string{name, GatewayNS(name)} {
		if err := kernel.DeleteNamedNS(n); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
