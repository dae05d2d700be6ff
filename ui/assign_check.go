package ui

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// The checks below run on every keystroke of the assign form, so a person
// sees what is wrong while typing, not after pressing enter.

// checkTableID validates the id of a table to create.
func checkTableID(s string, known []tableChoice) (uint32, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, "type a table id: 1-252 or 256-4294967295"
	}
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, fmt.Sprintf("%q is not a number", s)
	}
	if v > 0xffffffff {
		return 0, "table ids go up to 4294967295"
	}
	id := uint32(v)
	switch id {
	case netcfg.TableUnspec:
		return 0, "table 0 means no table to the kernel; use 1-252 or 256 and up"
	case netcfg.TableDefault, netcfg.TableMain, netcfg.TableLocal:
		return 0, fmt.Sprintf("table %d is the kernel's %s table, reserved; use 1-252 or 256 and up", id, builtinName(id))
	}
	for _, c := range known {
		if c.ID == id {
			what := "in use"
			if c.Name != "" {
				what = "in use as " + netcfg.SafeText(c.Name)
			}
			return 0, fmt.Sprintf("table %d is %s: pick it from the list instead", id, what)
		}
	}
	return id, ""
}

func builtinName(id uint32) string {
	var n netcfg.Names
	return n.TableName(id)
}

// checkTableName validates the optional name of a table to create.
func checkTableName(s string, id uint32, names *netcfg.Names, known []tableChoice) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !netcfg.ValidTableName(s) {
		return "a name is letters, digits and -_. (not only digits), at most 64 characters"
	}
	if other, ok := names.TableID(s); ok && other != id {
		return fmt.Sprintf("%q already names table %d", s, other)
	}
	for _, c := range known {
		if c.Name == s && c.ID != id {
			return fmt.Sprintf("%q already names table %d", s, c.ID)
		}
	}
	return ""
}

// checkGateway validates a gateway typed for a family; empty means the one
// main uses through the NIC.
func checkGateway(s string, fam netcfg.Family, l *netcfg.Link) (netip.Addr, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, ""
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Sprintf("%q is not an %s address", s, famLabel(fam))
	}
	a = a.Unmap()
	if netcfg.FamilyOf(a) != fam {
		return netip.Addr{}, fmt.Sprintf("%s is not an %s address", a, famLabel(fam))
	}
	if fam == netcfg.V6 && a.IsLinkLocalUnicast() {
		return a, ""
	}
	var on []string
	for _, p := range l.Addrs {
		if netcfg.FamilyOf(p.Prefix.Addr()) != fam || (fam == netcfg.V6 && p.Prefix.Addr().IsLinkLocalUnicast()) {
			continue
		}
		if p.Prefix.Masked().Contains(a) {
			return a, ""
		}
		on = append(on, p.Prefix.Masked().String())
	}
	if len(on) == 0 {
		return netip.Addr{}, fmt.Sprintf("%s has no %s address to reach a gateway from", netcfg.SafeText(l.Name), famLabel(fam))
	}
	return netip.Addr{}, fmt.Sprintf("%s is outside %s, not reachable through %s", a, strings.Join(on, ", "), netcfg.SafeText(l.Name))
}

// checkFwmark parses "0x13" or "0x13/0xff".
func checkFwmark(s string) (*netcfg.FwMark, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, "type the fwmark to select, as 0x13 or 0x13/0xff"
	}
	val, mask, hasMask := strings.Cut(s, "/")
	v, err := strconv.ParseUint(val, 0, 32)
	if err != nil {
		return nil, fmt.Sprintf("%q is not a 32-bit number", val)
	}
	m := uint64(0xffffffff)
	if hasMask {
		if m, err = strconv.ParseUint(mask, 0, 32); err != nil {
			return nil, fmt.Sprintf("mask %q is not a 32-bit number", mask)
		}
	}
	return &netcfg.FwMark{Value: uint32(v), Mask: uint32(m)}, ""
}

// nicFamilies reports which families a NIC has routable addresses of.
func nicFamilies(l *netcfg.Link) (v4, v6 bool) {
	for _, a := range l.Addrs {
		switch {
		case a.Prefix.Addr().Is4():
			v4 = true
		case !a.Prefix.Addr().IsLinkLocalUnicast():
			v6 = true
		}
	}
	return v4, v6
}

// checkNICPriority checks the priority typed for a NIC's rules: the
// kernel's own are refused, and so is one a rule of someone else's holds.
func checkNICPriority(s string, rules []netcfg.Rule) (uint32, string) {
	v, err := strconv.ParseUint(s, 10, 32)
	switch {
	case err != nil:
		return 0, fmt.Sprintf("%q is not a number", s)
	case v == 0 || v >= 32766:
		return 0, "use 1-32765: 0, 32766 and 32767 hold the kernel's own rules (local, main, default)"
	}
	for i := range rules {
		if r := &rules[i]; r.Priority == uint32(v) && !r.Owned() {
			return 0, fmt.Sprintf("priority %d is taken by a rule nictab does not own: %s", v, netcfg.SafeText(ruleOneLine(r)))
		}
	}
	return uint32(v), ""
}

// ruleOneLine is a rule as `ip rule` prints it, on one line.
func ruleOneLine(r *netcfg.Rule) string { return strings.ReplaceAll(netcfg.RuleString(r), "\t", " ") }
