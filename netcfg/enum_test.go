package netcfg

import (
	"testing"

	"github.com/nictab/nictab/internal/enum/enumtest"
)

func TestEnumsRoundTrip(t *testing.T) {
	enumtest.RoundTrip[Scope](t, &scopes, 7, "7")
	enumtest.RoundTrip[RouteType](t, &routeTypes, 42, "42")
	enumtest.RoundTrip[RuleAction](t, &ruleActions, 5, "5")
	enumtest.RoundTrip[RoutePref](t, &routePrefs, 2, "2")
	enumtest.RoundTrip[ChangeAction](t, &changeActions, 9, "action9")
}

// TestEnumParseForms: the forms `ip` also accepts, and the errors that say
// what would have been accepted.
func TestEnumParseForms(t *testing.T) {
	for in, want := range map[string]Scope{"universe": ScopeUniverse, "200": 200, "0xfd": ScopeLink, "host": ScopeHost} {
		if got, err := ParseScope(in); err != nil || got != want {
			t.Errorf("ParseScope(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseScope("300"); err == nil || err.Error() != `unknown scope "300" (want global, site, link, host, nowhere or 0–255)` {
		t.Errorf("ParseScope(300): %v", err)
	}
	if _, err := ParseRouteType("7"); err == nil || err.Error() != `unknown route type "7"` {
		t.Errorf("route types are read by name only: %v", err)
	}
	if _, err := ParseRoutePref("urgent"); err == nil || err.Error() != `unknown route preference "urgent" (want low, medium or high)` {
		t.Errorf("ParseRoutePref: %v", err)
	}
}
