package export

import (
	"path"
	"strings"

	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots/format"
)

// File is one file of an export that spans several, its path relative to
// the directory the files go in.
type File struct {
	Path string
	Data []byte
}

// NetworkdOptions shapes the systemd-networkd export.
type NetworkdOptions struct {
	Units UnitNames
	// Whole writes whole units, network/UNIT.network, the same units the
	// NixOS networkd flavour defines (with the addressing in mode
	// UnitsOwn); otherwise drop-ins extend the units the host has, which
	// keep their addressing.
	Whole   bool
	Version string
}

// NetworkdConfPath is where, under /etc/systemd, the export's global
// networkd settings go: a file of its own, so that it and the drop-in of
// `nictab persist` (NetworkdDropInPath) never overwrite or remove each
// other.
const NetworkdConfPath = "networkd.conf.d/nictab-export.conf"

// Networkd turns a saved snapshot into systemd-networkd drop-ins for
// any host networkd manages: one per NIC, extending the unit that already
// configures it, and one networkd.conf drop-in. Paths are relative to
// /etc/systemd.
func Networkd(s *format.Snapshot, o NetworkdOptions) ([]File, error) {
	if err := checkExportable(s); err != nil {
		return nil, err
	}
	if err := checkAttrsCarried(s, "systemd-networkd"); err != nil {
		return nil, err
	}
	names := sortedNames(s)
	if err := checkTableNames(names, true); err != nil {
		return nil, err
	}
	u := o.Units
	if !o.Whole && u.Mode == UnitsOwn {
		// A drop-in extends the host's unit, named as the host names it.
		u.Mode = UnitsMerge
	}
	units, err := buildUnits(s, u, false, false)
	if err != nil {
		return nil, err
	}
	var files []File

	var b strings.Builder
	unitComment(&b, header(s, "systemd-networkd settings", o.Version))
	unitComment(&b, []string{""})
	unitComment(&b, wrapComment("networkd deletes routing policy rules it did not create whenever it configures a link, unless ManageForeignRoutingPolicyRules is off. This turns it off, so rules nictab or anyone else adds live survive the next link change. networkd installs the rules and routes of the units with its own protocol (static), so nictab shows them as not its own."))
	b.WriteString("[Network]\nManageForeignRoutingPolicyRules=no\n")
	if len(names) > 0 {
		parts := make([]string, 0, len(names))
		for _, t := range names {
			parts = append(parts, t.Name+":"+nixInt(t.ID))
		}
		b.WriteString("RouteTable=" + strings.Join(parts, " ") + "\n")
	}
	files = append(files, File{Path: NetworkdConfPath, Data: []byte(b.String())})

	for i := range units {
		un := &units[i]
		var b strings.Builder
		if o.Whole {
			unitComment(&b, header(s, "systemd-networkd unit for "+nixComment(un.NIC)+",", o.Version))
			unitComment(&b, []string{""})
			unitComment(&b, wrapComment(unitsHeader(u, false)))
			writeUnitText(&b, un)
			files = append(files, File{Path: path.Join("network", un.Name+".network"), Data: []byte(b.String())})
			continue
		}
		unitComment(&b, header(s, "Drop-in for the unit of "+nixComment(un.NIC)+",", o.Version))
		unitComment(&b, []string{""})
		unitComment(&b, wrapComment("It extends "+nixComment(un.Name)+".network, which must be the unit that configures "+nixComment(un.NIC)+" (networkctl status "+nixComment(un.NIC)+` shows it as "Network File"); a drop-in for a unit that does not exist does nothing. Export again with --unit-prefix or --unit NIC=UNIT for other names, or with --whole-units for units of nictab's own that carry the NIC's addressing.`))
		writeEntries(&b, un)
		files = append(files, File{Path: path.Join("network", un.Name+".network.d", "nictab.conf"), Data: []byte(b.String())})
	}
	return files, nil
}

// writeUnitText writes a whole .network unit: [Match] by the NIC's real
// name, [Network] with the addressing it carries, then the sections.
func writeUnitText(b *strings.Builder, u *ndUnit) {
	b.WriteString("\n[Match]\nName=" + u.NIC + "\n")
	if u.Addr != nil {
		n := addrNetwork(u.Addr)
		b.WriteString("\n# Addressing of " + nixComment(u.NIC) + " as nictab saw it: " + addrDescribe(u.Addr) + ".\n")
		b.WriteString("[Network]\n")
		for _, a := range n.Address {
			b.WriteString("Address=" + a + "\n")
		}
		if n.DHCP != "" {
			b.WriteString("DHCP=" + n.DHCP + "\n")
		}
		if n.AcceptRA {
			b.WriteString("IPv6AcceptRA=yes\n")
		}
	}
	writeEntries(b, u)
}

func writeEntries(b *strings.Builder, u *ndUnit) {
	for _, list := range []struct {
		section string
		entries []ndEntry
	}{{"RoutingPolicyRule", u.Rules}, {"Route", u.Routes}} {
		for _, e := range list.entries {
			b.WriteString("\n")
			if e.Loose {
				b.WriteString("# Tied to no NIC; this unit carries it (--rules-nic picks another).\n")
			}
			unitSection(b, list.section, e.Fields)
		}
	}
}

func unitComment(b *strings.Builder, lines []string) {
	for _, l := range lines {
		if l == "" {
			b.WriteString("#\n")
			continue
		}
		b.WriteString("# " + l + "\n")
	}
}

// unitSection writes one section. Values were checked to hold no control
// character, so none can start a line of its own.
func unitSection(b *strings.Builder, name string, fs []ndField) {
	b.WriteString("[" + name + "]\n")
	for _, f := range fs {
		b.WriteString(f.Key + "=" + f.unitText() + "\n")
	}
}

// unitText is the value as a unit file says it.
func (f ndField) unitText() string {
	if f.Kind == ndBool {
		if f.Text == "true" {
			return "yes"
		}
		return "no"
	}
	return f.Text
}

// JoinFiles shows a multi-file export as one text, each file under a line
// that names its path, for stdout.
func JoinFiles(files []File) string {
	var b strings.Builder
	for i, f := range files {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString("# ==> " + netcfg.SafeText(f.Path) + " <==\n")
		b.Write(f.Data)
	}
	return b.String()
}
