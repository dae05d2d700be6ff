package snapshots

import (
	"fmt"
	"net/netip"

	"github.com/nictab/nictab/netcfg"
)

// Guard traces the replies of the SSH connection c now and after the
// proposal, with the lookup simulator. It reads every table a rule can
// reach, main in full: costly on a router with a full Internet table, so it
// is only done over SSH.
func (e *Engine) Guard(p *Proposal, c netcfg.SSHConn) (netcfg.Guard, error) {
	k, err := e.cfg.Open()
	if err != nil {
		return netcfg.Guard{}, err
	}
	defer k.Close()
	opts := netcfg.TraceDetectOptions()
	opts.Tables = append(opts.Tables, p.Plan.Tables...)
	opts.Owned = true
	before, err := netcfg.Detect(k, e.names(), opts)
	if err != nil {
		return netcfg.Guard{}, fmt.Errorf("read the state to trace the SSH connection: %w", err)
	}
	if !c.Server.Addr().IsValid() {
		// Only the client is known (--ssh-client): the session's replies
		// come from the address the host would pick for it now.
		path, err := netcfg.Trace(before, netcfg.Packet{Dst: c.Client.Addr(), IPProto: netcfg.ProtoTCP})
		if err == nil && path.Src.IsValid() {
			c.Server = netip.AddrPortFrom(path.Src, c.Server.Port())
		}
	}
	return netcfg.GuardConn(before, netcfg.ProjectPlan(before, p.Plan), c), nil
}
