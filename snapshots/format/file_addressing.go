package format

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/nictab/nictab/netcfg"
)

// NICAddressing is how one NIC was addressed when a snapshot was saved:
// the addresses configured on it for good, and those the kernel will
// expire because DHCP or router advertisements gave them. IPv6 link-local
// addresses are left out: every stack makes its own.
//
// NOTE: an export that gives a NIC a systemd-networkd unit of its own
// takes over the NIC's addressing, so it must carry this; without it the
// NIC would be left with no address after `nixos-rebuild switch`.
type NICAddressing struct {
	NIC     string
	Static  []netip.Prefix
	Dynamic []netip.Prefix
}

// AddressingOf records the addressing of the NICs a target and its intent
// concern, by name, as the live state holds them. Exported for the
// engine, which records it in the Meta of the snapshot it saves.
func AddressingOf(live netcfg.State, t netcfg.Owned, in netcfg.Intent) []NICAddressing {
	want := map[string]bool{}
	for _, n := range in.NICs {
		want[n.Name] = true
	}
	for _, r := range t.Routes {
		want[r.Dev] = true
		for _, h := range r.MultiPath {
			want[h.Dev] = true
		}
	}
	for _, r := range t.Rules {
		want[r.IIF], want[r.OIF] = true, true
	}
	var out []NICAddressing
	for _, l := range live.Links {
		if l.Name == "" || !want[l.Name] || l.Loopback {
			continue
		}
		a := NICAddressing{NIC: l.Name}
		for _, x := range l.Addrs {
			if x.Prefix.Addr().Is6() && x.Prefix.Addr().IsLinkLocalUnicast() {
				continue
			}
			if x.Dynamic {
				a.Dynamic = append(a.Dynamic, x.Prefix)
			} else {
				a.Static = append(a.Static, x.Prefix)
			}
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(x, y NICAddressing) int { return strings.Compare(x.NIC, y.NIC) })
	return out
}

// AddressingFor returns the recorded addressing of nic, for the exports
// that take over a NIC's networkd unit.
func (m *Meta) AddressingFor(nic string) (NICAddressing, bool) {
	if m == nil {
		return NICAddressing{}, false
	}
	for _, a := range m.Addressing {
		if a.NIC == nic {
			return a, true
		}
	}
	return NICAddressing{}, false
}

// writeAddressing writes the snapshot.addressing list.
func writeAddressing(w *bytes.Buffer, as []NICAddressing) {
	if len(as) == 0 {
		return
	}
	w.WriteString("  addressing:\n")
	for _, a := range as {
		fmt.Fprintf(w, "    - nic: %s\n", str(a.NIC))
		for _, l := range []struct {
			key string
			ps  []netip.Prefix
		}{{"static", a.Static}, {"dynamic", a.Dynamic}} {
			if len(l.ps) == 0 {
				continue
			}
			words := make([]string, len(l.ps))
			for i, p := range l.ps {
				words[i] = str(p.String())
			}
			fmt.Fprintf(w, "      %s: [%s]\n", l.key, strings.Join(words, ", "))
		}
	}
}

// addressingList decodes snapshot.addressing.
func (d *decoder) addressingList(n ast.Node) []NICAddressing {
	const path = "snapshot.addressing"
	items, ok := d.list(n, path)
	if !ok {
		return nil
	}
	var out []NICAddressing
	for i, it := range items {
		p := index(path, i)
		f, _ := d.mapping(it, p, "nic", "static", "dynamic")
		if f == nil || !d.require(f, "nic") {
			continue
		}
		a := NICAddressing{}
		a.NIC, _ = d.text(f.vals["nic"], join(p, "nic"))
		if a.NIC == "" || strings.IndexByte(a.NIC, 0) >= 0 {
			d.fail(f.vals["nic"], join(p, "nic"), "%q is not an interface name", a.NIC)
			continue
		}
		for _, l := range []struct {
			key string
			dst *[]netip.Prefix
		}{{"static", &a.Static}, {"dynamic", &a.Dynamic}} {
			ps, _ := d.list(f.vals[l.key], join(p, l.key))
			for j, x := range ps {
				if pr, ok := d.prefix(x, index(join(p, l.key), j), exactPrefix); ok {
					*l.dst = append(*l.dst, pr)
				}
			}
		}
		out = append(out, a)
	}
	return out
}
