//go:build integration

package operator

import (
	"fmt"
	"strings"
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
)

// TestDisable takes an enabled, rolled-out proxy away in each of the ways the
// gate knows, and checks that everything it deployed goes and that the
// ClusterOperator says why while staying Available.
func TestDisable(t *testing.T) {
	e := newEnv(t)
	e.setInfrastructure(bareMetal())

	// enable deploys the proxy and waits for a complete rollout.
	enable := func(t *testing.T) {
		t.Helper()
		e.setConfig(defaultDeployment)
		e.rollOutOnceCreated()
		e.eventually("the proxy to run", e.clusterOperatorIs(conditions("Disabled", "False", "Available", "True", "Progressing", "False")))
		e.eventually("the operand's RBAC", e.operandResourcesAre(true))
	}
	// disabled checks that nothing is left and that every status says why.
	disabled := func(t *testing.T, reason string) {
		t.Helper()
		e.eventually("the DaemonSet to be deleted", daemonSetGone(e))
		e.eventually("the operand's RBAC to be deleted", e.operandResourcesAre(false))
		e.eventually("the ClusterOperator to say why", e.clusterOperatorIs(
			conditions("Disabled", "True/"+reason, "Available", "True", "Progressing", "False", "Degraded", "False", "Upgradeable", "True").
				withVersion(releaseV1)))
		e.eventually("the config status to say why", func() error {
			s := e.configStatus()
			ready := findCondition(s.Conditions, "Ready")
			if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != reason {
				return fmt.Errorf("Ready = %+v, want False/%s", ready, reason)
			}
			if s.InternalPort != 0 || len(s.APIServerVIPs) != 0 || s.DesiredNodes != 0 {
				return fmt.Errorf("status still reports a deployment: %+v", s)
			}
			return nil
		})
		if dsConds := e.operatorStatus().Generations; len(dsConds) != 0 {
			t.Errorf("status.generations still tracks %+v", dsConds)
		}
	}

	e.startOperator()

	t.Run("by the admin", func(t *testing.T) {
		enable(t)
		e.setConfig(disabledSpec)
		disabled(t, gate.ReasonDisabledByConfiguration)
		e.logClusterOperator("disabled by the admin")
		ready := findCondition(e.configStatus().Conditions, "Ready")
		if !strings.Contains(ready.Message, "Set spec.mode to DefaultDeployment") {
			t.Errorf("Ready message %q does not say how to enable the proxy", ready.Message)
		}
	})

	t.Run("by moving to another platform", func(t *testing.T) {
		enable(t)
		e.setInfrastructure(aws())
		disabled(t, gate.ReasonUnsupportedPlatform)
		e.logClusterOperator("unsupported platform (AWS)")
	})

	t.Run("by a user-managed load balancer", func(t *testing.T) {
		e.setInfrastructure(bareMetal())
		enable(t)
		// The load balancer type is immutable once set, so the cluster is
		// recreated with a user-managed one. While the Infrastructure is
		// gone, nothing may be deleted.
		e.deleteInfrastructure()
		e.eventually("the operator to notice", e.operatorConditionIs("DaemonSetControllerDegraded", "True"))
		if _, err := e.daemonSet(); err != nil {
			t.Fatalf("the DaemonSet went away with the Infrastructure: %v", err)
		}
		e.setInfrastructure(bareMetal(func(s *configv1.InfrastructureStatus) {
			s.PlatformStatus.BareMetal.LoadBalancer = &configv1.BareMetalPlatformLoadBalancer{Type: configv1.LoadBalancerTypeUserManaged}
		}))
		disabled(t, gate.ReasonUserManagedLoadBalancer)
	})
}
