//go:build integration

package operator

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
)

// TestNotDeployedOnBadVIPs enables the proxy on bare-metal clusters whose
// VIPs it cannot serve: nothing is deployed, and the config status tells the
// admin why.
func TestNotDeployedOnBadVIPs(t *testing.T) {
	e := newEnv(t)
	e.setConfig(defaultDeployment)

	tests := []struct {
		name        string
		api         []string
		ingress     []string
		reason      string
		wantMessage string
	}{
		{
			name:        "missing ingress VIPs",
			api:         []string{"192.0.2.5"},
			reason:      gate.ReasonMissingVIPs,
			wantMessage: "ingressIPs []",
		},
		{
			name:        "API VIP equal to an ingress VIP",
			api:         []string{"192.0.2.5"},
			ingress:     []string{"192.0.2.5"},
			reason:      gate.ReasonConflictingVIPs,
			wantMessage: "API VIP 192.0.2.5 is also an ingress VIP",
		},
	}
	var op *runningOperator
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.setInfrastructure(bareMetal(withVIPs(tt.api, tt.ingress)))
			if op == nil {
				op = e.startOperator()
			}
			e.eventually("the config status to explain", func() error {
				ready := findCondition(e.configStatus().Conditions, "Ready")
				if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != tt.reason {
					return fmt.Errorf("Ready = %+v, want False/%s", ready, tt.reason)
				}
				if !strings.Contains(ready.Message, tt.wantMessage) {
					return fmt.Errorf("Ready message %q does not contain %q", ready.Message, tt.wantMessage)
				}
				return nil
			})
			e.eventually("the ClusterOperator to say why", e.clusterOperatorIs(
				conditions("Disabled", "True/"+tt.reason, "Available", "True", "Degraded", "False")))

			// A negative: give the operator time to do the wrong thing.
			time.Sleep(time.Second)
			if err := daemonSetGone(e)(); err != nil {
				t.Errorf("the proxy was deployed: %v", err)
			}
			if err := e.operandResourcesAre(false)(); err != nil {
				t.Errorf("the operand's RBAC was created: %v", err)
			}
		})
	}
}
