package format

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nictab/nictab/netcfg"
)

// fastLines are route entries at the edges of what the fast decoders
// take: values in every form the node decoder reads differently or
// refuses, next to the forms they take.
var fastLines = []string{
	"- {table: 100, to: 11.2.0.0/24, via: 10.0.0.2, dev: sc0}",
	"- {table: 100, to: 11.2.0.0/24, via: 10.0.0.2, dev: sc0}",
	"- {table: 100, to: 11.2.0.7/24, via: 10.0.0.2, dev: sc0}",
	"- {table: 100, to: 11.2.1.0/24, via: 10.0.0.3, dev: sc0}",
	"- {table: 100, to: 11.2.0.0/24, via: 10.0.0.2, dev: sc0, metric: 7}",
	"- {table: 100, to: 11.2.2.0/24, via: 10.0.0.2, dev: sc0, metric: 4294967295}",
	"- {table: 100, to: 11.2.3.0/24, via: 10.0.0.2, dev: sc0, metric: 4294967296}",
	"- {table: 100, to: 11.2.4.0/24, via: 10.0.0.2, dev: sc0, metric: 0}",
	"- {table: 100, to: 11.2.5.0/24, via: 10.0.0.2, dev: sc0, metric: 00}",
	"- {table: 100, to: 11.2.6.0/24, via: 10.0.0.2, dev: sc0, metric: 0x10}",
	"- {table: 1, to: 11.2.7.0/24, dev: sc0}",
	"- {table: 252, to: 11.2.8.0/24, dev: sc0}",
	"- {table: 253, to: 11.2.9.0/24, dev: sc0}",
	"- {table: 255, to: 11.2.10.0/24, dev: sc0}",
	"- {table: 256, to: 11.2.11.0/24, dev: sc0}",
	"- {table: 0, to: 11.2.12.0/24, dev: sc0}",
	"- {table: 4294967295, to: 11.2.13.0/24, dev: sc0}",
	"- {table: 4294967296, to: 11.2.14.0/24, dev: sc0}",
	"- {table: main, to: 11.2.15.0/24, dev: sc0}",
	"- {table: local, to: 11.2.16.0/24, dev: sc0}",
	"- {table: vpn, to: 11.2.17.0/24, dev: sc0}",
	"- {table: nope, to: 11.2.18.0/24, dev: sc0}",
	"- {table: true, to: 11.2.19.0/24, dev: sc0}",
	"- {table: 1e3, to: 11.2.20.0/24, dev: sc0}",
	"- {table: 12abc, to: 11.2.21.0/24, dev: sc0}",
	"- {table: a.b, to: 11.2.22.0/24, dev: sc0}",
	"- {table: 100, to: 11.2.23.0/32, dev: sc0}",
	"- {table: 100, to: 11.2.24.0/33, dev: sc0}",
	"- {table: 100, to: 11.2.25.0/0, dev: sc0}",
	"- {table: 100, to: 11.2.26.0/024, dev: sc0}",
	"- {table: 100, to: 11.2.27.0/, dev: sc0}",
	"- {table: 100, to: 11.2.28.5, dev: sc0}",
	"- {table: 100, to: 11.2.029.0/24, dev: sc0}",
	"- {table: 100, to: 11.2.256.0/24, dev: sc0}",
	"- {table: 100, to: 11.2.30/24, dev: sc0}",
	"- {table: 100, to: 11.2.31.0.0/24, dev: sc0}",
	"- {table: 100, to: 11..32.0/24, dev: sc0}",
	"- {table: 100, to: 0.0.0.0/0, via: 10.0.0.2}",
	"- {table: 100, to: default, via: 10.0.0.2}",
	"- {table: 100, to: default, dev: sc0}",
	"- {table: 100, to: 2001:db8:1::/48, via: fe80::1, dev: sc0}",
	"- {table: 100, to: 2001:db8:2::1/48, via: 2001:db8::1}",
	"- {table: 100, to: 2001:db8:3::/48, via: 10.0.0.2, dev: sc0}",
	"- {table: 100, to: 11.2.33.0/24, via: 2001:db8::1, dev: sc0}",
	"- {table: 100, to: ::ffff:11.2.34.0/120, dev: sc0}",
	"- {table: 100, to: 11.2.35.0/24, via: ::ffff:10.0.0.2, dev: sc0}",
	"- {table: 100, to: 11.2.36.0/24, via: 0.0.0.0, dev: sc0}",
	"- {table: 100, to: 11.2.37.0/24, via: 224.0.0.1, dev: sc0}",
	"- {table: 100, to: 11.2.38.0/24, via: 255.255.255.255, dev: sc0}",
	"- {table: 100, to: 11.2.39.0/24, via: 10.0.0.2/32, dev: sc0}",
	"- {table: 100, to: 11.2.40.0/24, via: 10.0.0.2, src: 10.0.0.1, dev: sc0}",
	"- {table: 100, to: 11.2.41.0/24, via: 10.0.0.2, src: 2001:db8::1, dev: sc0}",
	"- {table: 100, to: 2001:db8:4::/48, src: 10.0.0.1, dev: sc0}",
	"- {table: 100, to: 11.2.42.0/24}",
	"- {table: 100, to: 11.2.43.0/24, dev: sc0/1}",
	"- {table: 100, to: 11.2.44.0/24, dev: " + strings.Repeat("x", 16) + "}",
	"- {table: 100, to: 11.2.45.0/24, dev: 123}",
	"- {table: 100, to: 11.2.46.0/24, dev: yes}",
	"- {table: 100, to: 11.2.47.0/24, dev: null}",
	"- {table: 100, to: 11.2.48.0/24, dev: 1.5}",
	"- {table: 100, to: 11.2.49.0/24, dev: sc0, mtu: 1400}",
	"- {table: 100, type: unicast, to: 11.2.50.0/24, via: 10.0.0.2, dev: sc0, protocol: 201, metric: 5, onlink: true}",
	"- {table: 100, type: local, to: 11.2.51.1, dev: sc0, scope: host, protocol: 2}",
	"- {table: 100, type: 99, to: 11.2.52.0/24, dev: sc0}",
	"- {table: 100, type: bogus, to: 11.2.53.0/24, dev: sc0}",
	"- {table: 100, to: 11.2.54.0/24, dev: sc0, scope: link, protocol: 256}",
	"- {table: 100, to: 11.2.55.0/24, dev: sc0, scope: 253, tos: 8}",
	"- {table: 100, to: 11.2.56.0/24, dev: sc0, scope: far}",
	"- {table: 100, to: 11.2.57.0/24, dev: sc0, onlink: false}",
	"- {table: 100, to: 11.2.58.0/24, dev: sc0, onlink: True}",
	"- {table: 100, to: 11.2.59.0/24, dev: sc0, onlink: yes}",
	"- {table: 100, to: 11.2.60.0/24, dev: sc0, onlink: 1}",
	"- {table: 100, to: 11.2.61.0/24, via: fe80::1%sc0, dev: sc0}",
	"- {table: 100, to: fe80::/64, dev: sc0}",
	"- {table: 100, to: 11.2.62.0/24, via: 10.0.0.2, dev: sc0, src: 10.0.0.1, scope: link, metric: 1, type: unicast, mtu: 1400, advmss: 1000, dev: sc1}",
	"- {dev: sc0, to: 11.2.63.0/24, table: 100}",
}

