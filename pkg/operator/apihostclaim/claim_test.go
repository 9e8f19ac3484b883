package apihostclaim

import (
	"strings"
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
)

const host = "api.cluster.example.test"

func admitted(status corev1.ConditionStatus, reason, message string) *routev1.Route {
	r := DesiredRoute(host)
	r.Status.Ingress = []routev1.RouteIngress{{Host: host, RouterName: RouterName, Conditions: []routev1.RouteIngressCondition{
		{Type: routev1.RouteAdmitted, Status: status, Reason: reason, Message: message},
	}}}
	return r
}

func ingressController(ownership operatorv1.NamespaceOwnershipCheck) *operatorv1.IngressController {
	ic := &operatorv1.IngressController{}
	if ownership != "" {
		ic.Spec.RouteAdmission = &operatorv1.RouteAdmissionPolicy{NamespaceOwnership: ownership}
	}
	return ic
}

func TestEvaluate(t *testing.T) {
	otherRouter := DesiredRoute(host)
	otherRouter.Status.Ingress = []routev1.RouteIngress{{Host: host, RouterName: "sharded", Conditions: []routev1.RouteIngressCondition{
		{Type: routev1.RouteAdmitted, Status: corev1.ConditionTrue},
	}}}
	stale := admitted(corev1.ConditionTrue, "", "")
	stale.Spec.Host = "api.old.example.test"
	for _, tc := range []struct {
		name       string
		route      *routev1.Route
		ic         *operatorv1.IngressController
		wantProven bool
		wantReason string
		wantHard   bool
		wantWords  []string
	}{
		{name: "admitted under the default admission", route: admitted(corev1.ConditionTrue, "", ""), ic: ingressController(""),
			wantProven: true, wantReason: ReasonClaimed},
		{name: "admitted under Strict", route: admitted(corev1.ConditionTrue, "", ""), ic: ingressController(operatorv1.StrictNamespaceOwnershipCheck),
			wantProven: true, wantReason: ReasonClaimed},
		{name: "a tenant claimed first", route: admitted(corev1.ConditionFalse, "HostAlreadyClaimed", "host is claimed by namespace tenant: route tenant/stolen is older"),
			ic: ingressController(""), wantReason: ReasonClaimedElsewhere, wantHard: true, wantWords: []string{"tenant/stolen", "oc get routes -A"}},
		{name: "admitted, but namespaces may share hosts", route: admitted(corev1.ConditionTrue, "", ""), ic: ingressController(operatorv1.InterNamespaceAllowedOwnershipCheck),
			wantReason: ReasonSharedHosts, wantHard: true, wantWords: []string{"InterNamespaceAllowed", `"namespaceOwnership":"Strict"`}},
		{name: "no default IngressController", route: admitted(corev1.ConditionTrue, "", ""), wantReason: ReasonNoIngressConfig, wantHard: true},
		{name: "no Route yet", ic: ingressController(""), wantReason: ReasonPending},
		{name: "not admitted yet", route: DesiredRoute(host), ic: ingressController(""), wantReason: ReasonPending},
		{name: "admitted by another router only", route: otherRouter, ic: ingressController(""), wantReason: ReasonPending},
		{name: "a Route for another host", route: stale, ic: ingressController(""), wantReason: ReasonPending},
		{name: "refused for another reason", route: admitted(corev1.ConditionFalse, "InvalidHost", "bad"), ic: ingressController(""), wantReason: ReasonPending, wantHard: true, wantWords: []string{"InvalidHost"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate(host, tc.route, tc.ic)
			if got.Proven != tc.wantProven || got.Reason != tc.wantReason || got.Hard != tc.wantHard {
				t.Errorf("Evaluate() = %+v; want proven %v, reason %s, hard %v", got, tc.wantProven, tc.wantReason, tc.wantHard)
			}
			for _, w := range tc.wantWords {
				if !strings.Contains(got.Message, w) {
					t.Errorf("the message %q does not say %q", got.Message, w)
				}
			}
		})
	}
}

func TestDesiredRouteClaimsOutsideTheChallengePaths(t *testing.T) {
	r := DesiredRoute(host)
	if r.Namespace != Namespace || r.Spec.Host != host || r.Spec.WildcardPolicy != routev1.WildcardPolicyNone {
		t.Errorf("DesiredRoute = %+v", r)
	}
	// The claim must never route a challenge: the proxy forwards only
	// /.well-known/acme-challenge/, and the claim's path is outside it.
	if strings.HasPrefix(r.Spec.Path, "/.well-known/acme-challenge") || !strings.HasPrefix(r.Spec.Path, "/.well-known/") {
		t.Errorf("the claim's path %q", r.Spec.Path)
	}
}

func TestSpecMatches(t *testing.T) {
	desired := DesiredRoute(host)
	edited := desired.DeepCopy()
	edited.Spec.Path = "/.well-known/acme-challenge/"
	relabelled := desired.DeepCopy()
	relabelled.Labels = map[string]string{"other": "x"}
	extra := desired.DeepCopy()
	extra.Labels["more"] = "y"
	for _, tc := range []struct {
		name    string
		current *routev1.Route
		want    bool
	}{
		{"as desired", desired.DeepCopy(), true},
		{"path edited", edited, false},
		{"our label removed", relabelled, false},
		{"a label added by someone", extra, true},
	} {
		if got := SpecMatches(tc.current, desired); got != tc.want {
			t.Errorf("%s: SpecMatches = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAPIHost(t *testing.T) {
	for _, tc := range []struct {
		url, want string
		wantErr   bool
	}{
		{"https://api.cluster.example.test:6443", "api.cluster.example.test", false},
		{"", "", true},
		{"not a url with a host", "", true},
	} {
		got, err := APIHost(&configv1.Infrastructure{Status: configv1.InfrastructureStatus{APIServerURL: tc.url}})
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("APIHost(%q) = %q, %v", tc.url, got, err)
		}
	}
	if _, err := APIHost(nil); err == nil {
		t.Error("APIHost(nil) without an error")
	}
}
