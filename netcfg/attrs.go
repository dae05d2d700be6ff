package netcfg

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nictab/nictab/internal/enum"
)

// RawAttr is a netlink attribute nictab does not model, kept verbatim so
// that the object it came with can be shown, compared and refused, never
// silently narrowed.
type RawAttr struct {
	// Type is the attribute type number, nested flag bits removed.
	Type uint16 `json:"type"`
	// Name is the kernel's name for the type when nictab knows one
	// ("FRA_DSCP_MASK"), else "FRA_42"/"RTA_42".
	Name string `json:"name"`
	Data []byte `json:"data"`
}

func rawAttrsEqual(a, b []RawAttr) bool {
	return slices.EqualFunc(a, b, func(x, y RawAttr) bool { return x.Type == y.Type && bytes.Equal(x.Data, y.Data) })
}

func rawAttrsString(a []RawAttr) string {
	names := make([]string, len(a))
	for i, x := range a {
		names[i] = x.Name
	}
	word := "attributes"
	if len(a) == 1 {
		word = "attribute"
	}
	return fmt.Sprintf("+%d %s nictab does not model: %s", len(a), word, strings.Join(names, ", "))
}

// rawArgs is how unmodelled attributes appear in a rule's or route's text,
// so that fingerprints and comparisons built on the text see their bytes.
func rawArgs(a []RawAttr) []string {
	if len(a) == 0 {
		return nil
	}
	out := []string{"unmodelled"}
	for _, x := range a {
		out = append(out, fmt.Sprintf("%s=%x", x.Name, x.Data))
	}
	return out
}

// DSCPMatch is a rule's dscp selector (FRA_DSCP, FRA_DSCP_MASK). Mask is
// 0x3f when the rule gives none.
type DSCPMatch struct {
	Value uint8 `json:"value"`
	Mask  uint8 `json:"mask"`
}

// String is the selector as `ip rule` takes it: "46", or "8/0x38" when
// the mask is not the whole DSCP.
func (d *DSCPMatch) String() string {
	v := strconv.Itoa(int(d.Value))
	if d.Mask != 0x3f {
		v += fmt.Sprintf("/0x%x", d.Mask)
	}
	return v
}

// FlowLabel is an IPv6 rule's flowlabel selector (FRA_FLOWLABEL,
// FRA_FLOWLABEL_MASK). Mask is 0xfffff when the rule gives none.
type FlowLabel struct {
	Value uint32 `json:"value"`
	Mask  uint32 `json:"mask"`
}

// String is the selector as `ip rule` takes it: "0x100", or
// "0x100/0xff00" when the mask is not the whole label.
func (f *FlowLabel) String() string {
	v := fmt.Sprintf("0x%x", f.Value)
	if f.Mask != 0xfffff {
		v += fmt.Sprintf("/0x%x", f.Mask)
	}
	return v
}

// Realms formats FRA_FLOW/RTA_FLOW as `ip` does: "TO" or "FROM/TO".
func Realms(v uint32) string {
	if v>>16 == 0 {
		return strconv.Itoa(int(v & 0xffff))
	}
	return strconv.Itoa(int(v>>16)) + "/" + strconv.Itoa(int(v&0xffff))
}

// ParseRealms is the inverse of Realms.
func ParseRealms(s string) (uint32, error) {
	from, to, ok := strings.Cut(s, "/")
	if !ok {
		from, to = "0", s
	}
	f, err1 := strconv.ParseUint(from, 0, 16)
	t, err2 := strconv.ParseUint(to, 0, 16)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad realms %q (want TO or FROM/TO, each 0–65535)", s)
	}
	return uint32(f)<<16 | uint32(t), nil
}

// RoutePref is an IPv6 route's router preference (RTA_PREF, RFC 4191).
type RoutePref uint8

const (
	PrefMedium RoutePref = 0
	PrefHigh   RoutePref = 1
	PrefLow    RoutePref = 3
)

var routePrefs = enum.Table[RoutePref]{What: "route preference", Names: map[RoutePref]string{
	PrefMedium: "medium", PrefHigh: "high", PrefLow: "low",
}, Want: " (want low, medium or high)"}

func (p RoutePref) String() string { return routePrefs.Text(p) }

// ParseRoutePref accepts the words `ip -6 route` uses.
func ParseRoutePref(s string) (RoutePref, error) { return routePrefs.Parse(s) }

func (p RoutePref) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

