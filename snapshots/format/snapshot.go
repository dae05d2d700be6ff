// Package format is nictab's snapshot file: the Snapshot and Meta types
// and the codec that reads them (Parse, Load) and writes them (Marshal),
// for the files a person writes and the ones nictab saves after every
// apply (that intent plus the concrete rules, routes and names that were
// live, and metadata). It touches no kernel and no store, so it builds on
// any OS.
package format

import (
	"time"

	"github.com/nictab/nictab/netcfg"
)

// Version is the snapshot file format this nictab reads and writes.
const Version = 1

// Snapshot is one snapshot file.
//
// A file a person writes has Version, Comment and Intent. A file nictab
// saves adds Meta and Resolved; it is still a valid input file, so a saved
// snapshot can be edited and applied again.
type Snapshot struct {
	Version int
	Comment string
	Intent  netcfg.Intent
	// Meta is set on saved snapshots only.
	Meta *Meta
	// Resolved is what nictab owned after the apply: exactly what a
	// rollback restores. Nil on files a person writes.
	Resolved *netcfg.Owned

	// origin is where Parse read the snapshot, so Locate can point errors
	// found later (by Resolve) at lines of the file. Nil for a snapshot
	// built in memory. Compare snapshots with it ignored.
	origin *fileOrigin
	// intentEnd is where the file's intent ends (snapshots/store_intent.go),
	// for snapshots written to or read from the store; 0 otherwise.
	intentEnd int64
	// records is snapshots.snapshotRecords of a snapshot saved from bytes encoded
	// ahead, made with them; "" otherwise.
	records string
}

// Meta describes a saved snapshot.
type Meta struct {
	ID   string
	Time time.Time // UTC
	Host string
	// NictabVersion is the version of nictab that saved the snapshot.
	NictabVersion string
	// Parent is the id of the snapshot that was live before this one.
	Parent string
	// Netns is the named network namespace the snapshot was taken in.
	Netns string
	// Kind says what made the snapshot: apply, rollback, save or adopt.
	Kind string
	// Networkd records that systemd-networkd managed the host's links when
	// the snapshot was taken; export picks its flavour from it.
	Networkd bool
	// Addressing is how the NICs the snapshot concerns were addressed;
	// exports that take over a NIC's networkd unit carry it.
	Addressing []NICAddressing
}

// KindBaseline marks the snapshot of the state before nictab's first
// change on a host or namespace.
const KindBaseline = "baseline"
