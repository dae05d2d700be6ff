package export

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nictab/nictab/snapshots/format"
)

type nixCase struct {
	name string
	snap func(*testing.T) *format.Snapshot
	opts NixOptions
	// expect are strings (attribute names or values) that evaluating the
	// module must yield verbatim: host text came through inert.
	expect []string
}

var release2405 = NixOSRelease{Year: 24, Month: 5}

func nixCases() []nixCase {
	return []nixCase{
		{name: "sandbox.networkd.nix", snap: sandboxSnapshot, opts: NixOptions{Flavor: FlavorNetworkd},
			expect: []string{"40-eno1", "40-enp2s0", "192.168.10.2/32", "2001:db8:20::1", "vpn"}},
		{name: "sandbox.networkd-24.05.nix", snap: sandboxSnapshot, opts: NixOptions{Flavor: FlavorNetworkd, NixOS: release2405},
			expect: []string{"routingPolicyRuleConfig", "routeConfig", "192.168.20.0/24"}},
		{name: "sandbox.scripted.nix", snap: sandboxSnapshot, opts: NixOptions{Flavor: FlavorScripted},
			expect: []string{"13 vpn\n14 lan", "192.168.10.0", "2001:db8:10::"}},
		{name: "v6only.networkd.nix", snap: v6OnlySnapshot, opts: NixOptions{Flavor: FlavorNetworkd},
			expect: []string{"2001:db8:30::2/128", "2001:db8:30::1"}},
		{name: "v6only.scripted.nix", snap: v6OnlySnapshot, opts: NixOptions{},
			expect: []string{"2001:db8:30::"}},
		{name: "vlan.networkd.nix", snap: vlanSnapshot, opts: NixOptions{},
			expect: []string{"40-eth0.100", "eth0.100", "eth0.200", "10.99.0.0/16", "blackhole"}},
		{name: "vlan.networkd-24.05.nix", snap: vlanSnapshot, opts: NixOptions{NixOS: release2405},
			expect: []string{"40-eth0.200"}},
		{name: "vlan.scripted.nix", snap: vlanSnapshot, opts: NixOptions{Flavor: FlavorScripted},
			expect: []string{"eth0.100", "eth0.200"}},
		{name: "vlan.units.nix", snap: vlanSnapshot, opts: NixOptions{Units: UnitNames{Prefix: "10-", Units: map[string]string{"eth0.200": "20-lan"}, RulesNIC: "eth0.100"}},
			expect: []string{"10-eth0.100", "20-lan"}},
		{name: "hostile.networkd.nix", snap: hostileNetworkdSnapshot, opts: NixOptions{},
			expect: []string{"40-__reboot_-796c4c55", "$(reboot)", "40-__x_-4364f747", "${x}", "${toString.x}", "192.168.10.2/24"}},
		{name: "hostile.merge.nix", snap: hostileBuildableSnapshot, opts: NixOptions{Units: UnitNames{Mode: UnitsMerge}},
			expect: []string{"40-a+b=c", "a+b=c", "40-x.y", "x.y"}},
		{name: "attrs.networkd.nix", snap: attrsSnapshot, opts: NixOptions{Flavor: FlavorNetworkd},
			expect: []string{"19/255", "1000-2000", "1000-1999", "prohibit", "unreachable", "10.9.9.9"}},
		{name: "attrs.scripted.nix", snap: attrsSnapshot, opts: NixOptions{Flavor: FlavorScripted},
			expect: []string{"onlink", "sport 1000-2000", "uidrange 1000-1999", "suppress_ifgroup 7"}},
		{name: "dhcp.networkd.nix", snap: dhcpSnapshot, opts: NixOptions{},
			expect: []string{"ipv4", "192.168.50.0/24", "2001:db8:60::/64", "10.77.0.0/16"}},
		{name: "dhcp.rulesonly.nix", snap: dhcpSnapshot, opts: NixOptions{Units: UnitNames{Mode: UnitsRulesOnly}},
			expect: []string{"40-wlan0", "40-eth1"}},
		{name: "dhcp.scripted.nix", snap: dhcpSnapshot, opts: NixOptions{Flavor: FlavorScripted},
			expect: []string{"network-addresses-wlan0.service", "nictab_wait wlan0 192.168.50.23"}},
		{name: "hostile.scripted.nix", snap: hostileScriptedSnapshot, opts: NixOptions{},
			expect: []string{"13 ${builtins.abort\"x\"}\n14 a\"b\\c\n15 $(reboot)", "dev 'eth\"0'", "'$(reboot)'", "'a\\b'\\''c'", "'nl\nx'"}},
	}
}