func (p *RoutePref) UnmarshalText(b []byte) error { return routePrefs.Unmarshal(p, b) }

// Metric numbers of RTA_METRICS (RTAX_*).
const (
	RTAXLock     = 1
	RTAXMTU      = 2
	RTAXCCAlgo   = 16
	RTAXFeatures = 12
	RTAXRTOMin   = 13
	RTAXMax      = 17

	featureECN = 1 // RTAX_FEATURE_ECN
)

// metricNames are the words `ip route` uses for each RTAX_* number.
var metricNames = [RTAXMax + 1]string{
	2: "mtu", 3: "window", 4: "rtt", 5: "rttvar", 6: "ssthresh", 7: "cwnd",
	8: "advmss", 9: "reordering", 10: "hoplimit", 11: "initcwnd", 12: "features",
	13: "rto_min", 14: "initrwnd", 15: "quickack", 16: "congctl", 17: "fastopen_no_cookie",
}

// MetricName returns the `ip route` word for an RTAX_* number.
func MetricName(i int) string {
	if i > 0 && i < len(metricNames) && metricNames[i] != "" {
		return metricNames[i]
	}
	return "metric" + strconv.Itoa(i)
}

// MetricByName is the inverse of MetricName for the numeric metrics.
func MetricByName(s string) (int, bool) {
	for i, n := range metricNames {
		if n != "" && n == s && i != RTAXCCAlgo {
			return i, true
		}
	}
	return 0, false
}

// Metrics is a route's RTA_METRICS. The kernel reports only metrics that
// are set, and a metric of 0 means unset, so a zero value is "none".
type Metrics struct {
	// Values is indexed by RTAX_* number; 0 and RTAXCCAlgo are unused.
	Values [RTAXMax + 1]uint32
	// Lock has bit 1<<RTAX_x set for every metric marked "lock".
	Lock uint32
	// CongCtl is the congestion control algorithm (RTAX_CC_ALGO).
	CongCtl string
}

// IsZero reports whether no metric is set; nil sets none.
func (m *Metrics) IsZero() bool { return m == nil || *m == Metrics{} }

// Ptr returns m boxed, or nil when no metric is set. Route.Metrics is a
// pointer because almost no route has metrics and a Route is copied once per
// route set alive (intent, desired, read-back, snapshot); nil is its one
// spelling of "none", never a pointer to zero Metrics, so every place that
// fills a Route's metrics stores them through Ptr.
func (m Metrics) Ptr() *Metrics {
	if m == (Metrics{}) {
		return nil
	}
	return &m
}

// Value returns a copy of *m, or zero Metrics for nil, for code that edits
// metrics before storing them back with Ptr.
func (m *Metrics) Value() Metrics {
	if m == nil {
		return Metrics{}
	}
	return *m
}

// Get returns metric i (an RTAX_* number other than RTAXCCAlgo), 0 when
// unset or when m is nil.
func (m *Metrics) Get(i int) uint32 {
	if m == nil {
		return 0
	}
	return m.Values[i]
}

// MetricsEqual compares metrics by value: both none, or equal contents.
func MetricsEqual(a, b *Metrics) bool { return a.Value() == b.Value() }

// Args returns the metrics in `ip route` words, in RTAX order.
func (m *Metrics) Args() []string {
	if m == nil {
		return nil
	}
	var a []string
	for i := 2; i <= RTAXMax; i++ {
		if i == RTAXCCAlgo {
			if m.CongCtl != "" {
				a = append(a, "congctl")
				if m.Lock&(1<<i) != 0 {
					a = append(a, "lock")
				}
				a = append(a, m.CongCtl)
			}
			continue
		}
		v := m.Values[i]
		if v == 0 {
			continue
		}
		a = append(a, MetricName(i))
		if m.Lock&(1<<i) != 0 {
			a = append(a, "lock")
		}
		if i == RTAXFeatures {
			// `ip route` knows only the one feature a route may set.
			if v == featureECN {
				a = append(a, "ecn")
			} else {
				a = append(a, "0x"+strconv.FormatUint(uint64(v), 16))
			}
		} else {
			a = append(a, strconv.FormatUint(uint64(v), 10))
		}
	}
	return a
}

