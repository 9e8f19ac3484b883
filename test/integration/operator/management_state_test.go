//go:build integration

package operator

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	operatorv1 "github.com/openshift/api/operator/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// TestManagementState takes an enabled, rolled-out proxy through the
// operator resource's management states: Unmanaged changes nothing, Removed
// removes everything deployed for the proxy and says so, and Managed
// deploys it again with what was configured meanwhile.
func TestManagementState(t *testing.T) {
	e := newEnv(t)
	e.setInfrastructure(bareMetal())
	e.setConfig(defaultDeployment)
	op := e.startOperator()
	e.rollOutOnceCreated()
	e.eventually("the rollout", e.clusterOperatorIs(conditions("Available", "True", "Progressing", "False", "Disabled", "False/AsExpected")))
	e.eventually("the operand resources", e.operandResourcesAre(true))

	t.Run("Unmanaged changes nothing", func(t *testing.T) {
		before := e.operandIdentities()
		e.setManagementState(operatorv1.Unmanaged)
		e.eventually("the ClusterOperator to say Unmanaged", e.clusterOperatorIs(conditions(
			"Available", "Unknown/Unmanaged", "Progressing", "Unknown/Unmanaged", "Degraded", "Unknown/Unmanaged")))

		// A change that a managed operator would roll out at once. The
		// config status saying that it is not acted on is the sign that the
		// operator has seen it.
		writes := op.writes.count()
		e.setConfig(customPort(18080))
		e.eventually("the config status to say the change is not acted on", func() error {
			cfg, err := e.proxy.ConfigV1alpha1().HTTP01ChallengeProxies().Get(e.ctx(), names.SingletonName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			ready := findCondition(cfg.Status.Conditions, "Ready")
			if cfg.Status.ObservedGeneration != cfg.Generation || ready == nil || ready.Status != metav1.ConditionUnknown || ready.Reason != "Unmanaged" {
				return fmt.Errorf("observedGeneration %d of %d, Ready %+v; want Unknown/Unmanaged for the current generation", cfg.Status.ObservedGeneration, cfg.Generation, ready)
			}
			if cfg.Status.InternalPort != 8888 {
				return fmt.Errorf("status.internalPort = %d, want 8888, the port last acted on", cfg.Status.InternalPort)
			}
			return nil
		})
		for _, w := range op.writes.since(writes) {
			if strings.Contains(w, "/namespaces/"+names.OperandNamespace+"/") {
				t.Errorf("an Unmanaged operator wrote to the operand namespace: %s", w)
			}
		}
		if diff := cmp.Diff(before, e.operandIdentities()); diff != "" {
			t.Errorf("operand objects changed while Unmanaged (-before +after):\n%s", diff)
		}
		ds, err := e.daemonSet()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(proxyArgs(ds), "--listen-port=8888") {
			t.Errorf("the DaemonSet was changed while Unmanaged: args %v", proxyArgs(ds))
		}
	})

	t.Run("Removed removes the proxy and says so", func(t *testing.T) {
		e.setManagementState(operatorv1.Removed)
		e.eventually("the DaemonSet to be deleted", daemonSetGone(e))
		e.eventually("every operand resource to be deleted", e.operandResourcesAre(false))
		e.eventually("the ClusterOperator to say Removed", e.clusterOperatorIs(conditions(
			"Disabled", "True/"+gate.ReasonRemoved, "Available", "True", "Progressing", "False", "Degraded", "False", "Upgradeable", "True").
			withVersion(releaseV1)))
		e.eventually("the operator resource to say Removed", func() error {
			for _, c := range e.operatorStatus().Conditions {
				if c.Type == "DaemonSetAvailable" && c.Reason == "Removed" && strings.Contains(c.Message, "managementState") {
					return nil
				}
			}
			return fmt.Errorf("conditions %+v, want DaemonSetAvailable with reason Removed", e.operatorStatus().Conditions)
		})
		e.eventually("the config status to say Removed", func() error {
			ready := findCondition(e.configStatus().Conditions, "Ready")
			if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != gate.ReasonRemoved {
				return fmt.Errorf("Ready = %+v, want False/%s", ready, gate.ReasonRemoved)
			}
			return nil
		})
		e.logClusterOperator("managementState Removed")
	})

	t.Run("Managed deploys it again with the current config", func(t *testing.T) {
		e.setManagementState(operatorv1.Managed)
		e.eventually("the DaemonSet with the port set while Unmanaged", func() error {
			ds, err := e.daemonSet()
			if err != nil {
				return err
			}
			if !slices.Contains(proxyArgs(ds), "--listen-port=18080") {
				return fmt.Errorf("args %v", proxyArgs(ds))
			}
			return nil
		})
		e.eventually("the operand resources", e.operandResourcesAre(true))
		e.eventually("the ClusterOperator", e.clusterOperatorIs(conditions("Disabled", "False/AsExpected", "Progressing", "True")))
	})
}

// setManagementState sets the operator resource's spec.managementState.
func (e *env) setManagementState(state operatorv1.ManagementState) {
	e.t.Helper()
	operators := e.proxy.OperatorV1alpha1().HTTP01ChallengeProxies()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		op, err := operators.Get(e.ctx(), names.SingletonName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		op.Spec.ManagementState = state
		_, err = operators.Update(e.ctx(), op, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		e.t.Fatalf("setting managementState %s: %v", state, err)
	}
}