func TestExportNixGolden(t *testing.T) {
	for _, c := range nixCases() {
		t.Run(c.name, func(t *testing.T) {
			c.opts.Version = "0.2.0"
			got, err := Nix(c.snap(t), c.opts)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.name, got)
		})
	}
}

// TestExportNixByNix has real Nix parse every golden module and evaluate
// it with stub module arguments, forcing every value: a syntax error, an
// undefined name or code injected through a name fails here.
func TestExportNixByNix(t *testing.T) {
	nix := nixInstantiate(t)
	for _, c := range nixCases() {
		t.Run(c.name, func(t *testing.T) {
			path, err := filepath.Abs(filepath.Join("testdata", "export", c.name))
			if err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(nix, "--readonly-mode", "--parse", path).CombinedOutput(); err != nil {
				t.Fatalf("nix-instantiate --parse %s: %v\n%s", path, err, out)
			}
			v := evalModule(t, nix, path)
			if strings.Contains(c.name, "scripted") {
				checkScriptedValue(t, v)
			} else {
				checkNetworkdValue(t, v, strings.Contains(c.name, "24.05"))
				checkUnitStoreNames(t, nix, v)
				checkAddressing(t, c.snap(t), c.opts.Units, v)
			}
			seen := map[string]bool{}
			collectStrings(v, seen)
			for _, want := range c.expect {
				if !seen[want] && !containsIn(seen, want) {
					t.Errorf("evaluating the module did not yield %q verbatim", want)
				}
			}
		})
	}
}

// nixArgs are the module arguments the evaluation passes: stubs, except
// lib.mkDefault, which is nixpkgs' own definition (mkOverride 1000), so a
// value set with it evaluates to the attribute set NixOS's module system
// reads. A module that uses any other argument fails to evaluate.
const nixArgs = `{ config = { }; options = { }; modulesPath = ""; pkgs = { iproute2 = "iproute2"; coreutils = "coreutils"; }; lib = { mkDefault = content: { _type = "override"; priority = 1000; inherit content; }; }; }`

// evalModule imports the module with the arguments NixOS passes and
// returns its value as JSON.
func evalModule(t *testing.T, nix, path string) map[string]any {
	t.Helper()
	wrapper := filepath.Join(t.TempDir(), "eval.nix")
	lit, err := NixString(path)
	if err != nil {
		t.Fatal(err)
	}
	src := "builtins.toJSON ((import (/. + " + lit + ")) " + nixArgs + ")\n"
	if err := os.WriteFile(wrapper, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(nix, "--readonly-mode", "--eval", "--strict", "--json", wrapper)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("nix-instantiate --eval %s: %v\n%s", path, err, stderr.String())
	}
	var text string
	if err := json.Unmarshal(out, &text); err != nil {
		t.Fatalf("decode the evaluated string: %v\n%s", err, out)
	}
	var v map[string]any
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode the module's JSON: %v\n%s", err, text)
	}
	return v
}

func collectStrings(v any, seen map[string]bool) {
	switch x := v.(type) {
	case string:
		seen[x] = true
	case map[string]any:
		for k, e := range x {
			seen[k] = true
			collectStrings(e, seen)
		}
	case []any:
		for _, e := range x {
			collectStrings(e, seen)
		}
	}
}

