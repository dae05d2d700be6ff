//go:build linux

package kernel

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
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
	if errors.Is(e.Err, fs.ErrPermission) {
		return fmt.Sprintf("entering network namespace %q needs root (CAP_SYS_ADMIN): run nictab with sudo (nothing was changed)", e.Name)
	}
	return fmt.Sprintf("open network namespace %q: %v", e.Name, e.Err)
}

func (e *NamespaceError) Unwrap() error { return e.Err }

// linuxKernel reads and writes one namespace through nictab's own codec.
type linuxKernel struct {
	ns    netns.NsHandle
	c     *rtnl
	links linkIndexer
}

// Open opens the network namespace called name through
// /run/netns/NAME, or the namespace nictab runs in when name is empty.
func Open(name string) (netcfg.Kernel, error) {
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
		if !CanEnterNamespace() {
			// netlink's own error for this loses its type ("failed to
			// set into network namespace … operation not permitted").
			ns.Close()
			return nil, &NamespaceError{Name: name, Err: fs.ErrPermission}
		}
	}
	return openAt(ns)
}

// OpenAt opens the namespace behind an open handle. The handle is
// duplicated; the caller keeps its own.
func OpenAt(ns netns.NsHandle) (netcfg.Kernel, error) {
	fd, err := unix.Dup(int(ns))
	if err != nil {
		return nil, fmt.Errorf("dup namespace handle: %w", err)
	}
	return openAt(netns.NsHandle(fd))
}

func openAt(ns netns.NsHandle) (netcfg.Kernel, error) {
	k := &linuxKernel{ns: ns}
	var err error
	if k.c, err = openRtnl(ns); err != nil {
		ns.Close()
		return nil, err
	}
	return k, nil
}

func (k *linuxKernel) Close() error {
	k.c.Close()
	if k.ns.IsOpen() {
		k.ns.Close()
	}
	return nil
}

func (k *linuxKernel) Links() ([]netcfg.Link, error) {
	var (
		ll      []netcfg.Link
		masters map[int]int
		al      []addrOf
		err     error
	)
	for range 10 {
		// NOTE: a socket of their own, as links had when the library read
		// them: the route socket's first dump then stays the one it was
		// sized for (see routesFamily). It reads into the route socket's
		// buffer, idle meanwhile: a megabyte made and cleared for each
		// read of the links was 0.4–1 ms of it.
		var c *rtnl
		c, err = openRtnlWith(k.ns, k.c.rbuf)
		if err != nil {
			return nil, err
		}
		ll, masters, al, err = c.linksAndAddrs()
		c.Close()
		if !errors.Is(err, netcfg.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	k.links = linkIndexer{byName: make(map[string]int, len(ll)), byIndex: make(map[int]string, len(ll))}
	for _, l := range ll {
		k.links.byName[l.Name] = l.Index
		k.links.byIndex[l.Index] = l.Name
	}
	slices.SortFunc(ll, func(a, b netcfg.Link) int { return a.Index - b.Index })
	byIndex := make(map[int]int, len(ll))
	for i := range ll {
		byIndex[ll[i].Index] = i
		if m := masters[ll[i].Index]; m != 0 {
			ll[i].Master = k.links.byIndex[m]
		}
	}
	for _, a := range al {
		if i, ok := byIndex[a.index]; ok {
			ll[i].Addrs = append(ll[i].Addrs, a.addr)
		}
	}
	return ll, nil
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

func (k *linuxKernel) Rules() ([]netcfg.Rule, error) {
	var (
		rs  []netcfg.Rule
		err error
	)
	for range 10 {
		rs, err = k.c.rules()
		if !errors.Is(err, netcfg.ErrDumpInterrupted) {
			break
		}
	}
	return rs, err
}

func (k *linuxKernel) Routes(q netcfg.RouteQuery, fn func(*netcfg.Route) error) error {
	if err := k.ensureLinks(); err != nil {
		return err
	}
	return k.c.routes(q, &k.links, fn)
}

// MainIsBig reports whether the last read of main's default routes found
// a full table in main (more than a few dozen IPv4 or IPv6 routes).
func (k *linuxKernel) MainIsBig() bool { return k.c.mainBig4 || k.c.mainBig6 }

func (k *linuxKernel) Exec(ops []netcfg.Op) netcfg.ExecResult {
	// Links change between calls (a NIC may be renamed or removed), so
	// names are looked up afresh for every batch.
	if _, err := k.Links(); err != nil {
		if len(ops) == 0 {
			return netcfg.ExecResult{}
		}
		return netcfg.ExecResult{Failed: &netcfg.OpError{Index: 0, Op: ops[0], Err: fmt.Errorf("list links: %w", err)}}
	}
	return k.c.exec(ops, &k.links)
}
