package export

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nictab/nictab/snapshots/format"
)

// nixEvalJSON evaluates a Nix expression with real Nix, offline, and
// decodes its JSON value; ok is false with Nix's message when it fails.
func nixEvalJSON(t *testing.T, nix, expr string, v any) (msg string, ok bool) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(nix, "--readonly-mode", "--eval", "--strict", "--json", "-E", expr)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return stderr.String(), false
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	return "", true
}

// checkUnitStoreNames has Nix make the store path of every unit the way
// NixOS names its derivation, "unit-NAME.network": a name Nix refuses
// would fail the system's build.
func checkUnitStoreNames(t *testing.T, nix string, v map[string]any) {
	t.Helper()
	nets := obj(t, obj(t, obj(t, v["systemd"], "systemd")["network"], "network")["networks"], "networks")
	for _, unit := range keysOf(nets) {
		lit, err := NixString("unit-" + unit + ".network")
		if err != nil {
			t.Fatal(err)
		}
		var path string
		if msg, ok := nixEvalJSON(t, nix, "builtins.toFile "+lit+" \"\"", &path); !ok {
			t.Errorf("unit %q: Nix cannot make its store path: %s", unit, strings.TrimSpace(msg))
		}
	}
}

// checkAddressing checks what each unit of an evaluated networkd module
// holds against the snapshot: every rule and route on some unit, and the
// addressing nictab saw on the units of its own, as a person would write
// it (fixed addresses, DHCP for a dynamic IPv4 address, DHCPv6 for a
// dynamic /128, router advertisements for other dynamic IPv6 ones).
func checkAddressing(t *testing.T, s *format.Snapshot, u UnitNames, v map[string]any) {
	t.Helper()
	nets := obj(t, obj(t, obj(t, v["systemd"], "systemd")["network"], "network")["networks"], "networks")
	var rules, routes int
	for _, unit := range keysOf(nets) {
		um := obj(t, nets[unit], unit)
		nic, _ := obj(t, um["matchConfig"], unit)["Name"].(string)
		if l, ok := um["routingPolicyRules"].([]any); ok {
			rules += len(l)
		}
		if l, ok := um["routes"].([]any); ok {
			routes += len(l)
		}
		_, named := u.Units[nic]
		if u.Mode != UnitsOwn || named {
			if _, ok := um["address"]; ok {
				t.Errorf("%s: carries addresses in a mode that leaves them to the host", unit)
			}
			if _, ok := um["networkConfig"]; ok {
				t.Errorf("%s: carries networkConfig in a mode that leaves it to the host", unit)
			}
			if _, ok := um["DHCP"]; ok {
				t.Errorf("%s: carries DHCP in a mode that leaves it to the host", unit)
			}
			continue
		}
		a, ok := s.Meta.AddressingFor(nic)
		if !ok {
			t.Errorf("%s: NIC %q has no recorded addressing, yet the unit was written", unit, nic)
			continue
		}
		var want []any
		for _, p := range a.Static {
			want = append(want, p.String())
		}
		got, _ := mkDefault(t, um["address"], unit+".address").([]any)
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("%s.address = %v, want %v", unit, got, want)
		}
		var v4, v6m, ra bool
		for _, p := range a.Dynamic {
			switch {
			case p.Addr().Is4():
				v4 = true
			case p.Bits() == 128:
				v6m, ra = true, true
			default:
				ra = true
			}
		}
		wantDHCP := map[[2]bool]any{{true, true}: "yes", {true, false}: "ipv4", {false, true}: "ipv6", {false, false}: nil}[[2]bool{v4, v6m}]
		nc, _ := um["networkConfig"].(map[string]any)
		var gotDHCP, gotRA any
		if x, ok := um["DHCP"]; ok {
			gotDHCP = mkDefault(t, x, unit+".DHCP")
		}
		if x, ok := nc["IPv6AcceptRA"]; ok {
			gotRA = mkDefault(t, x, unit+".networkConfig.IPv6AcceptRA")
		}
		if gotDHCP != wantDHCP {
			t.Errorf("%s: DHCP = %v, want %v (dynamic %v)", unit, gotDHCP, wantDHCP, a.Dynamic)
		}
		if (gotRA == true) != ra {
			t.Errorf("%s: IPv6AcceptRA = %v, want %v (dynamic %v)", unit, gotRA, ra, a.Dynamic)
		}
	}
	if rules != len(s.Resolved.Rules) || routes != len(s.Resolved.Routes) {
		t.Errorf("the units hold %d rules and %d routes, the snapshot %d and %d", rules, routes, len(s.Resolved.Rules), len(s.Resolved.Routes))
	}
}

