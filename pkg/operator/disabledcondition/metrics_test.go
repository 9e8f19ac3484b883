package disabledcondition

import (
	"testing"

	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
)

// series returns reason -> value of the enabled gauge as /metrics serves it.
func series(t *testing.T) map[string]float64 {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatalf("gathering metrics: %v", err)
	}
	got := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "http01_challenge_proxy_operator_enabled" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" {
					got[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return got
}

func TestRecordDecisionKeepsOneSeries(t *testing.T) {
	recordDecision(gate.Decision{Reason: gate.ReasonDisabledByConfiguration})
	if got := series(t); len(got) != 1 || got[gate.ReasonDisabledByConfiguration] != 0 {
		t.Fatalf("after a disabled decision: %v, want only DisabledByConfiguration=0", got)
	}

	recordDecision(gate.Decision{Enabled: true, Reason: gate.ReasonAsExpected})
	if got := series(t); len(got) != 1 || got[gate.ReasonAsExpected] != 1 {
		t.Fatalf("after enabling: %v, want only AsExpected=1", got)
	}
}