// TestFastEntriesReadAsTheDecoder holds the fast decoders to the node
// decoder: every file reads to the same snapshot, or to the same errors
// word for word, with them and without them.
func TestFastEntriesReadAsTheDecoder(t *testing.T) {
	files := listFiles()
	head := "version: 1\ntables: [{id: 100, name: vpn}]\n"
	meta := "snapshot: {id: 261124-120000, time: 2026-11-24T12:00:00Z, kind: apply}\n"
	var all strings.Builder
	for i, l := range fastLines {
		files[fmt.Sprintf("fast-routes-%d", i)] = head + "routes:\n  " + l + "\n"
		files[fmt.Sprintf("fast-resolved-%d", i)] = head + meta + "resolved:\n  routes:\n    " + l + "\n"
		all.WriteString("  " + l + "\n")
	}
	files["fast-all-routes"] = head + "routes:\n" + all.String()
	files["fast-all-resolved"] = head + meta + "resolved:\n  routes:\n" + strings.ReplaceAll(all.String(), "  -", "    -")
	for _, dir := range []string{"good", "bad"} {
		paths, _ := filepath.Glob(filepath.Join("testdata", "files", dir, "*.yaml"))
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			files[p] = string(data)
		}
	}
	for name, text := range files {
		compareFast(t, name, []byte(text), inputLimits)
		compareFast(t, name, []byte(text), storedLimits)
	}
}

