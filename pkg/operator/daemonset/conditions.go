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
	ReasonAsExpected          = "AsExpected"
	ReasonDisabled            = "Disabled"
	ReasonRemoved             = "Removed"
	ReasonRollingOut          = "RollingOut"
	ReasonPodsUnavailable     = "PodsUnavailable"
	ReasonNoPodsAvailable     = "NoPodsAvailable"
	ReasonNoControlPlaneNodes = "NoControlPlaneNodes"
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
// status. Node health is Degraded's alone, so that failing proxies never
// make the ClusterOperator unavailable nor hold an upgrade:
//   - Available is True: the operator has applied the DaemonSet, which is
//     its job. Proxies that are not ready are a node problem, reported by
//     Degraded and by the config singleton's Ready. Available=False would
//     fire the critical ClusterOperatorDown for an opt-in helper.
//   - Progressing is True until every scheduled pod runs the current
//     template (see RolledOut). A node reboot does not change that.
//   - Degraded is True as soon as a pod is unavailable, but the status
//     controller gives it inertia (see DegradedInertia), so the
//     ClusterOperator only turns Degraded when the outage outlasts a reboot.
func EnabledConditions(ds *appsv1.DaemonSet) []operatorv1.OperatorCondition {
	desired := ds.Status.DesiredNumberScheduled
	availableCond := operatorv1.OperatorCondition{
		Type:    ConditionAvailable,
		Status:  operatorv1.ConditionTrue,
		Reason:  ReasonAsExpected,
		Message: fmt.Sprintf("DaemonSet %s is applied; %d of %d control-plane nodes have a ready proxy.", daemonSetRef, ds.Status.NumberAvailable, desired),
	}

	progressingCond := operatorv1.OperatorCondition{Type: ConditionProgressing, Status: operatorv1.ConditionFalse, Reason: ReasonAsExpected}
	if !RolledOut(ds) {
		progressingCond.Status = operatorv1.ConditionTrue
		progressingCond.Reason = ReasonRollingOut
		progressingCond.Message = rollingOutMessage(ds)
	}

	degradedCond := operatorv1.OperatorCondition{Type: ConditionDegraded, Status: operatorv1.ConditionFalse, Reason: ReasonAsExpected}
	if reason, message := degraded(ds); reason != "" {
		degradedCond.Status = operatorv1.ConditionTrue
		degradedCond.Reason = reason
		degradedCond.Message = message
	}

	return []operatorv1.OperatorCondition{availableCond, progressingCond, degradedCond, upgradeable}
}

var upgradeable = operatorv1.OperatorCondition{Type: ConditionUpgradeable, Status: operatorv1.ConditionTrue, Reason: ReasonAsExpected}

func rollingOutMessage(ds *appsv1.DaemonSet) string {
	status := ds.Status
	if status.ObservedGeneration < ds.Generation {
		return fmt.Sprintf("Waiting for the DaemonSet controller to act on generation %d of DaemonSet %s.", ds.Generation, daemonSetRef)
	}
	return fmt.Sprintf("%d of %d control-plane nodes run the current proxy.", status.UpdatedNumberScheduled, status.DesiredNumberScheduled)
}

// degraded returns the reason and message of DaemonSetDegraded=True, or an
// empty reason when every scheduled proxy is available.
func degraded(ds *appsv1.DaemonSet) (reason, message string) {
	status := ds.Status
	desired, available := status.DesiredNumberScheduled, status.NumberAvailable
	switch {
	case desired == 0 && status.ObservedGeneration < ds.Generation:
		// Not counted yet. Once counted, a new generation does not reset
		// the counts, so Degraded (and its inertia) carries over rollouts.
		return "", ""
	case desired == 0:
		return ReasonNoControlPlaneNodes, fmt.Sprintf("DaemonSet %s runs the proxy on no node, so ACME HTTP-01 challenges for the API hostname fail. Check that the control-plane nodes carry the node-role.kubernetes.io/master label.", daemonSetRef)
	case available == 0:
		return ReasonNoPodsAvailable, fmt.Sprintf("No control-plane node has a ready proxy (0 of %d), so ACME HTTP-01 challenges for the API hostname fail. Check the pods of DaemonSet %s and their logs.", desired, daemonSetRef)
	case status.NumberUnavailable > 0 || available < desired:
		return ReasonPodsUnavailable, fmt.Sprintf("%d of %d control-plane nodes have no ready proxy; ACME HTTP-01 challenges fail while the API VIP is on one of them. Check the pods of DaemonSet %s on those nodes and their logs.", desired-available, desired, daemonSetRef)
	}
	return "", ""
}

// RolledOut reports whether the DaemonSet controller has acted on the
// current generation and every scheduled pod runs its template. It is the
// one answer to "is the DaemonSet rolled out?": it ends Progressing, lets
// the ClusterOperator report the new release version, and the config's
// Ready stop saying RollingOut. Readiness is not part of it, so that one
// control-plane node down for repair, whose proxy cannot be ready, does not
// hold the upgrade of the whole cluster; Degraded reports that node.
func RolledOut(ds *appsv1.DaemonSet) bool {
	status := ds.Status
	return status.ObservedGeneration >= ds.Generation &&
		status.UpdatedNumberScheduled >= status.DesiredNumberScheduled
}
