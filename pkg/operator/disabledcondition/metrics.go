package disabledcondition

import (
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
)

// enabledGauge is served on the operator's /metrics by controllercmd, which
// exposes the legacy registry. One series at a time: the reason of the
// current decision.
var enabledGauge = metrics.NewGaugeVec(&metrics.GaugeOpts{
	Name: "http01_challenge_proxy_operator_enabled",
	Help: "1 when the HTTP-01 challenge proxy is deployed, 0 when it is not; " +
		"the reason label says why (AsExpected, DisabledByConfiguration, UnsupportedPlatform, " +
		"ExternalControlPlane, UserManagedLoadBalancer, MissingVIPs, InvalidVIPs, ConflictingVIPs, Removed). " +
		"It keeps its last value while the operator is Unmanaged.",
	StabilityLevel: metrics.ALPHA,
}, []string{"reason"})

func init() {
	legacyregistry.MustRegister(enabledGauge)
}

// recordDecision replaces the gauge's series with the one for decision.
func recordDecision(decision gate.Decision) {
	value := 0.0
	if decision.Enabled {
		value = 1
	}
	enabledGauge.Reset()
	enabledGauge.WithLabelValues(decision.Reason).Set(value)
}
