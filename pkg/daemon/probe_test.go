package daemon

import (
	"reflect"
	"testing"
)

type recordingRulesObserver struct{ present []bool }

func (o *recordingRulesObserver) SetRulesPresent(present bool) {
	o.present = append(o.present, present)
}
func (o *recordingRulesObserver) RulesRepaired(string) {}

type recordingTrigger struct{ causes []string }

func (r *recordingTrigger) Trigger(cause string) { r.causes = append(r.causes, cause) }

func TestProbeWhenRulesRestored(t *testing.T) {
	tests := []struct {
		name         string
		reports      []bool
		expectProbes int
	}{
		{name: "installed at start", reports: []bool{true}, expectProbes: 1},
		{name: "in sync at every resync afterwards", reports: []bool{true, true, true}, expectProbes: 1},
		{name: "not installed yet, then installed", reports: []bool{false, false, true}, expectProbes: 1},
		{name: "tampered with and repaired twice", reports: []bool{true, false, true, true, false, true}, expectProbes: 3},
		{name: "never in place", reports: []bool{false, false}, expectProbes: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next, prober := &recordingRulesObserver{}, &recordingTrigger{}
			o := &probeWhenRulesRestored{Observer: next, prober: prober}
			for _, present := range tc.reports {
				o.SetRulesPresent(present)
			}
			if len(prober.causes) != tc.expectProbes {
				t.Errorf("%d probes triggered (%q), want %d", len(prober.causes), prober.causes, tc.expectProbes)
			}
			if !reflect.DeepEqual(next.present, tc.reports) {
				t.Errorf("metrics were told %v, want every report %v", next.present, tc.reports)
			}
		})
	}
}
