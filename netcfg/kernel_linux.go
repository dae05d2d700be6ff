//go:build linux

package netcfg

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// NamespaceError means a named network namespace could not be opened.
type NamespaceError struct {
	Name string
	Err  error
}

func (e *NamespaceError) Error() string {
	if errors.Is(e.Err, fs.ErrNotExist) {
		return fmt.Sprintf("network namespace %q does not exist (see `ip netns list`)", e.Name)
	}
	return fmt.Sprintf("open network namespace %q: %v", e.Name, e.Err)
}

func (e *NamespaceError) Unwrap() error { return e.Err }

// linuxKernel reads and writes one namespace: links and addresses through
// vishvananda/netlink, routes and rules through nictab's own codec.
type linuxKernel struct {
	ns    netns.NsHandle
	h     *netlink.Handle
	c     *rtnl
	links linkIndexer
}

// OpenKernel opens the network namespace called name through
// /run/netns/NAME, or the namespace nictab runs in when name is empty.
func OpenKernel(name string) (Kernel, error) {
	ns := netns.None()
	if name != "" {
		if strings.ContainsRune(name, '/') || name == "." || name == ".." {
			return nil, &NamespaceError{Name: name, Err: fs.ErrNotExist}
		}
		var err error
		ns, err = netns.GetFromName(name)
		if err != nil {
			return nil, &NamespaceError{Name: name, Err: err}
		}
	}
	return openKernelAt(ns)
}

// OpenKernelAt opens the namespace behind an open handle. The handle is
// duplicated; the caller keeps its own.
func OpenKernelAt(ns netns.NsHandle) (Kernel, error) {
	fd, err := unix.Dup(int(ns))
	if err != nil {
		return nil, fmt.Errorf("dup namespace handle: %w", err)
	}
	return openKernelAt(netns.NsHandle(fd))
}

func openKernelAt(ns netns.NsHandle) (Kernel, error) {
	k := &linuxKernel{ns: ns}
	var err error
	if ns.IsOpen() {
		k.h, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	} else {
		k.h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	}
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("open netlink: %w", err)
	}
	if k.c, err = openRtnl(ns); err != nil {
		k.h.Close()
		ns.Close()
		return nil, err
	}
	return k, nil
}

func (k *linuxKernel) Close() error {
	k.h.Close()
	k.c.Close()
	if k.ns.IsOpen() {
		k.ns.Close()
	}
	return nil
}

func (k *linuxKernel) Links() ([]Link, error) {
	var (
		ll  []netlink.Link
		al  []netlink.Addr
		err error
	)
	for range 10 {
		ll, err = k.h.LinkList()
		if err == nil {
			al, err = k.h.AddrList(nil, netlink.FAMILY_ALL)
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	byIndex := make(map[int]int, len(ll))
	out := make([]Link, 0, len(ll))
	k.links = linkIndexer{byName: make(map[string]int, len(ll)), byIndex: make(map[int]string, len(ll))}
	for _, l := range ll {
		a := l.Attrs()
		k.links.byName[a.Name] = a.Index
		k.links.byIndex[a.Index] = a.Name
		kind := l.Type()
		if kind == "device" {
			kind = ""
		}
		out = append(out, Link{
			Index:     a.Index,
			Name:      a.Name,
			Kind:      kind,
			OperState: a.OperState.String(),
			Up:        a.Flags&(1<<0) != 0,
			Carrier:   a.RawFlags&unix.IFF_LOWER_UP != 0,
			MAC:       a.HardwareAddr.String(),
			MTU:       a.MTU,
			Alias:     a.Alias,
			Group:     a.Group,
			Loopback:  a.RawFlags&unix.IFF_LOOPBACK != 0,
			Addrs:     []Addr{},
		})
	}
	slices.SortFunc(out, func(a, b Link) int { return a.Index - b.Index })
	for i := range out {
		byIndex[out[i].Index] = i
	}
	for i := range out {
		for _, l := range ll {
			if l.Attrs().Index == out[i].Index && l.Attrs().MasterIndex != 0 {
				out[i].Master = k.links.byIndex[l.Attrs().MasterIndex]
			}
		}
	}
	for _, a := range al {
		i, ok := byIndex[a.LinkIndex]
		if !ok || a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		if ip.Is4In6() {
			ip = ip.Unmap()
		}
		bits, _ := a.Mask.Size()
		out[i].Addrs = append(out[i].Addrs, Addr{
			Prefix: netip.PrefixFrom(ip, bits),
			Scope:  Scope(a.Scope),
			Flags:  addrFlags(a.Flags),
			// vishvananda/netlink reads IFA_FLAGS into Flags, so the
			// permanent bit is there for every address.
			Dynamic: a.Flags&unix.IFA_F_PERMANENT == 0,
		})
	}
	return out, nil
}

func addrFlags(f int) []string {
	var out []string
	for _, x := range []struct {
		bit  int
		name string
	}{
		{unix.IFA_F_TENTATIVE, "tentative"},
		{unix.IFA_F_DADFAILED, "dadfailed"},
		{unix.IFA_F_DEPRECATED, "deprecated"},
		{unix.IFA_F_NOPREFIXROUTE, "noprefixroute"},
		{unix.IFA_F_SECONDARY, "secondary"},
	} {
		if f&x.bit != 0 {
			out = append(out, x.name)
		}
	}
	return out
}

// ensureLinks loads the name/index map routes need when Links has not been
// called yet.
func (k *linuxKernel) ensureLinks() error {
	if k.links.byName != nil {
		return nil
	}
	_, err := k.Links()
	return err
}

func (k *linuxKernel) Rules() ([]Rule, error) {
	var (
		rs  []Rule
		err error
	)
	for range 10 {
		rs, err = k.c.rules()
		if !errors.Is(err, ErrDumpInterrupted) {
			break
		}
	}
	return rs, err
}

func (k *linuxKernel) Routes(q RouteQuery, fn func(*Route) error) error {
	if err := k.ensureLinks(); err != nil {
		return err
	}
	return k.c.routes(q, &k.links, fn)
}

func (k *linuxKernel) Exec(ops []Op) ExecResult {
	// Links change between calls (a NIC may be renamed or removed), so
	// names are looked up afresh for every batch.
	if _, err := k.Links(); err != nil {
		if len(ops) == 0 {
			return ExecResult{}
		}
		return ExecResult{Failed: &OpError{Index: 0, Op: ops[0], Err: fmt.Errorf("list links: %w", err)}}
	}
	return k.c.exec(ops, &k.links)
}
