package daemonset

import (
	"fmt"
	"time"

	operatorv1 "github.com/openshift/api/operator/v1"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// Condition types on the operator resource. library-go's status controller
// folds every *Available, *Progressing and *Degraded into the
// ClusterOperator's conditions.
const (
	ConditionAvailable   = "DaemonSetAvailable"
	ConditionProgressing = "DaemonSetProgressing"
	ConditionDegraded    = "DaemonSetDegraded"
	// ConditionUpgradeable is always True: nothing about the proxy blocks
	// an upgrade, and without any *Upgradeable condition the
	// ClusterOperator would report Upgradeable=Unknown.
	ConditionUpgradeable = "DaemonSetUpgradeable"
)

// Reasons of the DaemonSet* conditions.
const (
	ReasonAsExpected      = "AsExpected"
	ReasonDisabled        = "Disabled"
	ReasonRemoved         = "Removed"
	ReasonNoPodsAvailable = "NoPodsAvailable"
	ReasonRollingOut      = "RollingOut"
	ReasonPodsUnavailable = "PodsUnavailable"
)

// DegradedInertia is how long DaemonSetDegraded must stay True before the
// ClusterOperator turns Degraded. A bare-metal control-plane node can take
// well over ten minutes to reboot (firmware, RAID and memory checks), and the
// machine-config operator reboots each of them during an upgrade; a shorter
// window would make every upgrade look like an outage.
const DegradedInertia = 15 * time.Minute

var daemonSetRef = names.OperandNamespace + "/" + names.OperandName

// DisabledConditions are the DaemonSet* conditions while the gate keeps the
// proxy off. Off is a correct, finished state, not an outage: Available is
// True so that the ClusterOperator is Available and installs and upgrades
// complete. The reason is Removed when the admin set managementState to
// Removed, and Disabled for every other reason to be off.
func DisabledConditions(decision gate.Decision) []operatorv1.OperatorCondition {
	reason := ReasonDisabled
	if decision.Reason == gate.ReasonRemoved {
		reason = ReasonRemoved
	}
	return []operatorv1.OperatorCondition{
		{Type: ConditionAvailable, Status: operatorv1.ConditionTrue, Reason: reason, Message: decision.Message},
		{Type: ConditionProgressing, Status: operatorv1.ConditionFalse, Reason: reason},
		{Type: ConditionDegraded, Status: operatorv1.ConditionFalse, Reason: reason},
		upgradeable,
	}
}

// EnabledConditions derives the DaemonSet* conditions from the DaemonSet's
// status. previous are the operator's current conditions, which Progressing
// needs to stay stable (see progressing).
//
// None of them may flap when a node reboots, because a node reboot during an
// upgrade is routine:
//   - Available is True while at least one pod is available: with the API
//     VIP on any node, some challenges still succeed, and keepalived moves the
//     VIP away from a node that is down.
//   - Progressing follows the rollout of a new DaemonSet generation, not pod
//     readiness.
//   - Degraded is True as soon as a pod is unavailable, but the status
//     controller gives it inertia (see DegradedInertia), so the
//     ClusterOperator only turns Degraded when the outage outlasts a reboot.
func EnabledConditions(ds *appsv1.DaemonSet, previous []operatorv1.OperatorCondition) []operatorv1.OperatorCondition {
	desired := ds.Status.DesiredNumberScheduled
	available := ds.Status.NumberAvailable

	availableCond := operatorv1.OperatorCondition{
		Type:    ConditionAvailable,
		Status:  operatorv1.ConditionTrue,
		Reason:  ReasonAsExpected,
		Message: fmt.Sprintf("%d of %d control-plane nodes have a ready proxy.", available, desired),
	}
	if available == 0 {
		availableCond.Status = operatorv1.ConditionFalse
		availableCond.Reason = ReasonNoPodsAvailable
		availableCond.Message = fmt.Sprintf("No control-plane node has a ready proxy yet (0 of %d), so ACME HTTP-01 challenges for the API hostname fail. If this lasts, check the pods of DaemonSet %s and their logs.", desired, daemonSetRef)
		if desired == 0 {
			availableCond.Message = fmt.Sprintf("The proxy is not scheduled on any control-plane node yet, so ACME HTTP-01 challenges for the API hostname fail. If this lasts, check DaemonSet %s and the control-plane nodes' node-role.kubernetes.io/master label.", daemonSetRef)
		}
	}

	progressingCond := operatorv1.OperatorCondition{Type: ConditionProgressing, Status: operatorv1.ConditionFalse, Reason: ReasonAsExpected}
	if isProgressing, message := progressing(ds, conditionIsTrue(previous, ConditionProgressing)); isProgressing {
		progressingCond.Status = operatorv1.ConditionTrue
		progressingCond.Reason = ReasonRollingOut
		progressingCond.Message = message
	}

	degradedCond := operatorv1.OperatorCondition{Type: ConditionDegraded, Status: operatorv1.ConditionFalse, Reason: ReasonAsExpected}
	if unavailable := ds.Status.NumberUnavailable; unavailable > 0 {
		degradedCond.Status = operatorv1.ConditionTrue
		degradedCond.Reason = ReasonPodsUnavailable
		degradedCond.Message = fmt.Sprintf("%d of %d control-plane nodes have no ready proxy; ACME HTTP-01 challenges fail while the API VIP is on one of them. Check the pods of DaemonSet %s on those nodes and their logs.", unavailable, desired, daemonSetRef)
	}

	return []operatorv1.OperatorCondition{availableCond, progressingCond, degradedCond, upgradeable}
}

var upgradeable = operatorv1.OperatorCondition{Type: ConditionUpgradeable, Status: operatorv1.ConditionTrue, Reason: ReasonAsExpected}

// progressing is library-go's "stable generation" idea without the extra
// state: a rollout starts when the DaemonSet controller has a generation or
// a node it has not caught up with, and ends only when every node runs an
// available pod of the current generation. A pod that becomes unavailable
// later (a node reboots) does not start a rollout, because the DaemonSet's
// generation and updated count do not change; wasProgressing carries an
// ongoing rollout over the moment all pods are updated but not yet ready.
func progressing(ds *appsv1.DaemonSet, wasProgressing bool) (bool, string) {
	status := ds.Status
	switch {
	case status.ObservedGeneration < ds.Generation:
		return true, fmt.Sprintf("Waiting for the DaemonSet controller to act on generation %d of DaemonSet %s.", ds.Generation, daemonSetRef)
	case status.UpdatedNumberScheduled < status.DesiredNumberScheduled:
		return true, fmt.Sprintf("%d of %d control-plane nodes run the current proxy.", status.UpdatedNumberScheduled, status.DesiredNumberScheduled)
	case wasProgressing && status.NumberAvailable < status.DesiredNumberScheduled:
		return true, fmt.Sprintf("All control-plane nodes run the current proxy; %d of %d are ready.", status.NumberAvailable, status.DesiredNumberScheduled)
	}
	return false, ""
}

// RolledOut reports whether every control-plane node runs an available pod
// of the DaemonSet's current generation. Only then may the ClusterOperator
// report the new release version: the CVO takes that as "this operator has
// upgraded" and moves on.
func RolledOut(ds *appsv1.DaemonSet) bool {
	status := ds.Status
	return status.ObservedGeneration >= ds.Generation &&
		status.UpdatedNumberScheduled == status.DesiredNumberScheduled &&
		status.NumberAvailable == status.DesiredNumberScheduled
}

func conditionIsTrue(conditions []operatorv1.OperatorCondition, conditionType string) bool {
	for _, c := range conditions {
		if c.Type == conditionType {
			return c.Status == operatorv1.ConditionTrue
		}
	}
	return false
}
