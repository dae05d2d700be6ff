//go:build linux

package kernel

import (
	"encoding/binary"
	"net/netip"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nictab/nictab/netcfg"
)

// The seed corpus of these targets (testdata/fuzz/Fuzz*) holds messages
// captured from the kernel in a namespace by TestFuzzCorpusFromKernel
// (go test -run TestFuzzCorpusFromKernel -update-corpus ./netcfg/kernel/).
// Links and addresses are seeded too (FuzzDecodeLink, FuzzDecodeAddr).
// test.sh runs each target for a few seconds; run one longer by hand with
// go test -run '^$' -fuzz '^FuzzDecodeRoute$' -fuzztime 10m ./netcfg/kernel/.

// numericLabels writes tables and protocols as numbers and devices as
// they are, as netcfg's RouteString does.
type numericLabels struct{}

func (numericLabels) Dev(b []byte, dev string) []byte  { return append(b, dev...) }
func (numericLabels) Table(b []byte, id uint32) []byte { return strconv.AppendUint(b, uint64(id), 10) }
func (numericLabels) Proto(b []byte, p uint8) []byte   { return strconv.AppendUint(b, uint64(p), 10) }

var fuzzLinks = &linkIndexer{
	byName:  map[string]int{"lo": 1, "a0": 2, "a1": 3},
	byIndex: map[int]string{1: "lo", 2: "a0", 3: "a1"},
}

// FuzzDecodeRoute: no RTM_NEWROUTE payload panics the decoder or the
// formatters, and whatever nictab can write of a decoded route reads back
// as itself.
func FuzzDecodeRoute(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var r netcfg.Route
		if !decodeRoute(b, fuzzLinks, &r) {
			return
		}
		_ = netcfg.RouteString(&r)
		_ = netcfg.AppendRoute(nil, &r, numericLabels{})
		_ = r.Opaque()
		if len(r.Opaque()) > 0 || !r.Dst.IsValid() || r.NHID != 0 || r.Dead || r.LinkDown {
			return
		}
		if r.Gw.IsValid() && r.Gw.IsUnspecified() {
			return
		}
		c := &rtnl{}
		if err := c.encodeRoute(unix.RTM_NEWROUTE, 0, &r, fuzzLinks); err != nil {
			return
		}
		var back netcfg.Route
		if !decodeRoute(c.wbuf[nlHdrLen:], fuzzLinks, &back) {
			t.Fatalf("route %s: its own encoding does not decode", netcfg.RouteString(&r))
		}
		want := r
		normalizeForWire(&want)
		if !netcfg.RouteEqual(&back, &want) {
			t.Fatalf("route %s reads back as %s", netcfg.RouteString(&want), netcfg.RouteString(&back))
		}
	})
}

// normalizeForWire is what a decoded route loses when it is written again
// because the wire cannot say it: a table id above 255 goes in RTA_TABLE
// either way, type 0 is written as unicast, a next hop weight is 1–256,
// and a source prefix of length 0 is no source prefix.
func normalizeForWire(r *netcfg.Route) {
	if r.Type == netcfg.RouteUnspec {
		r.Type = netcfg.RouteUnicast
	}
	if r.From.IsValid() && r.From.Bits() == 0 {
		r.From = netip.Prefix{}
	}
	if r.Family() == netcfg.V4 {
		r.Pref = netcfg.PrefMedium
	}
}

// FuzzDecodeRule: no RTM_NEWRULE payload panics the decoder, and a rule
// with nothing unmodelled writes and reads back as itself.
func FuzzDecodeRule(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := decodeRule(b)
		if !ok {
			return
		}
		_ = netcfg.RuleString(&r)
		_ = netcfg.RuleKey(&r)
		if len(r.Unmodelled) > 0 || r.Unresolved || !wireRule(&r) {
			return
		}
		c := &rtnl{}
		c.encodeRule(unix.RTM_NEWRULE, 0, &r)
		back, ok := decodeRule(c.wbuf[nlHdrLen:])
		if !ok {
			t.Fatalf("rule %s: its own encoding does not decode", netcfg.RuleString(&r))
		}
		if !netcfg.RuleEqual(&back, &r) {
			t.Fatalf("rule %s reads back as %s", netcfg.RuleString(&r), netcfg.RuleString(&back))
		}
	})
}

