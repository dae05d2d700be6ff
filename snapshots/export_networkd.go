package snapshots

import (
	"path"
	"strings"

	"github.com/nictab/nictab/netcfg"
)

// File is one file of an export that spans several, its path relative to
// the directory the files go in.
type File struct {
	Path string
	Data []byte
}

// NetworkdOptions shapes the systemd-networkd export.
type NetworkdOptions struct {
	Units   UnitNames
	Version string
}

// ExportNetworkdConfPath is where, under /etc/systemd, the export's global
// networkd settings go: a file of its own, so that it and the drop-in of
// `nictab persist` (NetworkdDropInPath) never overwrite or remove each
// other.
const ExportNetworkdConfPath = "networkd.conf.d/nictab-export.conf"

// ExportNetworkd turns a saved snapshot into systemd-networkd drop-ins for
// any host networkd manages: one per NIC, extending the unit that already
// configures it, and one networkd.conf drop-in. Paths are relative to
// /etc/systemd.
func ExportNetworkd(s *Snapshot, o NetworkdOptions) ([]File, error) {
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
	nics, err := placeAll(s, o.Units)
	if err != nil {
		return nil, err
	}
	var files []File

	var b strings.Builder
	unitComment(&b, header(s, "systemd-networkd settings", o.Version))
	unitComment(&b, []string{""})
	unitComment(&b, wrapComment("networkd deletes routing policy rules it did not create whenever it configures a link, unless ManageForeignRoutingPolicyRules is off. This turns it off, so rules nictab or anyone else adds live survive the next link change. networkd installs the rules and routes of the .network drop-ins with its own protocol (static), so nictab shows them as not its own."))
	b.WriteString("[Network]\nManageForeignRoutingPolicyRules=no\n")
	if len(names) > 0 {
		parts := make([]string, 0, len(names))
		for _, t := range names {
			parts = append(parts, t.Name+":"+nixInt(t.ID))
		}
		b.WriteString("RouteTable=" + strings.Join(parts, " ") + "\n")
	}
	files = append(files, File{Path: ExportNetworkdConfPath, Data: []byte(b.String())})

	for _, c := range nics {
		if err := checkNetworkdIfName("NIC", c.NIC); err != nil {
			return nil, err
		}
		unit := o.Units.Unit(c.NIC)
		if err := checkUnitName(unit, c.NIC); err != nil {
			return nil, err
		}
		var b strings.Builder
		unitComment(&b, header(s, "Drop-in for the unit of "+nixComment(c.NIC)+",", o.Version))
		unitComment(&b, []string{""})
		unitComment(&b, wrapComment("It extends "+nixComment(unit)+".network, which must be the unit that configures "+nixComment(c.NIC)+" (networkctl status "+nixComment(c.NIC)+` shows it as "Network File"); a drop-in for a unit that does not exist does nothing. Export again with --unit-prefix or --unit NIC=UNIT for other names.`))
		for _, r := range c.Rules {
			fs, err := ruleSection(&r.Rule, false)
			if err != nil {
				return nil, err
			}
			b.WriteString("\n")
			if r.Loose {
				b.WriteString("# Tied to no NIC; this unit carries it (--rules-nic picks another).\n")
			}
			unitSection(&b, "RoutingPolicyRule", fs)
		}
		for _, r := range c.Routes {
			fs, err := routeSection(&r.Route)
			if err != nil {
				return nil, err
			}
			b.WriteString("\n")
			if r.Loose {
				b.WriteString("# Tied to no NIC; this unit carries it (--rules-nic picks another).\n")
			}
			unitSection(&b, "Route", fs)
		}
		files = append(files, File{Path: path.Join("network", unit+".network.d", "nictab.conf"), Data: []byte(b.String())})
	}
	return files, nil
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
