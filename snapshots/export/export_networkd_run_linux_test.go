//go:build linux

package export

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nictab/nictab/internal/nstest"
	"github.com/nictab/nictab/netcfg"
)

const networkdBinary = "/usr/lib/systemd/systemd-networkd"

// networkdSetup is the shell that runs networkd inside the test
// namespace. It gets a mount namespace of its own, where /run,
// /etc/systemd and every other directory networkd reads units from are
// empty tmpfs, /etc/systemd holding only the exported files, so it reads
// no unit of the host and writes no state of it.
//
// NOTE: what networkd needs to run without systemd as PID 1 and without
// D-Bus, found by running it with SYSTEMD_LOG_LEVEL=debug:
//   - /run/systemd/netif owned by systemd-network: started as root it
//     drops to that user and refuses a directory root owns ("Could not
//     create runtime directory").
//   - /sys read-only: with a writable /sys it waits for udev to
//     initialise every link ("link pending udev initialization"), and no
//     udevd runs here; read-only, it takes links as they are, as in a
//     container.
//   - D-Bus is not needed: it watches for the bus socket and goes on
//     without it.
//
// It runs in a PID namespace of its own whose init is `timeout`: when
// the test ends, fails or dies, the unshare process (killed with the
// test) takes that init down, and the kernel kills networkd with it;
// timeout bounds it in any case.
const networkdSetup = `set -e
mount -t tmpfs tmpfs /run
mkdir -p /run/systemd/netif
chown systemd-network:systemd-network /run/systemd/netif
mount -t tmpfs tmpfs /etc/systemd
cp -r "$1"/. /etc/systemd/
for d in /usr/lib/systemd/network /lib/systemd/network /usr/local/lib/systemd/network; do
	if [ -d "$d" ] && ! mountpoint -q "$d"; then mount -t tmpfs tmpfs "$d"; fi
done
mount -o remount,bind,ro /sys
exec timeout -s KILL 60 env SYSTEMD_LOG_LEVEL=debug SYSTEMD_LOG_TARGET=console ` + networkdBinary + "\n"

// runNetworkd starts systemd-networkd in ns with files (paths relative to
// /etc/systemd) and stops it when the test ends.
func runNetworkd(t *testing.T, ns *nstest.NS, files []File) (stop func() string) {
	t.Helper()
	if _, err := os.Stat(networkdBinary); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing: %v", networkdBinary, err)
		}
		t.Skipf("no %s", networkdBinary)
	}
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("ip", "netns", "exec", ns.Name,
		"unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child=SIGKILL", "--mount-proc",
		"sh", "-c", networkdSetup, "sh", dir)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	stopped := false
	stop = func() string {
		if !stopped {
			stopped = true
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Errorf("systemd-networkd (pid %d) did not end", cmd.Process.Pid)
			}
		}
		return log.String()
	}
	t.Cleanup(func() { stop() })
	return stop
}

