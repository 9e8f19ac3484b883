package gate_test

import (
	"net/netip"
	"regexp"
	"testing"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate/gatefuzz"
)

// conditionReason is what the API server accepts as a condition's reason
// (metav1.Condition), so every decision can be published as it is.
var conditionReason = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`)

// FuzzDecide feeds Decide arbitrary Infrastructure and config objects. No
// input may panic, and every decision must be one the consumers can act on.
func FuzzDecide(f *testing.F) {
	gatefuzz.Add(f)
	f.Fuzz(func(t *testing.T, infraJSON, configJSON []byte) {
		d := gatefuzz.Decide(infraJSON, configJSON)

		if !conditionReason.MatchString(d.Reason) {
			t.Errorf("Reason %q is not a valid condition reason", d.Reason)
		}
		if d.Message == "" {
			t.Errorf("Reason %s without a message", d.Reason)
		}
		if !d.Enabled {
			if len(d.APIVIPs)+len(d.IngressVIPs) != 0 || d.Port != 0 {
				t.Errorf("disabled decision %s carries VIPs %v %v or port %d", d.Reason, d.APIVIPs, d.IngressVIPs, d.Port)
			}
			return
		}
		if d.Reason != gate.ReasonAsExpected {
			t.Errorf("enabled with reason %s", d.Reason)
		}
		if len(d.APIVIPs) == 0 || len(d.IngressVIPs) == 0 {
			t.Errorf("enabled without VIPs: API %v, ingress %v", d.APIVIPs, d.IngressVIPs)
		}
		for _, vip := range append(append([]string(nil), d.APIVIPs...), d.IngressVIPs...) {
			if _, err := netip.ParseAddr(vip); err != nil {
				t.Errorf("enabled with VIP %q: %v", vip, err)
			}
		}
	})
}
