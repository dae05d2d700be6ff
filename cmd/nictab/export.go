package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/export"
	"github.com/nictab/nictab/snapshots/format"
)

func init() {
	register(func(a *app) *cobra.Command { return a.exportCmd() })
}

func (a *app) exportCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "export",
		Short: "Write a snapshot as NixOS, systemd-networkd or ip configuration",
		Long: `Write a snapshot as configuration that brings its rules, routes and table
names back at every boot, without nictab: a NixOS module, systemd-networkd
drop-ins, or a shell script of ip commands.

The snapshot is the one given by id (a unique prefix will do), the file of
-f, or else the newest of the history. Nothing on the host changes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	c.AddCommand(a.exportNixCmd(), a.exportNetworkdCmd(), a.exportIPCmd())
	return c
}

// exportSource is how an export command names its snapshot.
type exportSource struct {
	file string
	out  string
}

func (s *exportSource) flags(c *cobra.Command, outHelp string) {
	c.Flags().StringVarP(&s.file, "file", "f", "", "export this snapshot file instead of one of the history")
	c.Flags().StringVarP(&s.out, "output", "o", "", outHelp)
}

// loadForExport returns the snapshot an export command was given. Every failure is
// bad input (exit 2): an unknown id, a damaged file, no history at all.
func (a *app) loadForExport(src *exportSource, args []string) (*format.Snapshot, error) {
	if src.file != "" && len(args) > 0 {
		return nil, usagef("give a snapshot id or -f FILE, not both")
	}
	if src.file != "" {
		s, err := format.Load(src.file)
		if err != nil {
			return nil, usageError{err}
		}
		return s, nil
	}
	dir := a.stateRoot()
	// Looking a snapshot up must not create the state directory, as
	// opening the store would.
	if _, err := os.Stat(filepath.Join(dir, "snapshots")); errors.Is(err, fs.ErrNotExist) {
		return nil, usagef("there is no snapshot history in %s: give -f FILE (or --state-dir)", dir)
	} else if err != nil {
		return nil, fmt.Errorf("snapshot history: %w", err)
	}
	st, err := snapshots.OpenStore(dir, nil)
	if err != nil {
		return nil, err
	}
	if len(args) > 0 {
		s, err := st.Get(args[0])
		if err != nil {
			return nil, usageError{err}
		}
		return s, nil
	}
	s, err := st.Latest()
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, usagef("the history in %s holds no readable snapshot: give -f FILE", dir)
	}
	return s, nil
}

// exportErr makes a refusal of the exporter bad input: the snapshot holds
// something the format cannot say.
func exportErr(err error) error {
	var ee *export.Error
	if errors.As(err, &ee) {
		return usageError{err}
	}
	return err
}

// writeExport writes data to the -o file atomically, or to stdout.
func (a *app) writeExport(out string, data []byte, perm os.FileMode) error {
	if out == "" || out == "-" {
		_, err := a.out.Write(data)
		return err
	}
	if err := writeOutFile(out, data, perm); err != nil {
		return err
	}
	fmt.Fprintf(a.errOut, "nictab: wrote %s\n", out)
	return nil
}

// unitFlags are the networkd unit options the nix and networkd exports
// share.
type unitFlags struct {
	prefix    string
	units     map[string]string
	rulesNIC  string
	rulesOnly bool
	c         *cobra.Command
}

func (u *unitFlags) flags(c *cobra.Command) {
	u.c = c
	c.Flags().StringVar(&u.prefix, "unit-prefix", export.DefaultUnitPrefix, "merge rules and routes into the host's networkd units, named this prefix and the NIC's name (their addressing stays the host's)")
	c.Flags().StringToStringVar(&u.units, "unit", nil, "merge one NIC's rules and routes into the host's unit UNIT: NIC=UNIT (repeatable)")
	c.Flags().StringVar(&u.rulesNIC, "rules-nic", "", "the NIC whose unit carries rules and routes tied to no NIC")
	c.Flags().BoolVar(&u.rulesOnly, "rules-routes-only", false, "write rules and routes only, no addressing: the host's configuration gives the NICs their addresses on units of the same names")
}

// names says how units are named and what they carry: without
// --unit-prefix, units of nictab's own that carry the NICs' addressing.
func (u *unitFlags) names() export.UnitNames {
	n := export.UnitNames{Prefix: u.prefix, Units: u.units, RulesNIC: u.rulesNIC}
	switch {
	case u.rulesOnly:
		n.Mode = export.UnitsRulesOnly
	case u.c != nil && u.c.Flags().Changed("unit-prefix"):
		n.Mode = export.UnitsMerge
	}
	return n
}

func (a *app) exportNixCmd() *cobra.Command {
	var (
		src    exportSource
		units  unitFlags
		flavor string
		nixos  string
	)
	c := &cobra.Command{
		Use:   "nix [ID | -f FILE] [--flavor networkd|scripted] [--nixos 24.05|24.11|…] [-o FILE]",
		Short: "Write a snapshot as a NixOS module to import in configuration.nix",
		Long: `Write a snapshot as one NixOS module. On NixOS, /etc/iproute2 is in the
read-only Nix store and a change made live is gone at the next rebuild or
boot; imported into configuration.nix, the module makes it part of the
system.

