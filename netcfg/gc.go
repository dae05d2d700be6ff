package netcfg

import "github.com/nictab/nictab/internal/gcquiet"

// applyGCBudget is how much garbage Apply may leave for the collector
// before a collection runs. A 100k-route apply makes about 85 MB of it:
// the read-back of the table (336 bytes a route), the fingerprint's
// arena, the op lists.
const applyGCBudget = 128 << 20

// quietGC holds collections off while Apply runs, until applyGCBudget
// more is in use, and returns the function that puts the collector back
// as it was.
//
// NOTE: Apply's allocations are short-lived and bounded by the plan, but
// with the default GOGC a 100k-route apply collected several times, each
// collection scanning the plan and the states it holds (100 MB and
// more): 10–20% of the apply's time under load, time that is not the
// kernel's. A higher GOGC for the apply alone, capped by a memory limit
// of what is in use now plus the budget, trades that for at most the
// budget of memory (see gcquiet.Hold).
func quietGC() (restore func()) { return gcquiet.Hold(applyGCBudget) }
