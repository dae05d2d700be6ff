package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	nictabapp "github.com/nictab/nictab/internal/app"
	"github.com/nictab/nictab/internal/timeline"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/snapshots"
	"github.com/nictab/nictab/snapshots/format"
	"github.com/nictab/nictab/ui"
)

func init() {
	register(func(a *app) *cobra.Command { return a.snapshotCmd() })
	register(func(a *app) *cobra.Command { return a.rollbackCmd() })
	register(func(a *app) *cobra.Command { return a.recoverCmd() })
}

func (a *app) snapshotCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "snapshot",
		Short: "List, show, compare, save and prune snapshots",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	c.AddCommand(a.snapSaveCmd(), a.snapListCmd(), a.snapShowCmd(), a.snapDiffCmd(), a.snapPruneCmd())
	return c
}

// snapRef turns a lookup failure into bad input (exit 2).
func snapRef(s *format.Snapshot, err error) (*format.Snapshot, error) {
	if errors.Is(err, snapshots.ErrNoSnapshot) {
		return nil, usageError{err}
	}
	if err != nil {
		// Several matches, or a damaged file: the person must say more.
		return nil, usageError{err}
	}
	return s, nil
}

func (a *app) snapSaveCmd() *cobra.Command {
	var (
		msg   string
		adopt bool
		yes   bool
	)
	c := &cobra.Command{
		Use:   "save [-m MSG] [--adopt]",
		Short: "Record what nictab owns now as a snapshot, changing nothing",
		Long: `Record what nictab owns now as a snapshot, changing nothing.

With --adopt, rules and routes that were configured by hand (the
"ip rule add from … table 13" lines of an old script, and the routes of
the tables they use) are first taken into nictab's ownership, so that later
plans may manage them. Where packets go does not change: each route is
replaced in place by the same route with nictab's protocol, each rule gets a
twin before the original goes. The adoption is shown first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			if !adopt {
				snap, err := e.SaveCurrent(msg)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.out, "Snapshot %s saved: %s\n", snap.Meta.ID, netcfg.SafeText(snapshots.Summary(snap)))
				return nil
			}
			if err := requireAdmin(); err != nil {
				return err
			}
			p, err := e.ProposeAdoption(msg)
			if err != nil {
				return err
			}
			if p.Plan.Empty() {
				// Rules and routes of nictab's protocol that no record
				// names need no change in the kernel, only a record.
				snap, n, err := e.AdoptUnrecorded(msg)
				if err != nil {
					return err
				}
				if n == 0 {
					fmt.Fprintln(a.out, "Nothing to adopt: every rule and route besides the kernel's is nictab's already.")
					return nil
				}
				fmt.Fprintf(a.out, "Adopted %d rules and routes of protocol nictab that were not in the history. Snapshot %s saved: %s\n", n, snap.Meta.ID, netcfg.SafeText(snapshots.Summary(snap)))
				return nil
			}
			return a.runApply(cmd, e, p, applyFlags{yes: yes, message: msg})
		},
	}
	c.Flags().StringVarP(&msg, "message", "m", "", "comment for the snapshot")
	c.Flags().BoolVar(&adopt, "adopt", false, "take rules and routes configured by hand into nictab's ownership first")
	c.Flags().BoolVarP(&yes, "yes", "y", false, `answer "adopt?" with yes`)
	return c
}

func (a *app) snapListCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [--json]",
		Short: "The snapshot history, newest first; damaged files are named and skipped",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			a.noticeWindow(e, "snapshot list")
			rows, err := nictabapp.HistoryRows(e.Store())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			_, err = fmt.Fprint(a.out, ui.RenderHistory(rows, time.Local, a.styles()))
			return err
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return c
}

func (a *app) snapShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Print a snapshot file (an id prefix that is unique will do)",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			en, err := e.Store().Find(args[0])
			if err != nil {
				return usageError{err}
			}
			if en.Err != nil {
				return usageError{fmt.Errorf("snapshot %s is damaged: %w", en.ID, en.Err)}
			}
			b, err := e.Store().Raw(en)
			if err != nil {
				return err
			}
			_, err = a.out.Write(b)
			return err
		},
	}
}

func (a *app) snapDiffCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "diff A [B|live]",
		Short: "What changes from snapshot A to snapshot B (default: to the live state)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(_ *cobra.Command, args []string) error {
			e, err := a.engine()
			if err != nil {
				return err
			}
			from, err := snapRef(e.Store().Get(args[0]))
			if err != nil {
				return err
			}
			var to netcfg.Owned
			label := "live"
			if len(args) == 2 && args[1] != "live" {
				s, err := snapRef(e.Store().Get(args[1]))
				if err != nil {
					return err
				}
				to, label = *s.Resolved, s.Meta.ID
			} else {
				live, err := e.Live()
				if err != nil {
					return err
				}
				to = netcfg.OwnedAsDesired(live).Owned
			}
			p := netcfg.Diff(*from.Resolved, to)
			names := netcfg.Names{Tables: append(append([]netcfg.TableName{}, from.Resolved.Names...), to.Names...)}
			fmt.Fprintf(a.out, "From %s to %s:\n", from.Meta.ID, label)
			if p.Empty() {
				fmt.Fprintln(a.out, "No differences.")
				return nil
			}
			return ui.WritePlanText(a.out, &p, &names, "", "", false, a.styles())
		},
	}
}

func (a *app) snapPruneCmd() *cobra.Command {
	var (
		keep int
		yes  bool
	)
	c := &cobra.Command{
		Use:   "prune --keep N [--yes]",
		Short: "Delete all but the newest N snapshots (never the live one), after asking",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("keep") {
				return usagef("say how many to keep: --keep N")
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			ids, err := e.Store().Prunable(keep)
			if err != nil {
				return usageError{err}
			}
			if len(ids) == 0 {
				fmt.Fprintf(a.out, "Nothing to remove: the history holds %d snapshots or fewer.\n", keep)
				return nil
			}
			if !yes {
				if !isTerminal(a.stdin) {
					return usagef("prune would remove %d snapshots (%s); not asking on a non-terminal: pass --yes (nothing was removed)", len(ids), strings.Join(ids, ", "))
				}
				fmt.Fprintf(a.out, "These %d snapshots would be removed for good:\n  %s\n", len(ids), strings.Join(ids, "\n  "))
				if !a.ask("Remove them? [y/N] ") {
					fmt.Fprintln(a.out, "Nothing was removed.")
					return nil
				}
			}
			removed, err := e.Store().Remove(ids)
			if err != nil {
				return fmt.Errorf("%w (removed before it: %d)", err, len(removed))
			}
			fmt.Fprintf(a.out, "Removed %d snapshots.\n", len(removed))
			return nil
		},
	}
	c.Flags().IntVar(&keep, "keep", 0, "how many of the newest snapshots to keep")
	c.Flags().BoolVarP(&yes, "yes", "y", false, "remove without asking")
	return c
}

func (a *app) rollbackCmd() *cobra.Command {
	var (
		steps int
		f     applyFlags
	)
	c := &cobra.Command{
		Use:   "rollback [ID | --steps N]",
		Short: "Return to an earlier snapshot's rules, routes and names (default: the one before the newest)",
		Long: `Return to an earlier snapshot exactly: the plan from the live state back to
the rules, routes and table names it recorded is shown first, then applied
like any change (all-or-nothing, with a confirm window over SSH), and saved
as a new snapshot. History only grows: the snapshots after the target stay.
Rules and routes nictab does not own are never touched.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 && cmd.Flags().Changed("steps") {
				return usagef("give an ID or --steps, not both")
			}
			if err := requireAdmin(); err != nil {
				return err
			}
			e, err := a.changeEngine()
			if err != nil {
				return err
			}
			startGuard(e)
			var target *format.Snapshot
			if len(args) == 1 {
				target, err = snapRef(e.Store().Get(args[0]))
			} else {
				target, err = snapRef(e.Store().Back(steps))
			}
			if err != nil {
				return err
			}
			routes := 0
			if target.Resolved != nil {
				routes = len(target.Resolved.Routes)
			}
			defer holdCollector("", routes, e.Store().NewestRoutes()).release()
			what := netcfg.SafeText(snapshots.Summary(target))
			if target.Meta.Kind == format.KindBaseline {
				what = "the state " + snapshots.BaselineComment + ": every rule and route nictab owns goes, nothing else is touched"
			}
			fmt.Fprintf(a.out, "Rolling back to %s (%s): %s\n\n", target.Meta.ID, target.Meta.Time.Local().Format("2006-01-02 15:04:05"), what)
			timeline.Mark("snapshot read")
			p, err := e.ProposeRollback(target)
			if err != nil {
				return err
			}
			timeline.Mark("plan made")
			if f.message != "" {
				p.Comment = f.message
			}
			f.rollbackTo = target.Meta.ID
			return a.runApply(cmd, e, p, f)
		},
	}
	c.Flags().IntVar(&steps, "steps", 1, "go back N snapshots from the newest")
	f.add(c)
	return a.withJSON(c, &f.asJSON)
}

func (a *app) recoverCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "recover",
		Short: "Finish or undo an apply that was interrupted",
		Long: `Finish or undo an apply that was interrupted by a crash, a power cut or
SIGKILL: an apply cut short part-way is undone; one that had finished and
verified is kept and recorded; an unconfirmed change whose confirm window
lost its watchdog is reverted. The host ends in the state before or after,
never between. Every command that changes something does this first.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := requireAdmin(); err != nil {
				return err
			}
			e, err := a.engine()
			if err != nil {
				return err
			}
			a.noticeWindow(e, "recover")
			what, err := e.Recover()
			if err != nil {
				return err
			}
			if asJSON {
				return a.recoverJSON(what)
			}
			if what == "" {
				what = "nothing to recover: no apply was interrupted"
			}
			fmt.Fprintln(a.out, what)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the outcome as one JSON document (see the README's Headless use)")
	return a.withJSON(c, &asJSON)
}