// containsIn reports whether want is part of one of the strings, for
// commands inside localCommands.
func containsIn(seen map[string]bool, want string) bool {
	for s := range seen {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}

func obj(t *testing.T, v any, path string) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s: want an attribute set, got %T", path, v)
	}
	return m
}

func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// checkKinds checks that every key of m is allowed and of its kind:
// "int", "string" or "bool".
func checkKinds(t *testing.T, m map[string]any, path string, kinds map[string]string) {
	t.Helper()
	for k, v := range m {
		want, ok := kinds[k]
		if !ok {
			t.Errorf("%s: unknown key %q", path, k)
			continue
		}
		var got string
		switch x := v.(type) {
		case json.Number:
			if strings.ContainsAny(x.String(), ".eE") {
				got = "float"
			} else {
				got = "int"
			}
		case string:
			got = "string"
		case bool:
			got = "bool"
		default:
			got = "other"
		}
		// FirewallMark and the ports are integers, or strings where they
		// carry a mask or a range.
		if want == "int|string" && (got == "int" || got == "string") {
			continue
		}
		if got != want {
			t.Errorf("%s.%s: want %s, got %s (%v)", path, k, want, got, v)
		}
	}
}

var ruleKinds = map[string]string{
	"Family": "string", "InvertRule": "bool", "From": "string", "To": "string",
	"IncomingInterface": "string", "OutgoingInterface": "string", "FirewallMark": "int|string",
	"TypeOfService": "int", "IPProtocol": "int", "SourcePort": "int|string", "DestinationPort": "int|string",
	"User": "string", "Table": "int", "Type": "string", "Priority": "int",
	"SuppressPrefixLength": "int", "SuppressInterfaceGroup": "int",
}

var routeKinds = map[string]string{
	"Type": "string", "Destination": "string", "Gateway": "string", "GatewayOnLink": "bool",
	"Table": "int", "Scope": "string", "PreferredSource": "string", "Metric": "int",
}

// mkDefault returns the content of a value set with lib.mkDefault.
func mkDefault(t *testing.T, v any, path string) any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok || m["_type"] != "override" || m["priority"] != json.Number("1000") {
		t.Errorf("%s = %v, want it set with lib.mkDefault", path, v)
		return nil
	}
	return m["content"]
}

