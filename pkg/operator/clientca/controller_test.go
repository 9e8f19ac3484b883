package clientca

import (
	"errors"
	"testing"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
)

func TestShouldCopy(t *testing.T) {
	tests := []struct {
		name     string
		decision gate.Decision
		err      error
		want     bool
	}{
		{name: "enabled", decision: gate.Decision{Enabled: true, Reason: gate.ReasonAsExpected}, want: true},
		{name: "disabled", decision: gate.Decision{Reason: gate.ReasonMissingVIPs}},
		{name: "removed", decision: gate.Removed()},
		{name: "unknown", err: gate.ErrNotSynced},
		{name: "unmanaged", err: gate.ErrUnmanaged},
		{name: "an error with a decision that looks enabled", decision: gate.Decision{Enabled: true}, err: errors.New("read failed")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShouldCopy(tt.decision, tt.err); got != tt.want {
				t.Errorf("ShouldCopy() = %v, want %v", got, tt.want)
			}
		})
	}
}
