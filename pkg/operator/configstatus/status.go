// Package configstatus writes into the status of
// http01challengeproxies.config.openshift.io/cluster what the operator acted
// on — VIPs, port, node counts — and a Ready condition that tells the admin
// what to do next. It is the admin's view; the ClusterOperator is the CVO's.
package configstatus

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/daemonset"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// ConditionReady says whether every control-plane node serves challenges.
const ConditionReady = "Ready"

// Reasons of the Ready condition besides the gate's own, which it carries
// over while the proxy is off.
const (
	ReasonAsExpected          = "AsExpected"
	ReasonRollingOut          = "RollingOut"
	ReasonPodsNotReady        = "PodsNotReady"
	ReasonNoControlPlaneNodes = "NoControlPlaneNodes"
	ReasonUnmanaged           = "Unmanaged"
)

var daemonSetRef = names.OperandNamespace + "/" + names.OperandName

// DesiredStatus is the config singleton's status for a decision and the
// DaemonSet as the cache holds it (nil when absent). The Ready condition has
// no transition time; the caller keeps the current one when the status of
// the condition does not change.
func DesiredStatus(generation int64, decision gate.Decision, ds *appsv1.DaemonSet) configv1alpha1.HTTP01ChallengeProxyStatus {
	status := configv1alpha1.HTTP01ChallengeProxyStatus{ObservedGeneration: generation}
	ready := metav1.Condition{Type: ConditionReady, Status: metav1.ConditionFalse, ObservedGeneration: generation}

	if !decision.Enabled {
		ready.Reason = decision.Reason
		ready.Message = decision.Message
		status.Conditions = []metav1.Condition{ready}
		return status
	}

	status.APIServerVIPs = decision.APIVIPs
	status.IngressVIPs = decision.IngressVIPs
	status.InternalPort = decision.Port
	if ds != nil {
		status.DesiredNodes = ds.Status.DesiredNumberScheduled
		status.ReadyNodes = ds.Status.NumberReady
	}
	ready.Reason, ready.Message = readiness(decision, ds)
	if ready.Reason == ReasonAsExpected {
		ready.Status = metav1.ConditionTrue
	}
	status.Conditions = []metav1.Condition{ready}
	return status
}

// UnmanagedStatus is the config singleton's status while the operator
// resource's managementState is Unmanaged: the VIPs, port and node counts
// stay what the operator last acted on, and Ready says that it acts on
// nothing, this generation of the spec included.
func UnmanagedStatus(generation int64, current configv1alpha1.HTTP01ChallengeProxyStatus) configv1alpha1.HTTP01ChallengeProxyStatus {
	status := *current.DeepCopy()
	status.ObservedGeneration = generation
	status.Conditions = []metav1.Condition{{
		Type:               ConditionReady,
		Status:             metav1.ConditionUnknown,
		Reason:             ReasonUnmanaged,
		ObservedGeneration: generation,
		Message: "spec.managementState of http01challengeproxies.operator.openshift.io/cluster is Unmanaged: the operator leaves the proxy as it is and does not act on this configuration. " +
			"The other status fields are what it last acted on. Set managementState to Managed to apply this configuration.",
	}}
	return status
}

// readiness explains the state of an enabled proxy. The checks go from
// "the configuration has not reached the nodes" to "it has, but some nodes
// are not ready", so the message names the first thing to wait for or fix.
func readiness(decision gate.Decision, ds *appsv1.DaemonSet) (reason, message string) {
	if ds == nil || !daemonset.Serves(ds, decision) {
		return ReasonRollingOut, fmt.Sprintf("Applying the configuration (API VIPs %v, ingress VIPs %v, port %d) to DaemonSet %s.",
			decision.APIVIPs, decision.IngressVIPs, decision.Port, daemonSetRef)
	}
	s := ds.Status
	counts := fmt.Sprintf("%d/%d control-plane nodes ready", s.NumberReady, s.DesiredNumberScheduled)
	switch {
	case !daemonset.RolledOut(ds):
		return ReasonRollingOut, fmt.Sprintf("%s; rolling out the current configuration (%d/%d nodes updated).", counts, s.UpdatedNumberScheduled, s.DesiredNumberScheduled)
	case s.DesiredNumberScheduled == 0:
		return ReasonNoControlPlaneNodes, fmt.Sprintf("No node has the node-role.kubernetes.io/master label, so DaemonSet %s runs the proxy nowhere. Check the control-plane nodes' labels.", daemonSetRef)
	case s.NumberReady < s.DesiredNumberScheduled:
		return ReasonPodsNotReady, fmt.Sprintf("%s. ACME HTTP-01 challenges fail while the API VIP is on a node without a ready proxy; if a node is not rebooting, check the pods of DaemonSet %s and their logs.", counts, daemonSetRef)
	}
	return ReasonAsExpected, fmt.Sprintf("%s. %s", counts, decision.Message)
}