// TestNetworkdAppliesExport is the networkd flavour applied for real:
// nictab applies an intent in one namespace, plus rules and routes with
// every attribute networkd can say; the export of the snapshot it saves
// is given to the real systemd-networkd in a fresh namespace with the same
// NICs and no addresses: the whole units of `export networkd
// --whole-units` (the units the NixOS module defines), and the default
// drop-ins beside host units that address the NICs. networkd must address
// the NICs as they were and install rules and routes equal to nictab's,
// read back with ip -j. One NIC's name holds '$', '{' and '}', which no
// Nix store path can.
func TestNetworkdAppliesExport(t *testing.T) {
	// Mostly waiting for networkd, DAD or a late address: beside the others.
	t.Parallel()
	nics := []runNIC{
		{name: "eno1", addrs: []string{"192.168.10.2/24", "2001:db8:10::2/64"}},
		{name: "p${q}", addrs: []string{"192.168.30.2/24"}},
	}
	in := netcfg.Intent{
		Tables: []netcfg.TableDef{{ID: 13, Name: "vpn"}, {ID: 14, Name: "odd"}},
		NICs: []netcfg.NICIntent{
			{Name: "eno1", Table: netcfg.TableRef{ID: 13}, Gateways: []netip.Addr{netip.MustParseAddr("192.168.10.1"), netip.MustParseAddr("2001:db8:10::1")},
				Select: []netcfg.Selector{netcfg.SelectFrom, netcfg.SelectFwmark}, FwMark: &netcfg.FwMark{Value: 0x13, Mask: 0xffffffff}},
			{Name: "p${q}", Table: netcfg.TableRef{ID: 14}, Gateways: []netip.Addr{netip.MustParseAddr("192.168.30.1")},
				Select: []netcfg.Selector{netcfg.SelectFrom, netcfg.SelectIIF}},
		},
		Routes: []netcfg.RouteIntent{{Table: netcfg.TableRef{ID: 14}, Type: netcfg.RouteBlackhole, To: netip.MustParsePrefix("10.99.0.0/16")}},
	}
	applied := nstest.New(t)
	addNICs(t, applied, nics, true)
	// Every rule and route attribute nictab models that networkd can say.
	snap := applyAsNictab(t, applied, in, true,
		"rule add not from 192.168.10.0/24 to 10.8.0.0/16 iif eno1 fwmark 0x13/0xff tos 0x10 ipproto tcp sport 1000-2000 dport 443 uidrange 1000-1999 lookup 13 suppress_prefixlength 0 suppress_ifgroup 7 pref 1500 proto 201",
		"-6 rule add to 2001:db8:99::/48 prohibit pref 1600 proto 201",
		"route add 10.8.0.0/16 via 10.9.9.9 dev eno1 onlink metric 50 table 13 proto 201",
		"route add unreachable 2001:db8:98::/48 table 14 proto 201",
		"route add 192.168.31.0/24 dev p${q} scope link src 192.168.30.2 metric 10 table 14 proto 201",
	)
	tables := tablesOf(snap)
	want := policyRouting(t, applied, tables)
	if len(want) < 10 {
		t.Fatalf("nictab applied only %d rules and routes:\n%v", len(want), want)
	}

	t.Run("whole units", func(t *testing.T) {
		files, err := Networkd(snap, NetworkdOptions{Whole: true, Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		networkdReproduces(t, applied, nics, tables, want, files)
	})
	// A host whose own units address the NICs; the default export's
	// drop-ins extend them.
	t.Run("drop-ins", func(t *testing.T) {
		files, err := Networkd(snap, NetworkdOptions{Version: "test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range nics {
			unit := "[Match]\nName=" + n.name + "\n\n[Network]\n"
			for _, a := range n.addrs {
				unit += "Address=" + a + "\n"
			}
			files = append(files, File{Path: "network/40-" + n.name + ".network", Data: []byte(unit)})
		}
		networkdReproduces(t, applied, nics, tables, want, files)
	})
}

// networkdReproduces runs systemd-networkd on files in a fresh namespace
// with the NICs, unaddressed, and checks that it reaches what nictab
// applied in applied: the same addresses and rules and routes, and keeps
// them.
func networkdReproduces(t *testing.T, applied *nstest.NS, nics []runNIC, tables, want []string, files []File) {
	t.Helper()
	for _, f := range files {
		checkUnitFile(t, f)
	}
	fresh := nstest.New(t)
	addNICs(t, fresh, nics, false)
	start := time.Now()
	stop := runNetworkd(t, fresh, files)
	var got []string
	ok := false
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		got = policyRouting(t, fresh, tables)
		if slices.Equal(got, want) && addressesAsApplied(t, applied, fresh, nics) {
			ok = true
			break
		}
	}
	took := time.Since(start)
	// networkd must keep it: nothing it does later may take it away.
	time.Sleep(time.Second)
	after := policyRouting(t, fresh, tables)
	log := stop()
	if !ok {
		t.Fatalf("systemd-networkd did not reach nictab's rules and routes in 30 s (- nictab only, + networkd only):\n%s\naddresses: %s\nnetworkd's log:\n%s", lineDiff(want, got), addrReport(t, applied, fresh, nics), log)
	}
	if !slices.Equal(after, want) {
		t.Errorf("a second later, networkd's state changed:\n%s", lineDiff(want, after))
	}
	t.Logf("nictab applied, and networkd reproduced:\n%s", strings.Join(want, "\n"))
	t.Logf("systemd-networkd configured %d rules and routes and %d NICs' addresses from the export in %v", len(want), len(nics), took.Round(time.Millisecond))
}

func addressesAsApplied(t *testing.T, a, b *nstest.NS, nics []runNIC) bool {
	t.Helper()
	for _, n := range nics {
		if !slices.Equal(addresses(t, a, n.name), addresses(t, b, n.name)) {
			return false
		}
	}
	return true
}

func addrReport(t *testing.T, a, b *nstest.NS, nics []runNIC) string {
	var s string
	for _, n := range nics {
		s += fmt.Sprintf("%s: nictab's %v, networkd's %v; ", n.name, addresses(t, a, n.name), addresses(t, b, n.name))
	}
	return s
}

// TestNetworkdDynamicNIC: a NIC whose address came from DHCP, and one
// whose address came from router advertisements (SLAAC). Their units ask
// for DHCP and IPv6AcceptRA, not a fixed address. Applied by networkd in
// a namespace whose NIC's peer is in another, where a second networkd
// serves DHCP or sends advertisements handing out the address nictab saw,
// the NIC gets its
// address back and the policy routing equals nictab's, the routes that use
// the address as their source included.
func TestNetworkdDynamicNIC(t *testing.T) {
	// Mostly waiting for networkd, DAD or a late address: beside the others.
	t.Parallel()
	for _, c := range []struct {
		name, addr, gw, mac, setting, server string
	}{
		{"DHCP", "192.168.50.23/24", "192.168.50.1", "02:00:00:00:50:23", "DHCP=ipv4",
			"[Network]\nAddress=192.168.50.1/24\nDHCPServer=yes\n\n[DHCPServer]\nPoolOffset=23\nPoolSize=1\n"},
		// The address SLAAC makes from the MAC (EUI-64).
		{"SLAAC", "2001:db8:60::ff:fe00:6005/64", "2001:db8:60::1", "02:00:00:00:60:05", "IPv6AcceptRA=yes",
			"[Network]\nAddress=2001:db8:60::1/64\nIPv6SendRA=yes\n\n[IPv6Prefix]\nPrefix=2001:db8:60::/64\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := netcfg.Intent{NICs: []netcfg.NICIntent{{Name: "wlan0", Table: netcfg.TableRef{ID: 50}, Gateways: []netip.Addr{netip.MustParseAddr(c.gw)}}}}
			applied := nstest.New(t)
			applied.IP("link", "add", "wlan0", "address", c.mac, "type", "veth", "peer", "name", "peera")
			applied.IP("link", "set", "peera", "up")
			applied.IP("link", "set", "wlan0", "up")
			// A lifetime makes it what DHCP or SLAAC leaves: not permanent.
			applied.IP("addr", "add", c.addr, "dev", "wlan0", "valid_lft", "3600", "preferred_lft", "3600", "nodad")
			snap := applyAsNictab(t, applied, in, true)
			if a, _ := snap.Meta.AddressingFor("wlan0"); len(a.Dynamic) != 1 || len(a.Static) != 0 {
				t.Fatalf("recorded addressing %+v, want one dynamic address", a)
			}
			tables := tablesOf(snap)
			want := policyRouting(t, applied, tables)

			files, err := Networkd(snap, NetworkdOptions{Whole: true, Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			if unit := string(files[1].Data); !strings.Contains(unit, "\n"+c.setting+"\n") || strings.Contains(unit, "\nAddress=") {
				t.Fatalf("the unit does not ask for %s only:\n%s", c.setting, unit)
			}
			// The test's server, a networkd of its own on the peer in a
			// namespace of its own (an IPv6 gateway may not be a local
			// address); not part of the export.
			fresh, server := nstest.New(t), nstest.New(t)
			fresh.IP("link", "add", "wlan0", "address", c.mac, "type", "veth", "peer", "name", "peera", "netns", server.Name)
			server.IP("link", "set", "peera", "up")
			fresh.IP("link", "set", "wlan0", "up")
			runNetworkd(t, server, []File{{Path: "network/10-server.network", Data: []byte("[Match]\nName=peera\n\n" + c.server)}})
			start := time.Now()
			stop := runNetworkd(t, fresh, files)
			var got, addrs []string
			ok := false
			for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
				got, addrs = policyRouting(t, fresh, tables), addresses(t, fresh, "wlan0")
				if slices.Equal(got, want) && slices.Equal(addrs, []string{c.addr}) {
					ok = true
					break
				}
			}
			took := time.Since(start)
			log := stop()
			if !ok {
				t.Fatalf("networkd did not get wlan0 its address and nictab's routing in 30 s: wlan0 has %v\n%s\nnetworkd's log:\n%s", addrs, lineDiff(want, got), log)
			}
			t.Logf("wlan0 got %s by %s and networkd installed %d rules and routes in %v", c.addr, c.name, len(want), took.Round(time.Millisecond))
		})
	}
}