// wireRule reports whether the decoded rule is one whose every field the
// codec writes as it was read; fuzzed headers can say things (a source
// length without a source, a table in the header and none in FRA_TABLE)
// that no kernel sends and nictab never writes.
func wireRule(r *netcfg.Rule) bool {
	if r.From.IsValid() != (r.From.IsValid() && r.From.Bits() > 0) || r.To.IsValid() != (r.To.IsValid() && r.To.Bits() > 0) {
		return false
	}
	if r.From.IsValid() && netcfg.FamilyOf(r.From.Addr()) != r.Family || r.To.IsValid() && netcfg.FamilyOf(r.To.Addr()) != r.Family {
		return false
	}
	if r.Action == netcfg.ActionLookup && r.Table == 0 || r.Action != netcfg.ActionGoto && r.Goto != 0 {
		return false
	}
	if r.SuppressPrefixLen < -1 || r.SuppressIfgroup < -1 {
		return false
	}
	for _, p := range []*netcfg.PortRange{r.SPort, r.DPort} {
		if p != nil && p.Mask != 0 && p.Start != p.End {
			return false
		}
	}
	return true
}

// FuzzDecodeMultipath: no RTA_MULTIPATH payload panics the decoder, with
// or without padding after the last next hop.
func FuzzDecodeMultipath(f *testing.F) {
	// The case that used to slice out of range: one next hop of 9 bytes,
	// the last, not padded.
	f.Add([]byte{9, 0, 0, 0, 2, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, nh := range decodeMultipath(b, fuzzLinks) {
			if nh.Weight < 1 || nh.Weight > 256 {
				t.Fatalf("weight %d out of 1–256", nh.Weight)
			}
		}
	})
}

// FuzzParseErr: no NLMSG_ERROR payload panics the decoder; the first two
// bytes of the input are the message flags.
func FuzzParseErr(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) < 2 {
			return
		}
		_ = parseErr(b[2:], binary.NativeEndian.Uint16(b))
	})
}

// FuzzEachMsg: no datagram panics the framing, and every message it
// yields lies inside the datagram and goes through its decoder.
func FuzzEachMsg(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = eachMsg(b, func(m nlMsg) error {
			if len(m.data) > len(b) {
				t.Fatalf("message of %d bytes from a datagram of %d", len(m.data), len(b))
			}
			switch m.typ {
			case unix.RTM_NEWROUTE:
				var r netcfg.Route
				decodeRoute(m.data, fuzzLinks, &r)
			case unix.RTM_NEWRULE:
				decodeRule(m.data)
			case unix.RTM_NEWLINK:
				decodeLink(m.data)
			case unix.RTM_NEWADDR:
				decodeAddr(m.data)
			case unix.NLMSG_ERROR:
				_ = parseErr(m.data, m.flags)
			}
			return nil
		})
	})
}

// FuzzDecodeLink: no RTM_NEWLINK payload panics the decoder, and what it
// decodes is printable.
func FuzzDecodeLink(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		l, _, ok := decodeLink(b)
		if ok {
			_ = netcfg.SafeText(l.Name + l.Alias + l.Kind + l.MAC + l.OperState)
		}
	})
}

// FuzzDecodeAddr: no RTM_NEWADDR payload panics the decoder, and an
// address it accepts is a valid prefix of its family.
func FuzzDecodeAddr(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		_, a, ok := decodeAddr(b)
		if ok && (!a.Prefix.IsValid() || (b[0] == unix.AF_INET) != a.Prefix.Addr().Is4()) {
			t.Fatalf("decoded %v from a family %d message", a.Prefix, b[0])
		}
	})
}
