package export

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/nictab/nictab/snapshots/format"
)

// Flavor is the NixOS networking stack an export is written for.
type Flavor string

const (
	// FlavorNetworkd writes systemd.network options: rules and routes
	// are native there, and networkd keeps them across link changes.
	FlavorNetworkd Flavor = "networkd"
	// FlavorScripted is for classic NixOS networking: the table names in
	// networking.iproute2, rules and routes from a service of their own
	// that waits for the NICs' addresses.
	FlavorScripted Flavor = "scripted"
)

// NixOSRelease is a NixOS release, "24.11". It picks the layout of
// systemd.network sections: up to 24.05 each rule and route was wrapped in
// routingPolicyRuleConfig / routeConfig, from 24.11 they are flat (24.11
// still reads the wrapped form, with a deprecation warning).
type NixOSRelease struct {
	Year, Month int
}

// LatestNixOS is the newest layout; releases after it use it too.
var LatestNixOS = NixOSRelease{Year: 25, Month: 11}

// flatSince is the first release with flat sections.
var flatSince = NixOSRelease{Year: 24, Month: 11}

var releaseRE = regexp.MustCompile(`^([0-9]{2})\.([0-9]{2})$`)

// ParseNixOSRelease reads "24.05" or "24.11".
func ParseNixOSRelease(s string) (NixOSRelease, error) {
	m := releaseRE.FindStringSubmatch(s)
	if m == nil {
		return NixOSRelease{}, exportErrf("NixOS release %q is not of the form YY.MM (24.05, 24.11, …)", s)
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	if mo < 1 || mo > 12 {
		return NixOSRelease{}, exportErrf("NixOS release %q has no month %d", s, mo)
	}
	return NixOSRelease{Year: y, Month: mo}, nil
}

func (r NixOSRelease) String() string { return fmt.Sprintf("%02d.%02d", r.Year, r.Month) }

func (r NixOSRelease) before(o NixOSRelease) bool {
	return r.Year < o.Year || (r.Year == o.Year && r.Month < o.Month)
}

// NixOptions shapes a NixOS module export.
type NixOptions struct {
	// Flavor empty picks networkd when the snapshot was taken on a host
	// where systemd-networkd managed the links, scripted otherwise.
	Flavor Flavor
	// NixOS zero means LatestNixOS.
	NixOS NixOSRelease
	Units UnitNames
	// Version is the version of the nictab that writes the export.
	Version string
}

// PickFlavor returns the flavour o asks for, or the one that suits the
// host the snapshot was taken on.
func PickFlavor(s *format.Snapshot, f Flavor) (Flavor, error) {
	switch f {
	case FlavorNetworkd, FlavorScripted:
		return f, nil
	case "":
		if s != nil && s.Meta != nil && s.Meta.Networkd {
			return FlavorNetworkd, nil
		}
		return FlavorScripted, nil
	}
	return "", exportErrf("unknown flavour %q (want networkd or scripted)", string(f))
}

// Nix turns a saved snapshot into one NixOS module. It is a pure
// function of its arguments.
func Nix(s *format.Snapshot, o NixOptions) (string, error) {
	if err := checkExportable(s); err != nil {
		return "", err
	}
	if err := checkAttrsCarried(s, "NixOS"); err != nil {
		return "", err
	}
	f, err := PickFlavor(s, o.Flavor)
	if err != nil {
		return "", err
	}
	if o.NixOS == (NixOSRelease{}) {
		o.NixOS = LatestNixOS
	}
	w := &nixWriter{}
	if f == FlavorNetworkd {
		err = writeNetworkdModule(w, s, o)
	} else {
		err = writeScriptedModule(w, s, o)
	}
	if err != nil {
		return "", err
	}
	if w.err != nil {
		return "", w.err
	}
	return w.b.String(), nil
}

// nixWriter builds Nix text. The first escaping error is kept and the rest
// of the text is still built, so callers check once at the end.
type nixWriter struct {
	b     strings.Builder
	err   error
	depth int
}

func (w *nixWriter) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// str is a Nix string literal of s; what names the value in an error.
func (w *nixWriter) str(what, s string) string {
	q, err := NixString(s)
	if err != nil {
		w.fail(exportErrf("%s %s %v", what, quoteText(s), err))
	}
	return q
}

// attr is s as one attribute name.
func (w *nixWriter) attr(what, s string) string {
	q, err := NixAttr(s)
	if err != nil {
		w.fail(exportErrf("%s %s %v", what, quoteText(s), err))
	}
	return q
}

// line writes one line at the current depth.
func (w *nixWriter) line(s string) {
	if s != "" {
		w.b.WriteString(strings.Repeat("  ", w.depth))
	}
	w.b.WriteString(s)
	w.b.WriteByte('\n')
}

func (w *nixWriter) comment(lines ...string) {
	for _, l := range lines {
		if l == "" {
			w.line("#")
			continue
		}
		w.line("# " + l)
	}
}

func (w *nixWriter) open(s string) {
	w.line(s)
	w.depth++
}

func (w *nixWriter) close(s string) {
	w.depth--
	w.line(s)
}

// kv is one `key = value;` of an attribute set, the value already Nix.
type kv struct{ k, v string }

// inline renders a small attribute set on one line.
func inline(kvs []kv) string {
	var b strings.Builder
	b.WriteString("{")
	for _, p := range kvs {
		b.WriteString(" ")
		b.WriteString(p.k)
		b.WriteString(" = ")
		b.WriteString(p.v)
		b.WriteString(";")
	}
	b.WriteString(" }")
	return b.String()
}

func nixInt[T ~uint8 | ~uint16 | ~uint32 | ~int](n T) string { return strconv.FormatInt(int64(n), 10) }

// wrapComment lays a paragraph out as comment lines of about 76 columns.
func wrapComment(text string) []string {
	var out []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > 76 {
			out = append(out, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
