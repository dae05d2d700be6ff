package format

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"

	"github.com/nictab/nictab/netcfg"
)

// The value types of a snapshot file that are more than a YAML scalar:
// addresses, prefixes, table ids and names, fwmarks, interface names.

const maxTableID = 1<<32 - 1

const tableRange = "table ids are 1–252 and 256–4294967295"

// builtinTableIDs are the kernel's own tables, by the names iproute2 gives
// them.
var builtinTableIDs = map[string]uint32{"unspec": netcfg.TableUnspec, "default": netcfg.TableDefault, "main": netcfg.TableMain, "local": netcfg.TableLocal}

func reservedMsg(id uint32) string {
	return fmt.Sprintf("table %d is the kernel's own (0 unspec, 253 default, 254 main, 255 local) and nictab never manages it; use 1–252 or 256–4294967295", id)
}

// tableID decodes the id of a table nictab may manage.
func (d *decoder) tableID(n ast.Node, path string) (uint32, bool) {
	v, ok := d.uint(n, path, maxTableID, tableRange)
	if !ok {
		return 0, false
	}
	if netcfg.ReservedTable(uint32(v)) {
		d.fail(n, path, "%s", reservedMsg(uint32(v)))
		return 0, false
	}
	return uint32(v), true
}

// tableName decodes a name for a table, as rt_tables can hold it.
func (d *decoder) tableName(n ast.Node, path string) (string, bool) {
	s, ok := d.text(n, path)
	if !ok {
		return "", false
	}
	if id, builtin := builtinTableIDs[s]; builtin {
		d.fail(n, path, "%q is the kernel's name for table %d; choose another name", s, id)
		return "", false
	}
	if !netcfg.ValidTableName(s) {
		d.fail(n, path, "%q is not a usable table name (not a number; no spaces, # or non-ASCII; at most 64 bytes)", s)
		return "", false
	}
	return s, true
}

// tableRef decodes a table given by id (an integer) or by name (text that
// is not a number).
func (d *decoder) tableRef(n ast.Node, path string) (netcfg.TableRef, bool) {
	if s, ok := n.(*ast.StringNode); ok && !isNumber(s.Value) {
		if id, builtin := builtinTableIDs[s.Value]; builtin {
			d.fail(n, path, "%s", reservedMsg(id))
			return netcfg.TableRef{}, false
		}
		name, ok := d.tableName(n, path)
		return netcfg.TableRef{Name: name}, ok
	}
	id, ok := d.tableID(n, path)
	return netcfg.TableRef{ID: id}, ok
}

// isNumber reports whether s is written as an integer, even one out of
// range; anything else is a name ("1e3" and "13abc" are names to iproute2
// too).
func isNumber(s string) bool {
	_, err := parseNum(s)
	return err == nil || errors.Is(err, errNegative) || errors.Is(err, strconv.ErrRange)
}

// ifName decodes an interface name the kernel would accept.
func (d *decoder) ifName(n ast.Node, path string) (string, bool) {
	s, ok := d.text(n, path)
	if !ok {
		return "", false
	}
	if msg := netcfg.IfNameProblem(s); msg != "" {
		d.fail(n, path, "%q is not a valid interface name: %s", s, msg)
		return "", false
	}
	return s, true
}

// addr decodes an IP address, without a zone: routes and rules name their
// device separately. strict also refuses IPv4-mapped IPv6 addresses, which
// a person's file never means and the kernel would not match.
func (d *decoder) addr(n ast.Node, path string, strict bool) (netip.Addr, bool) {
	s, ok := d.text(n, path)
	if !ok {
		return netip.Addr{}, false
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		d.fail(n, path, "want an address, got the prefix %s: drop the /%d", s, p.Bits())
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		d.fail(n, path, "%q is not an IP address", s)
		return netip.Addr{}, false
	}
	if a.Zone() != "" {
		d.fail(n, path, "%s: drop the %%%s zone; give the device with dev:", s, a.Zone())
		return netip.Addr{}, false
	}
	if strict && a.Is4In6() {
		d.fail(n, path, "%s is an IPv4-mapped IPv6 address: write %s", s, a.Unmap())
		return netip.Addr{}, false
	}
	return a, true
}

// hostAddr decodes an address a packet can be sent to or from: a gateway
// or a preferred source.
func (d *decoder) hostAddr(n ast.Node, path string) (netip.Addr, bool) {
	a, ok := d.addr(n, path, true)
	if !ok {
		return a, false
	}
	if a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		d.fail(n, path, "%s cannot be a gateway or source address", a)
		return netip.Addr{}, false
	}
	return a, true
}