// MarshalJSON writes the metrics as {"mtu": 1400, "congctl": "cubic",
// "lock": ["mtu"]}.
func (m Metrics) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	sep := ""
	for i := 2; i <= RTAXMax; i++ {
		if i == RTAXCCAlgo || m.Values[i] == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s%q:%d", sep, MetricName(i), m.Values[i])
		sep = ","
	}
	if m.CongCtl != "" {
		fmt.Fprintf(&b, "%s\"congctl\":%s", sep, strconv.Quote(m.CongCtl))
		sep = ","
	}
	if m.Lock != 0 {
		fmt.Fprintf(&b, "%s\"lock\":[", sep)
		s2 := ""
		for i := 0; i <= RTAXMax; i++ {
			if m.Lock&(1<<i) != 0 {
				fmt.Fprintf(&b, "%s%q", s2, MetricName(i))
				s2 = ","
			}
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*m = Metrics{}
	for k, v := range raw {
		switch k {
		case "congctl":
			if err := json.Unmarshal(v, &m.CongCtl); err != nil {
				return fmt.Errorf("metrics.congctl: %w", err)
			}
		case "lock":
			var names []string
			if err := json.Unmarshal(v, &names); err != nil {
				return fmt.Errorf("metrics.lock: %w", err)
			}
			for _, n := range names {
				i, ok := MetricByName(n)
				if n == "congctl" {
					i, ok = RTAXCCAlgo, true
				}
				if !ok {
					return fmt.Errorf("metrics.lock: unknown metric %q", n)
				}
				m.Lock |= 1 << i
			}
		default:
			i, ok := MetricByName(k)
			if !ok {
				return fmt.Errorf("unknown metric %q", k)
			}
			if err := json.Unmarshal(v, &m.Values[i]); err != nil {
				return fmt.Errorf("metrics.%s: %w", k, err)
			}
		}
	}
	return nil
}

// Encap is a route's lightweight tunnel encapsulation (RTA_ENCAP_TYPE and
// the nested RTA_ENCAP), kept verbatim: nictab shows it but does not
// re-create it, so a route carrying one is opaque.
type Encap struct {
	Type uint16 `json:"type"`
	Data []byte `json:"data"`
}

var encapNames = []string{"none", "mpls", "ip", "ila", "ip6", "seg6", "bpf", "seg6local", "rpl", "ioam6", "xfrm"}

// EncapName is the word `ip route` uses for an encapsulation type.
func EncapName(t uint16) string {
	if int(t) < len(encapNames) {
		return encapNames[t]
	}
	return strconv.Itoa(int(t))
}

func encapEqual(a, b *Encap) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Type == b.Type && bytes.Equal(a.Data, b.Data)
}

func encapArgs(e *Encap) []string {
	if e == nil {
		return nil
	}
	return []string{"encap", EncapName(e.Type), fmt.Sprintf("raw=%x", e.Data)}
}

// hasExtras reports whether the route has any attribute beyond those every
// route formatter writes inline, so the common route costs nothing more.
func (r *Route) hasExtras() bool {
	if r.From.IsValid() || r.NHID != 0 || r.Realms != 0 || r.Pref != PrefMedium || r.Expires != 0 ||
		r.Encap != nil || len(r.Unmodelled) > 0 || !r.Metrics.IsZero() {
		return true
	}
	for i := range r.MultiPath {
		if r.MultiPath[i].Encap != nil || len(r.MultiPath[i].Unmodelled) > 0 {
			return true
		}
	}
	return false
}

// Opaque names what nictab keeps of the rule but cannot reproduce; a rule
// with any is never adopted, replaced or re-created.
func (r *Rule) Opaque() []string {
	var out []string
	if r.Action == ActionNAT {
		// The kernel keeps a table with a nat rule that no request nictab
		// can make reproduces exactly, and the action is deprecated.
		out = append(out, "action nat (RTN_NAT)")
	}
	for _, a := range r.Unmodelled {
		out = append(out, a.Name)
	}
	return out
}

// Opaque names what nictab keeps of the route but cannot reproduce: an
// attribute it does not model, a lightweight tunnel (kept as bytes), or an
// expiry (a re-created route would start a new count).
func (r *Route) Opaque() []string {
	var out []string
	if r.Expires != 0 {
		out = append(out, "expires (RTA_EXPIRES)")
	}
	if r.Encap != nil {
		out = append(out, "encap "+EncapName(r.Encap.Type)+" (RTA_ENCAP)")
	}
	for _, nh := range r.MultiPath {
		if nh.Encap != nil {
			out = append(out, "nexthop encap "+EncapName(nh.Encap.Type)+" (RTA_ENCAP)")
		}
		for _, a := range nh.Unmodelled {
			out = append(out, "nexthop "+a.Name)
		}
	}
	for _, a := range r.Unmodelled {
		out = append(out, a.Name)
	}
	return out
}

