package disabledcondition

import (
	"testing"

	configv1 "github.com/openshift/api/config/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
)

func TestDisabledCondition(t *testing.T) {
	tests := []struct {
		name     string
		decision gate.Decision
		want     configv1.ConditionStatus
	}{
		{"enabled", gate.Decision{Enabled: true, Reason: gate.ReasonAsExpected, Message: "running"}, configv1.ConditionFalse},
		{"off platform", gate.Decision{Reason: gate.ReasonUnsupportedPlatform, Message: "not bare metal"}, configv1.ConditionTrue},
		{"disabled by the admin", gate.Decision{Reason: gate.ReasonDisabledByConfiguration, Message: "set spec.mode"}, configv1.ConditionTrue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DisabledCondition(tt.decision)
			if got.Type != "Disabled" || got.Status != tt.want || got.Reason != tt.decision.Reason || got.Message != tt.decision.Message {
				t.Errorf("DisabledCondition() = %+v, want Disabled=%s with the decision's reason and message", got, tt.want)
			}
		})
	}
}
