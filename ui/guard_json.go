package ui

import (
	"net/netip"

	"github.com/nictab/nictab/internal/sshsession"
	"github.com/nictab/nictab/netcfg"
	"github.com/nictab/nictab/netcfg/lookup"
)

// The guard in the JSON documents of `plan --json` and `apply --json`:
// its data with the wording of GuardMessage, GuardCause, FlowCause,
// ShadowedText and FlowNote beside it, field for field as the README's
// "Headless use" section documents them.

// GuardJSON is the SSH guard's verdict in a JSON document.
type GuardJSON struct {
	Conn       sshsession.Conn    `json:"connection"`
	Status     lookup.GuardStatus `json:"status"`
	Before     lookup.Path        `json:"before"`
	After      lookup.Path        `json:"after"`
	Cause      string             `json:"cause,omitempty"`
	CauseRule  *netcfg.Rule       `json:"cause_rule,omitempty"`
	CauseRoute *netcfg.Route      `json:"cause_route,omitempty"`
	Message    string             `json:"message"`
}

// NewGuardJSON is g as a JSON document carries it; nil for nil.
func NewGuardJSON(g *lookup.Guard) *GuardJSON {
	if g == nil {
		return nil
	}
	return &GuardJSON{Conn: g.Conn, Status: g.Status, Before: g.Before, After: g.After,
		Cause: GuardCause(g), CauseRule: g.CauseRule, CauseRoute: g.CauseRoute, Message: GuardMessage(g)}
}

// FlowsJSON is the guard's verdict on the live connections and foreign
// rules in a JSON document.
type FlowsJSON struct {
	Sockets      int            `json:"sockets"`
	Read         int            `json:"read"`
	Flows        int            `json:"flows"`
	Traced       int            `json:"traced"`
	Moved        []MovedJSON    `json:"moved"`
	MovedSockets int            `json:"moved_sockets"`
	Shadowed     []ShadowedJSON `json:"shadowed"`
	Note         string         `json:"note,omitempty"`
}

// MovedJSON is a moved flow in a JSON document.
type MovedJSON struct {
	IPProto uint8          `json:"ipproto"`
	Local   netip.AddrPort `json:"local"`
	Remote  netip.AddrPort `json:"remote"`
	Count   int            `json:"count"`
	Session bool           `json:"session,omitempty"`
	SSH     bool           `json:"ssh,omitempty"`
	SameWay bool           `json:"same_way,omitempty"`
	Before  lookup.Hop     `json:"before"`
	After   lookup.Hop     `json:"after"`
	Cause   string         `json:"cause"`
}

// ShadowedJSON is a foreign rule a new rule precedes, in a JSON document.
type ShadowedJSON struct {
	Rule    netcfg.Rule   `json:"rule"`
	By      netcfg.Rule   `json:"by"`
	Packet  netcfg.Packet `json:"packet"`
	Before  lookup.Hop    `json:"before"`
	After   lookup.Hop    `json:"after"`
	Message string        `json:"message"`
}

// NewFlowsJSON is f as a JSON document carries it; nil for nil. Lists
// that are nil stay null.
func NewFlowsJSON(f *lookup.FlowGuard) *FlowsJSON {
	if f == nil {
		return nil
	}
	out := &FlowsJSON{Sockets: f.Sockets, Read: f.Read, Flows: f.Flows, Traced: f.Traced, MovedSockets: f.MovedSockets, Note: FlowNote(f)}
	if f.Moved != nil {
		out.Moved = make([]MovedJSON, 0, len(f.Moved))
	}
	for i := range f.Moved {
		m := &f.Moved[i]
		out.Moved = append(out.Moved, MovedJSON{IPProto: m.IPProto, Local: m.Local, Remote: m.Remote, Count: m.Count,
			Session: m.Session, SSH: m.SSH, SameWay: m.SameWay, Before: m.Before, After: m.After, Cause: FlowCause(m, &f.Names)})
	}
	if f.Shadowed != nil {
		out.Shadowed = make([]ShadowedJSON, 0, len(f.Shadowed))
	}
	for i := range f.Shadowed {
		s := &f.Shadowed[i]
		out.Shadowed = append(out.Shadowed, ShadowedJSON{Rule: s.Rule, By: s.By, Packet: s.Packet, Before: s.Before, After: s.After,
			Message: ShadowedText(s, &f.NamesBefore, &f.Names)})
	}
	return out
}
