package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/nictab/nictab/internal/atomicfile"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
)

func init() {
	register(func(a *app) *cobra.Command { return a.persistCmd() })
	register(func(a *app) *cobra.Command { return a.restoreCmd() })
}

// persistPaths are where persist writes; flags move them for tests.
type persistPaths struct {
	unitDir    string // /etc/systemd/system
	systemdDir string // /etc/systemd
	systemctl  bool
}

func (a *app) persistCmd() *cobra.Command {
	pp := persistPaths{}
	var fixNetworkd bool
	c := &cobra.Command{
		Use:   "persist enable|disable|status",
		Short: "Re-apply the newest snapshot at boot (hosts that are not NixOS)",
		Long: `Routes and rules made through netlink are gone after a reboot. persist
enable installs the systemd unit ` + snapshots.UnitName + `, which re-applies the
newest snapshot at boot once the NICs it names are up, with no confirm
window, and logs what it did to the journal. On NixOS use
` + "`nictab export nix`" + ` instead.

systemd-networkd deletes routing policy rules it did not create when it
configures a link, unless ManageForeignRoutingPolicyRules=no; persist
says so, and --fix-networkd installs the drop-in that turns it off.`,
		ValidArgs: []string{"enable", "disable", "status"},
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		RunE: func(_ *cobra.Command, args []string) error {
			if a.netns != "" {
				return usagef("persist is for the host: a network namespace does not survive a reboot")
			}
			switch args[0] {
			case "enable":
				return a.persistEnable(pp, fixNetworkd)
			case "disable":
				return a.persistDisable(pp)
			}
			return a.persistStatus(pp)
		},
	}
	c.Flags().BoolVar(&fixNetworkd, "fix-networkd", false, "install "+snapshots.NetworkdDropInPath+" so systemd-networkd leaves nictab's rules alone")
	c.Flags().StringVar(&pp.unitDir, "unit-dir", "/etc/systemd/system", "where the unit goes")
	c.Flags().StringVar(&pp.systemdDir, "systemd-dir", "/etc/systemd", "systemd's configuration directory")
	c.Flags().BoolVar(&pp.systemctl, "systemctl", true, "run systemctl daemon-reload and enable/disable")
	_ = c.Flags().MarkHidden("unit-dir")
	_ = c.Flags().MarkHidden("systemd-dir")
	_ = c.Flags().MarkHidden("systemctl")
	return c
}

func (a *app) persistEnable(pp persistPaths, fixNetworkd bool) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	unit := filepath.Join(pp.unitDir, snapshots.UnitName)
	if err := os.MkdirAll(pp.unitDir, 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(unit, []byte(snapshots.UnitText(exe, a.stateRoot())), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "Installed %s: at boot it re-applies the newest snapshot in %s.\n", unit, a.stateRoot())
	if pp.systemctl {
		for _, args := range [][]string{{"daemon-reload"}, {"enable", snapshots.UnitName}} {
			if out, err := exec.Command("systemctl", args...).CombinedOutput(); err != nil {
				return fmt.Errorf("systemctl %v: %v: %s", args, err, out)
			}
		}
	}
	return a.networkdCheck(pp, fixNetworkd)
}

func (a *app) persistDisable(pp persistPaths) error {
	unit := filepath.Join(pp.unitDir, snapshots.UnitName)
	if pp.systemctl {
		if out, err := exec.Command("systemctl", "disable", snapshots.UnitName).CombinedOutput(); err != nil {
			return fmt.Errorf("systemctl disable: %v: %s", err, out)
		}
	}
	if err := os.Remove(unit); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	fmt.Fprintf(a.out, "Removed %s: nothing is re-applied at boot.\n", unit)
	return nil
}

func (a *app) persistStatus(pp persistPaths) error {
	unit := filepath.Join(pp.unitDir, snapshots.UnitName)
	if _, err := os.Stat(unit); err == nil {
		fmt.Fprintf(a.out, "enabled: %s re-applies the newest snapshot at boot\n", unit)
	} else {
		fmt.Fprintln(a.out, "disabled: nothing is re-applied at boot (nictab persist enable)")
	}
	if e, err := a.engine(); err == nil {
		if s, err := e.Store().Latest(); err == nil && s != nil {
			fmt.Fprintf(a.out, "newest snapshot: %s (%s)\n", s.Meta.ID, netcfg.SafeText(snapshots.Summary(s)))
		}
	}
	return a.networkdCheck(pp, false)
}

// networkdCheck warns when systemd-networkd would delete nictab's rules,
// and installs the drop-in that stops it when asked.
func (a *app) networkdCheck(pp persistPaths, fix bool) error {
	manage, from, err := snapshots.NetworkdForeignRules(pp.systemdDir)
	if err != nil {
		return err
	}
	if !manage {
		fmt.Fprintf(a.out, "systemd-networkd leaves foreign rules alone (%s).\n", from)
		return nil
	}
	if !fix {
		fmt.Fprintf(a.errOut, "warning: if systemd-networkd runs here it deletes rules it did not create, nictab's included, whenever it configures a link (ManageForeignRoutingPolicyRules is on). `nictab persist enable --fix-networkd` installs %s, which turns that off.\n", filepath.Join(pp.systemdDir, snapshots.NetworkdDropInPath))
		return nil
	}
	p := filepath.Join(pp.systemdDir, snapshots.NetworkdDropInPath)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(p, []byte(snapshots.NetworkdDropIn), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.out, "Installed %s; it takes effect when systemd-networkd restarts.\n", p)
	return nil
}

func (a *app) restoreCmd() *cobra.Command {
	var wait time.Duration
	c := &cobra.Command{
		Use:   "restore [--wait DURATION]",
		Short: "Re-apply the newest snapshot (what the boot unit runs)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := requireAdmin(); err != nil {
				return err
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			what, err := e.Restore(wait)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.out, what)
			return nil
		},
	}
	c.Flags().DurationVar(&wait, "wait", 0, "wait this long for the NICs the snapshot needs to be up")
	return c
}