// TestStoreNameRuleIsNix checks ValidStoreName, which decides whether a
// unit name is used as it is, against real Nix on names at the edges of
// the rule.
func TestStoreNameRuleIsNix(t *testing.T) {
	nix := nixInstantiate(t)
	names := []string{"40-eno1", "40-eth0.100", "40-a+b=c", "40-x?y", "40-p${q}", "40-p$q", "40-p{q}", "40-a b", "40-a:b", "40-a@b", "40-a%b", "40-é", ".hidden", "-dash", "_under", "40-" + strings.Repeat("a", 208), "40-" + strings.Repeat("a", 209), "40-__reboot_-796c4c55"}
	for _, n := range names {
		lit, err := NixString(n)
		if err != nil {
			t.Fatal(err)
		}
		var path string
		_, nixOK := nixEvalJSON(t, nix, "builtins.toFile "+lit+" \"\"", &path)
		// A leading dot is refused on purpose: newer Nix refuses it,
		// and a unit file named so would be hidden.
		if got := ValidStoreName(n); got != nixOK && !(n[0] == '.' && !got) {
			t.Errorf("ValidStoreName(%q) = %v, Nix says %v", n, got, nixOK)
		}
	}
	// Every NIC name the kernel takes gives a unit name Nix takes.
	for _, nic := range []string{"p${q}", "$(reboot)", "a b", "é", ".x", "x?y", "eth0.100", "a+b=c"} {
		if u := (UnitNames{}).Unit(nic); !ValidStoreName("unit-" + u + ".network") {
			t.Errorf("NIC %q: unit name %q is not a store name", nic, u)
		}
	}
}

// unitLines renders one evaluated systemd.network.networks entry as the
// lines NixOS writes in its .network file, "Section.Key=value", sections
// numbered in order.
func unitLines(t *testing.T, um map[string]any) []string {
	t.Helper()
	val := func(x any) string {
		switch v := x.(type) {
		case bool:
			if v {
				return "yes"
			}
			return "no"
		case json.Number:
			return v.String()
		case string:
			return v
		}
		t.Errorf("value %v of type %T", x, x)
		return ""
	}
	out := []string{"Match.Name=" + val(obj(t, um["matchConfig"], "matchConfig")["Name"])}
	if raw, ok := um["address"]; ok {
		l, _ := mkDefault(t, raw, "address").([]any)
		for _, a := range l {
			out = append(out, "Network.Address="+val(a))
		}
	}
	if raw, ok := um["DHCP"]; ok {
		out = append(out, "Network.DHCP="+val(mkDefault(t, raw, "DHCP")))
	}
	if raw, ok := um["networkConfig"]; ok {
		nc := obj(t, raw, "networkConfig")
		if x, ok := nc["IPv6AcceptRA"]; ok {
			out = append(out, "Network.IPv6AcceptRA="+val(mkDefault(t, x, "IPv6AcceptRA")))
		}
		if len(nc) > 1 || len(nc) == 1 && nc["IPv6AcceptRA"] == nil {
			t.Errorf("networkConfig holds more than IPv6AcceptRA: %v", nc)
		}
	}
	n := 0
	for _, list := range []struct{ key, section string }{{"routingPolicyRules", "RoutingPolicyRule"}, {"routes", "Route"}} {
		l, _ := um[list.key].([]any)
		for _, e := range l {
			m := obj(t, e, list.key)
			for _, k := range keysOf(m) {
				out = append(out, fmt.Sprintf("%s%d.%s=%s", list.section, n, k, val(m[k])))
			}
			n++
		}
	}
	slices.Sort(out)
	return out
}

// fileLines reads a .network file into the same lines.
func fileLines(data string) []string {
	var out []string
	section, n := "", -1
	for _, l := range strings.Split(data, "\n") {
		switch {
		case l == "" || strings.HasPrefix(l, "#"):
		case strings.HasPrefix(l, "["):
			section = strings.Trim(l, "[]")
			if section == "RoutingPolicyRule" || section == "Route" {
				n++
				section += strconv.Itoa(n)
			}
		default:
			out = append(out, section+"."+l)
		}
	}
	slices.Sort(out)
	return out
}

// TestNixUnitsAreTheNetworkdFiles: the NixOS networkd flavour, evaluated
// by Nix, says for every unit exactly what the .network file of
// `export networkd --whole-units` says, so the run of the real networkd
// on those files (TestNetworkdAppliesExport) stands for the NixOS module.
func TestNixUnitsAreTheNetworkdFiles(t *testing.T) {
	nix := nixInstantiate(t)
	for _, c := range []struct {
		name string
		snap func(*testing.T) *format.Snapshot
		u    UnitNames
	}{
		{"sandbox", sandboxSnapshot, UnitNames{}},
		{"dhcp", dhcpSnapshot, UnitNames{}},
		{"vlan", vlanSnapshot, UnitNames{}},
		{"hostile", hostileNetworkdSnapshot, UnitNames{}},
		{"rules-only", dhcpSnapshot, UnitNames{Mode: UnitsRulesOnly}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.snap(t)
			mod, err := Nix(s, NixOptions{Flavor: FlavorNetworkd, Units: c.u})
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "m.nix")
			if err := os.WriteFile(path, []byte(mod), 0o644); err != nil {
				t.Fatal(err)
			}
			v := evalModule(t, nix, path)
			nets := obj(t, obj(t, obj(t, v["systemd"], "systemd")["network"], "network")["networks"], "networks")
			files, err := Networkd(s, NetworkdOptions{Units: c.u, Whole: true})
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			for _, f := range files {
				unit, ok := strings.CutSuffix(strings.TrimPrefix(f.Path, "network/"), ".network")
				if !ok {
					continue
				}
				seen++
				um, ok := nets[unit].(map[string]any)
				if !ok {
					t.Errorf("the module has no unit %q; it has %v", unit, keysOf(nets))
					continue
				}
				if got, want := unitLines(t, um), fileLines(string(f.Data)); !slices.Equal(got, want) {
					t.Errorf("unit %s: the module says\n%s\nthe file says\n%s", unit, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
			if seen != len(nets) || seen == 0 {
				t.Errorf("%d unit files, %d units in the module", seen, len(nets))
			}
		})
	}
}