// Extended reports whether the rule uses a selector or attribute beyond
// those a snapshot's intent section can say (dscp, flowlabel, port masks,
// tun_id, realms); such a rule lives on in the resolved section only.
func (r *Rule) Extended() bool {
	return r.DSCP != nil || r.FlowLabel != nil || r.TunID != 0 || r.Realms != 0 ||
		(r.SPort != nil && r.SPort.Mask != 0) || (r.DPort != nil && r.DPort.Mask != 0) || len(r.Opaque()) > 0
}

// Extended reports whether the route has an attribute an intent route
// cannot say (source prefix, nhid, metrics, pref, realms, expiry, encap,
// next-hop realms, anything unmodelled).
func (r *Route) Extended() bool {
	if r.hasExtras() {
		return true
	}
	for _, nh := range r.MultiPath {
		if nh.Realms != 0 {
			return true
		}
	}
	return false
}

// OpaqueReason says why nictab leaves an object alone, naming what it
// cannot reproduce.
func OpaqueReason(what string, attrs []string) string {
	return fmt.Sprintf("%s carries %s, which nictab cannot reproduce; it is left exactly as it is", what, strings.Join(attrs, ", "))
}

// ExtendedAttrs names, in `ip` words, the rule's attributes beyond the
// classic selectors, so an export that cannot carry them can say which.
func (r *Rule) ExtendedAttrs() []string {
	var out []string
	if r.DSCP != nil {
		out = append(out, "dscp")
	}
	if r.FlowLabel != nil {
		out = append(out, "flowlabel")
	}
	if r.SPort != nil && r.SPort.Mask != 0 {
		out = append(out, "sport mask")
	}
	if r.DPort != nil && r.DPort.Mask != 0 {
		out = append(out, "dport mask")
	}
	if r.TunID != 0 {
		out = append(out, "tun_id")
	}
	if r.Realms != 0 {
		out = append(out, "realms")
	}
	return append(out, r.Opaque()...)
}

// ExtendedAttrs names, in `ip` words, the route's attributes beyond the
// classic ones.
func (r *Route) ExtendedAttrs() []string {
	var out []string
	if r.From.IsValid() {
		out = append(out, "from (source prefix)")
	}
	if r.NHID != 0 {
		out = append(out, "nhid")
	}
	if r.Realms != 0 {
		out = append(out, "realms")
	}
	if r.Pref != PrefMedium {
		out = append(out, "pref")
	}
	for i := 2; i <= RTAXMax; i++ {
		if r.Metrics == nil {
			break
		}
		if (i == RTAXCCAlgo && r.Metrics.CongCtl != "") || (i != RTAXCCAlgo && r.Metrics.Values[i] != 0) {
			out = append(out, MetricName(i))
		}
	}
	for _, nh := range r.MultiPath {
		if nh.Realms != 0 {
			out = append(out, "nexthop realms")
			break
		}
	}
	return append(out, r.Opaque()...)
}

// RuleOpaqueText is what a person is told, after the rule, of what nictab
// keeps of it verbatim: "" or "(+1 attribute nictab does not model: FRA_31)".
func RuleOpaqueText(r *Rule) string {
	if len(r.Unmodelled) == 0 {
		return ""
	}
	return "(" + rawAttrsString(r.Unmodelled) + ")"
}

// RouteOpaqueText is what a person is told, after the route, of what
// nictab shows but does not write: its expiry, its encapsulation, and the
// attributes it does not model.
func RouteOpaqueText(r *Route) string {
	var a []string
	if r.Expires != 0 {
		a = append(a, "expires "+strconv.FormatUint(uint64(r.Expires), 10)+"sec")
	}
	if r.Encap != nil {
		a = append(a, "encap "+EncapName(r.Encap.Type)+" (kept as bytes)")
	}
	var raw []RawAttr
	for _, nh := range r.MultiPath {
		if nh.Encap != nil {
			a = append(a, "nexthop encap "+EncapName(nh.Encap.Type)+" (kept as bytes)")
		}
		raw = append(raw, nh.Unmodelled...)
	}
	raw = append(raw, r.Unmodelled...)
	if len(raw) > 0 {
		a = append(a, "("+rawAttrsString(raw)+")")
	}
	return strings.Join(a, " ")
}
