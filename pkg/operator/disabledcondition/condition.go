// Package disabledcondition owns the ClusterOperator's Disabled condition and
// its metric, http01_challenge_proxy_operator_enabled: where admins and
// monitoring look for the gate's decision.
package disabledcondition

import (
	configv1 "github.com/openshift/api/config/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
)

// ConditionDisabled is the ClusterOperator condition that says whether the
// proxy is deliberately off, as cluster-baremetal-operator reports it off
// its platform. library-go's status controller only manages the
// Available/Progressing/Degraded/Upgradeable/EvaluationConditionsDetected
// types and leaves this one alone.
const ConditionDisabled configv1.ClusterStatusConditionType = "Disabled"

// DisabledCondition is the Disabled condition for a decision, without its
// transition time. Disabled=True carries the gate's reason and message, so
// `oc get clusteroperator -o yaml` says why and what to do.
func DisabledCondition(decision gate.Decision) configv1.ClusterOperatorStatusCondition {
	status := configv1.ConditionTrue
	if decision.Enabled {
		status = configv1.ConditionFalse
	}
	return configv1.ClusterOperatorStatusCondition{
		Type:    ConditionDisabled,
		Status:  status,
		Reason:  decision.Reason,
		Message: decision.Message,
	}
}