// famName names a family as people say it.
func famName(f netcfg.Family) string {
	if f == netcfg.V6 {
		return "IPv6"
	}
	return "IPv4"
}

// prefixMode says what a prefix field accepts beyond a prefix or an
// address.
type prefixMode uint8

const (
	// rulePrefix accepts "all" (no selector) and refuses host bits, which
	// are almost always a typo in a rule.
	rulePrefix prefixMode = iota
	// routeDst accepts "default" (returned as an invalid prefix for the
	// caller to give a family) and masks host bits, as `ip route` does.
	routeDst
	// exactPrefix is a saved snapshot's: taken exactly as written.
	exactPrefix
)

func (d *decoder) prefix(n ast.Node, path string, mode prefixMode) (netip.Prefix, bool) {
	s, ok := d.text(n, path)
	if !ok {
		return netip.Prefix{}, false
	}
	switch {
	case s == "all" && mode == rulePrefix, s == "default" && mode == routeDst:
		return netip.Prefix{}, true
	case !strings.Contains(s, "/"):
		a, ok := d.addr(n, path, mode != exactPrefix)
		if !ok {
			return netip.Prefix{}, false
		}
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		d.fail(n, path, "%q is not a prefix (want 10.0.0.0/8, 2001:db8::/32 or an address)", s)
		return netip.Prefix{}, false
	}
	if mode == exactPrefix {
		return p, true
	}
	if p.Addr().Is4In6() {
		d.fail(n, path, "%s is an IPv4-mapped IPv6 prefix: write the IPv4 prefix", s)
		return netip.Prefix{}, false
	}
	if m := p.Masked(); m != p {
		if mode == rulePrefix {
			d.fail(n, path, "%s has host bits set: did you mean %s, or the address %s?", s, m, p.Addr())
			return netip.Prefix{}, false
		}
		p = m
	}
	return p, true
}

// fwmark decodes a mark: an integer, "0x13", or "0x13/0xff" (value/mask;
// without a mask every bit counts). strict refuses marks the kernel would
// not keep as written.
func (d *decoder) fwmark(n ast.Node, path string, strict bool) (*netcfg.FwMark, bool) {
	var s string
	switch v := n.(type) {
	case *ast.IntegerNode:
		s = v.GetToken().Value
	case *ast.StringNode:
		s = v.Value
	default:
		if !d.unsupported(n, path) {
			d.fail(n, path, "want a mark (0x13, or 0x13/0xff), got %s", describe(n))
		}
		return nil, false
	}
	val, mask, hasMask := strings.Cut(s, "/")
	m := &netcfg.FwMark{Mask: 0xffffffff}
	v, err := parseNum(strings.TrimSpace(val))
	if err != nil || v > 0xffffffff {
		d.fail(n, path, "%q is not a mark: want 0–0xffffffff, optionally /mask (0x13/0xff)", s)
		return nil, false
	}
	m.Value = uint32(v)
	if hasMask {
		k, err := parseNum(strings.TrimSpace(mask))
		if err != nil || k > 0xffffffff {
			d.fail(n, path, "%q is not a mark: the mask after / must be 0–0xffffffff", s)
			return nil, false
		}
		m.Mask = uint32(k)
	}
	if strict {
		if m.Mask == 0 {
			d.fail(n, path, "mask 0 matches every packet; leave the mask out to match the whole mark")
			return nil, false
		}
		if m.Value&^m.Mask != 0 {
			d.fail(n, path, "mark 0x%x has bits outside mask 0x%x", m.Value, m.Mask)
			return nil, false
		}
	}
	return m, true
}

// rangeOf decodes "START-END" or a single number (START = END), for port
// and uid ranges.
func (d *decoder) rangeOf(n ast.Node, path string, hi uint64, what string) (uint64, uint64, bool) {
	var s string
	switch v := n.(type) {
	case *ast.IntegerNode:
		s = v.GetToken().Value
	case *ast.StringNode:
		s = v.Value
	default:
		if !d.unsupported(n, path) {
			d.fail(n, path, "want a %s (1000, or 1000-2000), got %s", what, describe(n))
		}
		return 0, 0, false
	}
	a, b, isRange := strings.Cut(s, "-")
	lo, err1 := parseNum(strings.TrimSpace(a))
	top, err2 := lo, error(nil)
	if isRange {
		top, err2 = parseNum(strings.TrimSpace(b))
	}
	if err1 != nil || err2 != nil || lo > hi || top > hi || lo > top {
		d.fail(n, path, "%q is not a %s: want N or START-END, 0–%d, START ≤ END", s, what, hi)
		return 0, 0, false
	}
	return lo, top, true
}
