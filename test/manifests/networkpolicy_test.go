package manifests

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// typed converts every manifest of kind into T.
func typed[T any](t *testing.T, all []manifest, kind string) []*T {
	t.Helper()
	var out []*T
	for _, m := range all {
		if m.obj.GetKind() != kind {
			continue
		}
		obj := new(T)
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m.obj.Object, obj); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		out = append(out, obj)
	}
	return out
}

// The operator namespace denies everything by default and allows exactly
// what the operator needs: egress to the API server and ingress from
// platform Prometheus to its metrics port.
func TestNetworkPolicies(t *testing.T) {
	all := loadManifests(t)
	policies := typed[networkingv1.NetworkPolicy](t, all, "NetworkPolicy")
	deployments := typed[appsv1.Deployment](t, all, "Deployment")
	services := typed[corev1.Service](t, all, "Service")
	if len(deployments) != 1 || len(services) != 1 {
		t.Fatalf("want the operator Deployment and its metrics Service, found %d and %d", len(deployments), len(services))
	}
	podLabels := labels.Set(deployments[0].Spec.Template.Labels)
	metricsPort := services[0].Spec.Ports[0].TargetPort.IntVal

	var defaultDeny bool
	var egressPorts, ingressPorts []int32
	for _, p := range policies {
		if p.Namespace != names.OperatorNamespace {
			// The operand's pods use the host network, where
			// NetworkPolicies do not apply: a policy there would only
			// suggest a protection that does not exist.
			t.Errorf("NetworkPolicy %s/%s: only the operator namespace has pod-network pods", p.Namespace, p.Name)
			continue
		}
		selector, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		if selector.Empty() {
			if len(p.Spec.Ingress)+len(p.Spec.Egress) == 0 && hasTypes(p, networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress) {
				defaultDeny = true
				continue
			}
			t.Errorf("%s selects every pod and allows something; allow rules must select the operator's pods", p.Name)
		}
		if !selector.Matches(podLabels) {
			t.Errorf("%s selects %s, which the operator's pods (%v) do not match: it allows nothing", p.Name, selector, podLabels)
		}
		for _, rule := range p.Spec.Egress {
			if len(rule.To) != 0 {
				t.Errorf("%s: egress to %v; the API servers' addresses are not known in advance, only their port", p.Name, rule.To)
			}
			egressPorts = append(egressPorts, tcpPorts(t, p.Name, rule.Ports)...)
		}
		for _, rule := range p.Spec.Ingress {
			if len(rule.From) != 1 || rule.From[0].NamespaceSelector == nil || rule.From[0].PodSelector != nil ||
				rule.From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "openshift-monitoring" {
				t.Errorf("%s: ingress from %+v, want the openshift-monitoring namespace only", p.Name, rule.From)
			}
			ingressPorts = append(ingressPorts, tcpPorts(t, p.Name, rule.Ports)...)
		}
	}
	if !defaultDeny {
		t.Error("no default-deny NetworkPolicy (empty pod selector, Ingress and Egress, no rules) in the operator namespace")
	}
	if len(egressPorts) != 1 || egressPorts[0] != 6443 {
		t.Errorf("egress to TCP ports %v, want the API server's 6443 only (no DNS: the operator resolves no name)", egressPorts)
	}
	if len(ingressPorts) != 1 || ingressPorts[0] != metricsPort {
		t.Errorf("ingress to TCP ports %v, want the metrics Service's target port %d only", ingressPorts, metricsPort)
	}
}

func hasTypes(p *networkingv1.NetworkPolicy, want ...networkingv1.PolicyType) bool {
	have := map[networkingv1.PolicyType]bool{}
	for _, pt := range p.Spec.PolicyTypes {
		have[pt] = true
	}
	for _, pt := range want {
		if !have[pt] {
			return false
		}
	}
	return len(have) == len(want)
}

// tcpPorts returns the numeric TCP ports of a rule, failing on anything
// else: a named port or another protocol would need a reason.
func tcpPorts(t *testing.T, policy string, ports []networkingv1.NetworkPolicyPort) []int32 {
	t.Helper()
	if len(ports) == 0 {
		t.Errorf("%s: a rule without ports allows every port", policy)
	}
	var out []int32
	for _, p := range ports {
		if p.Protocol == nil || *p.Protocol != corev1.ProtocolTCP || p.Port == nil || p.Port.StrVal != "" || p.EndPort != nil {
			t.Errorf("%s: port %+v, want a single numeric TCP port", policy, p)
			continue
		}
		out = append(out, p.Port.IntVal)
	}
	return out
}
