package lookup

import (
	"testing"

	"github.com/nictab/nictab/internal/enum/enumtest"
)

func TestEnumsRoundTrip(t *testing.T) {
	enumtest.RoundTrip[GuardStatus](t, &guardStatuses, 0, "guard0")
	enumtest.RoundTrip[Verdict](t, &verdicts, 99, "verdict99")
	enumtest.RoundTrip[StepResult](t, &stepResults, 0, "step0")
}