--flavor networkd (the default when the snapshot was taken where
systemd-networkd managed the links, and the better choice on NixOS) writes
systemd.network options: routeTables, and per NIC a unit "40-NIC" (the
name NixOS gives it under networking.useNetworkd, with characters a Nix
store path cannot hold replaced) with the NIC's routingPolicyRules and
routes, and its addressing as nictab saw it (addresses, DHCP, router
advertisements) with lib.mkDefault, so the NIC keeps its address whether
or not the configuration has a unit for it. It enables networkd with
lib.mkDefault. networkd applies only the first unit, by name, that matches
a NIC: to merge into units the configuration names otherwise, use
--unit-prefix, or --unit NIC=UNIT for one NIC (networkctl status NIC shows
the unit's file); those carry no addressing. --rules-routes-only leaves
the addressing out for a configuration that owns it.

--flavor scripted writes a systemd service, nictab-policy-routing, ordered
after the NICs' address units, that waits (60 s at most) for the addresses
its routes use, then installs routes and rules idempotently; it deletes
nothing when stopped. The table names go in rttablesExtraConfig.

--nixos picks the layout of the networkd sections: flat from 24.11, wrapped
in routingPolicyRuleConfig/routeConfig up to 24.05. The default is the
newest.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := export.NixOptions{Flavor: export.Flavor(flavor), Units: units.names(), Version: nictabVersion()}
			if nixos != "" {
				r, err := export.ParseNixOSRelease(nixos)
				if err != nil {
					return usageError{err}
				}
				o.NixOS = r
			}
			if _, err := export.PickFlavor(nil, o.Flavor); err != nil {
				return usageError{err}
			}
			s, err := a.loadForExport(&src, args)
			if err != nil {
				return err
			}
			if flavor == "" {
				if f, _ := export.PickFlavor(s, ""); f == export.FlavorScripted {
					fmt.Fprintln(a.errOut, "nictab: the snapshot was not taken under systemd-networkd, so this is the scripted flavour; with networking.useNetworkd, --flavor networkd is better (networkd has options for rules and keeps them across link changes)")
				}
			}
			text, err := export.Nix(s, o)
			if err != nil {
				return exportErr(err)
			}
			return a.writeExport(src.out, []byte(text), 0o644)
		},
	}
	src.flags(c, "write the module to FILE (atomically) instead of stdout")
	units.flags(c)
	c.Flags().StringVar(&flavor, "flavor", "", "networkd or scripted (default: networkd if the snapshot's host ran it, else scripted)")
	c.Flags().StringVar(&nixos, "nixos", "", "NixOS release the module is for, YY.MM (default: the newest layout)")
	return c
}

func (a *app) exportNetworkdCmd() *cobra.Command {
	var (
		src   exportSource
		units unitFlags
		whole bool
	)
	c := &cobra.Command{
		Use:   "networkd [ID | -f FILE] [--whole-units] [-o DIR|FILE]",
		Short: "Write a snapshot as systemd-networkd drop-ins",
		Long: `Write a snapshot as systemd-networkd drop-ins for any host networkd manages:
per NIC, network/UNIT.network.d/nictab.conf with [RoutingPolicyRule] and
[Route] sections, extending the unit that configures the NIC; and
networkd.conf.d/nictab-export.conf, which names the tables and keeps
networkd from deleting rules it did not make.

With --whole-units, whole units network/40-NIC.network instead, the same
units the NixOS networkd flavour defines: they match the NIC by name and
carry its addressing as nictab saw it (unless --rules-routes-only).
networkd applies only the first unit, by name, that matches a NIC.

With -o DIR (an existing directory, or a path ending in /) the files are
written under DIR: give /etc/systemd, then run networkctl reload. With
-o FILE, or without -o, they are shown one after the other, each under a
line naming its path.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.loadForExport(&src, args)
			if err != nil {
				return err
			}
			files, err := export.Networkd(s, export.NetworkdOptions{Units: units.names(), Whole: whole, Version: nictabVersion()})
			if err != nil {
				return exportErr(err)
			}
			if !isDirTarget(src.out) {
				return a.writeExport(src.out, []byte(export.JoinFiles(files)), 0o644)
			}
			for _, f := range files {
				p := filepath.Join(src.out, filepath.FromSlash(f.Path))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					return fmt.Errorf("create %s: %w", filepath.Dir(p), err)
				}
				if err := writeOutFile(p, f.Data, 0o644); err != nil {
					return err
				}
				fmt.Fprintf(a.errOut, "nictab: wrote %s\n", p)
			}
			return nil
		},
	}
	src.flags(c, "write the files under DIR, or all of them into FILE")
	units.flags(c)
	c.Flags().BoolVar(&whole, "whole-units", false, "write whole .network units that carry the NICs' addressing, not drop-ins for the host's units")
	return c
}

// isDirTarget reports whether -o names a directory to write files into.
func isDirTarget(out string) bool {
	if out == "" || out == "-" {
		return false
	}
	if strings.HasSuffix(out, "/") {
		return true
	}
	fi, err := os.Stat(out)
	return err == nil && fi.IsDir()
}

func (a *app) exportIPCmd() *cobra.Command {
	var src exportSource
	c := &cobra.Command{
		Use:   "ip [ID | -f FILE] [-o FILE]",
		Short: "Write a snapshot as an idempotent shell script of ip commands",
		Long: `Write a snapshot as a POSIX shell script of ip commands that recreates its
rules, routes and table names exactly as nictab applied them. Running it
again changes nothing. It only adds: what was added since the snapshot
stays. Table names go to $IPROUTE2_DIR/rt_tables.d/nictab.conf
(/etc/iproute2 unless IPROUTE2_DIR says otherwise).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := a.loadForExport(&src, args)
			if err != nil {
				return err
			}
			text, err := export.IP(s, export.IPOptions{Version: nictabVersion(), Netns: exportNetns(s, a.netns)})
			if err != nil {
				return exportErr(err)
			}
			return a.writeExport(src.out, []byte(text), 0o755)
		},
	}
	src.flags(c, "write the script to FILE (atomically, executable) instead of stdout")
	return c
}