func checkNetworkdValue(t *testing.T, v map[string]any, legacy bool) {
	t.Helper()
	if got := keysOf(v); !slices.Equal(got, []string{"systemd"}) {
		t.Fatalf("top-level keys %v, want [systemd]", got)
	}
	nw := obj(t, obj(t, v["systemd"], "systemd")["network"], "systemd.network")
	if e := mkDefault(t, nw["enable"], "systemd.network.enable"); e != true {
		t.Errorf("systemd.network.enable = %v, want lib.mkDefault true", e)
	}
	cfg := obj(t, nw["config"], "systemd.network.config")
	if nc := obj(t, cfg["networkConfig"], "networkConfig"); nc["ManageForeignRoutingPolicyRules"] != false {
		t.Errorf("ManageForeignRoutingPolicyRules = %v, want false", nc["ManageForeignRoutingPolicyRules"])
	}
	if rt, ok := cfg["routeTables"]; ok {
		for name, id := range obj(t, rt, "routeTables") {
			checkKinds(t, map[string]any{"Table": id}, "routeTables."+name, map[string]string{"Table": "int"})
		}
	}
	for unit, u := range obj(t, nw["networks"], "networks") {
		um := obj(t, u, unit)
		checkKinds(t, obj(t, um["matchConfig"], unit+".matchConfig"), unit+".matchConfig", map[string]string{"Name": "string"})
		for _, list := range []struct {
			key, wrapper string
			kinds        map[string]string
		}{{"routingPolicyRules", "routingPolicyRuleConfig", ruleKinds}, {"routes", "routeConfig", routeKinds}} {
			raw, ok := um[list.key]
			if !ok {
				continue
			}
			entries, ok := raw.([]any)
			if !ok || len(entries) == 0 {
				t.Errorf("%s.%s: want a non-empty list, got %v", unit, list.key, raw)
				continue
			}
			for _, e := range entries {
				m := obj(t, e, unit+"."+list.key)
				if legacy {
					if ks := keysOf(m); !slices.Equal(ks, []string{list.wrapper}) {
						t.Errorf("%s.%s: legacy entry with keys %v, want only %s", unit, list.key, ks, list.wrapper)
						continue
					}
					m = obj(t, m[list.wrapper], list.wrapper)
				}
				checkKinds(t, m, unit+"."+list.key, list.kinds)
			}
		}
		if raw, ok := um["address"]; ok {
			list, ok := mkDefault(t, raw, unit+".address").([]any)
			if !ok {
				t.Errorf("%s.address: want a list, got %v", unit, raw)
			}
			for _, a := range list {
				if _, ok := a.(string); !ok {
					t.Errorf("%s.address: %v is not a string", unit, a)
				}
			}
		}
		if raw, ok := um["DHCP"]; ok {
			if c := mkDefault(t, raw, unit+".DHCP"); c != "ipv4" && c != "ipv6" && c != "yes" {
				t.Errorf("%s.DHCP = %v", unit, c)
			}
		}
		if raw, ok := um["networkConfig"]; ok {
			for k, x := range obj(t, raw, unit+".networkConfig") {
				c := mkDefault(t, x, unit+".networkConfig."+k)
				switch k {
				case "IPv6AcceptRA":
					if c != true {
						t.Errorf("%s.networkConfig.IPv6AcceptRA = %v", unit, c)
					}
				default:
					t.Errorf("%s.networkConfig: unknown key %q", unit, k)
				}
			}
		}
		for k := range um {
			switch k {
			case "matchConfig", "routingPolicyRules", "routes", "address", "DHCP", "networkConfig":
			default:
				t.Errorf("%s: unknown key %q", unit, k)
			}
		}
	}
}

func checkScriptedValue(t *testing.T, v map[string]any) {
	t.Helper()
	for k, x := range v {
		switch k {
		case "networking":
			n := obj(t, x, k)
			if got := keysOf(n); !slices.Equal(got, []string{"iproute2"}) {
				t.Errorf("networking: keys %v, want only iproute2: nothing in networking.interfaces, whose stop step deletes main's routes", got)
			}
			checkKinds(t, obj(t, n["iproute2"], "iproute2"), "iproute2", map[string]string{"enable": "bool", "rttablesExtraConfig": "string"})
		case "systemd":
			svcs := obj(t, obj(t, x, k)["services"], "systemd.services")
			if got := keysOf(svcs); !slices.Equal(got, []string{ScriptedUnit}) {
				t.Fatalf("systemd.services: %v, want only %s", got, ScriptedUnit)
			}
			svc := obj(t, svcs[ScriptedUnit], ScriptedUnit)
			for sk := range svc {
				switch sk {
				case "description", "wantedBy", "before", "after", "path", "serviceConfig", "script":
				default:
					// preStop, postStop, ExecStop: a stop step is exactly
					// what must not be there.
					t.Errorf("%s: unexpected key %q", ScriptedUnit, sk)
				}
			}
			sc := obj(t, svc["serviceConfig"], "serviceConfig")
			if sc["Type"] != "oneshot" || sc["RemainAfterExit"] != true || len(sc) != 2 {
				t.Errorf("%s.serviceConfig = %v, want oneshot, RemainAfterExit, nothing else", ScriptedUnit, sc)
			}
			if _, ok := svc["script"].(string); !ok {
				t.Errorf("%s.script: want a string", ScriptedUnit)
			}
		default:
			t.Errorf("unknown top-level key %q", k)
		}
	}
}