func compareFast(t *testing.T, name string, data []byte, lim shapeLimits) {
	t.Helper()
	fastEntries = false
	slow, serr := parseWith(name, data, lim)
	fastEntries = true
	fast, ferr := parseWith(name, data, lim)
	if (serr == nil) != (ferr == nil) || serr != nil && serr.Error() != ferr.Error() {
		t.Errorf("%s: errors differ\nnode decoder:\n%v\nfast:\n%v\n%s", name, serr, ferr, data)
		return
	}
	if serr != nil {
		return
	}
	if diff := cmp.Diff(slow, fast, snapshotOpts); diff != "" {
		t.Errorf("%s: snapshots differ (-node decoder +fast):\n%s\n%s", name, diff, data)
	}
	if diff := cmp.Diff(slow.origin.pos, fast.origin.pos, cmp.AllowUnexported(filePos{})); diff != "" {
		t.Errorf("%s: positions differ (-node decoder +fast):\n%s", name, diff)
	}
	for p, x := range slow.origin.lists {
		if diff := cmp.Diff(x, fast.origin.lists[p], cmp.AllowUnexported(itemIndex{})); diff != "" {
			t.Errorf("%s: %s placed differently (-node decoder +fast):\n%s", name, p, diff)
		}
	}
}

// TestFastDecodersTakeTheCommonRoutes keeps the fast decoders in use: the
// entries nictab writes and people write most are theirs.
func TestFastDecodersTakeTheCommonRoutes(t *testing.T) {
	d := newDecoder("x", nil, 0, inputLimits, nil)
	for _, l := range []string{
		"  - {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0}",
		"  - {table: vpn, to: 2001:db8::/64, via: fe80::1, dev: sc0, metric: 1024}",
	} {
		fl := newFlowReader(routeKeys)
		if !fl.scan([]byte(l)) {
			t.Fatalf("%q not scanned", l)
		}
		if !d.fastRoute(fl, new(netcfg.RouteIntent)) {
			t.Errorf("%q is left to the node decoder", l)
		}
	}
	for _, l := range []string{
		"    - {table: 100, to: 11.0.0.0/24, via: 10.0.0.2, dev: sc0, protocol: 201}",
		"    - {table: 100, type: local, to: 11.0.0.1, dev: sc0, scope: host, protocol: 2, metric: 5}",
		"    - {table: 254, to: 2001:db8::/64, dev: sc0, scope: link, protocol: 2, metric: 256}",
	} {
		fl := newFlowReader(savedRouteKeys)
		if !fl.scan([]byte(l)) {
			t.Fatalf("%q not scanned", l)
		}
		if !d.fastSavedRoute(fl, new(netcfg.Route)) {
			t.Errorf("%q is left to the node decoder", l)
		}
	}
}

// FuzzFastEntriesReadAsTheDecoder is the same comparison on any bytes.
func FuzzFastEntriesReadAsTheDecoder(f *testing.F) {
	for _, l := range fastLines {
		f.Add([]byte("version: 1\nroutes:\n  " + l + "\n"))
		f.Add([]byte("version: 1\nsnapshot: {id: x, time: 2026-11-24T12:00:00Z}\nresolved:\n  routes:\n    " + l + "\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareFast(t, "fuzz.yaml", data, inputLimits)
	})
}
