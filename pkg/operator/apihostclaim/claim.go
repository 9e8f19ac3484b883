// Package apihostclaim makes the API hostname the platform's at the router
// before any proxy forwards for it. The proxy passes the client's Host to
// the router, which picks a backend by Host and path; a Route for the API
// host in a tenant's namespace would otherwise answer, or block, the API
// certificate's challenges from the internet.
//
// The router's default route admission (namespaceOwnership: Strict) gives a
// host to the namespace of its oldest route. So the operator owns a Route
// for the API host, on a path no challenge uses, in openshift-config, where
// the admin's Certificate lives and the API server reads named
// certificates. The router admitting that Route is the proof that the host
// is the platform's; without it, or when the default IngressController lets
// other namespaces share hosts, the proxy does not run.
package apihostclaim

import (
	"fmt"
	"net/url"

	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

const (
	// Namespace holds the claim: the admin's Certificate for the API host
	// lives here, and the API server reads named certificates from here.
	Namespace = "openshift-config"
	// RouteName names the claim Route.
	RouteName = "http01-challenge-proxy-api-host-claim"
	// Path is the claim Route's path: under /.well-known, so that it can
	// never shadow an application, and outside /.well-known/acme-challenge,
	// which the proxy alone forwards.
	Path = "/.well-known/http01-challenge-proxy-api-host-claim"
	// RouterName is the default IngressController's router, whose
	// admission of the claim counts: the ingress VIPs are its.
	RouterName = "default"
	// IngressControllerNamespace and IngressControllerName name the
	// default IngressController, whose routeAdmission decides whether a
	// host can belong to one namespace at all.
	IngressControllerNamespace = "openshift-ingress-operator"
	IngressControllerName      = "default"
)

// Reasons of an unproven claim, as the ClusterOperator's Disabled and the
// config's Ready conditions say them.
const (
	ReasonClaimed          = "APIHostClaimed"
	ReasonPending          = "APIHostClaimPending"
	ReasonClaimedElsewhere = "APIHostClaimedByAnotherNamespace"
	ReasonSharedHosts      = "InterNamespaceRouteClaimsAllowed"
	ReasonNoIngressConfig  = "DefaultIngressControllerMissing"
	ReasonUnknownAPIHost   = "APIHostUnknown"

	// hostAlreadyClaimed is the router's reason for a Route whose host
	// another namespace holds.
	hostAlreadyClaimed       = "HostAlreadyClaimed"
	strictNamespaceOwnership = operatorv1.StrictNamespaceOwnershipCheck
)

// Claim is what the router and the default IngressController say about
// who owns the API host.
type Claim struct {
	// Proven is true when the router admitted the claim under Strict
	// namespace ownership: no other namespace can route the host.
	Proven  bool
	Reason  string
	Message string
	// Hard is true when waiting does not help: an admin must act.
	Hard bool
}

// APIHost is the host name of the Infrastructure's apiServerURL.
func APIHost(infra *configv1.Infrastructure) (string, error) {
	if infra == nil || infra.Status.APIServerURL == "" {
		return "", fmt.Errorf("infrastructures.config.openshift.io/%s has no status.apiServerURL", names.SingletonName)
	}
	u, err := url.Parse(infra.Status.APIServerURL)
	if err != nil || u.Hostname() == "" {
		return "", fmt.Errorf("status.apiServerURL %q of infrastructures.config.openshift.io/%s names no host", infra.Status.APIServerURL, names.SingletonName)
	}
	return u.Hostname(), nil
}

// DesiredRoute is the claim Route for host. Its backend Service does not
// exist: the Route only claims, and the router answers its path with 503.
func DesiredRoute(host string) *routev1.Route {
	return &routev1.Route{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: Namespace,
			Name:      RouteName,
			Labels:    map[string]string{"app": names.OperandName},
			Annotations: map[string]string{
				"openshift.io/description": "Claims " + host + " for the platform, so that no other namespace can answer its ACME challenges through the HTTP-01 challenge proxy. Managed by the http01-challenge-proxy ClusterOperator; deleting it disables the proxy until it is recreated.",
			},
		},
		Spec: routev1.RouteSpec{
			Host:           host,
			Path:           Path,
			To:             routev1.RouteTargetReference{Kind: "Service", Name: RouteName, Weight: ptr.To[int32](100)},
			WildcardPolicy: routev1.WildcardPolicyNone,
		},
	}
}

// Evaluate reads the claim from the claim Route (nil when absent) and the
// default IngressController (nil when absent).
func Evaluate(host string, route *routev1.Route, ic *operatorv1.IngressController) Claim {
	switch {
	case ic == nil:
		return Claim{Reason: ReasonNoIngressConfig, Hard: true, Message: fmt.Sprintf(
			"ingresscontrollers.operator.openshift.io %s/%s does not exist, so nothing says that a host belongs to one namespace; the proxy stays off until the ingress operator recreates it",
			IngressControllerNamespace, IngressControllerName)}
	case ownership(ic) != strictNamespaceOwnership:
		return Claim{Reason: ReasonSharedHosts, Hard: true, Message: fmt.Sprintf(
			"the default IngressController lets routes of any namespace share a host (spec.routeAdmission.namespaceOwnership: %s), so a tenant could answer or block %s's ACME challenges through the proxy; the proxy stays off. Set it to Strict: oc -n %s patch ingresscontroller %s --type=merge -p '{\"spec\":{\"routeAdmission\":{\"namespaceOwnership\":\"Strict\"}}}'",
			ownership(ic), host, IngressControllerNamespace, IngressControllerName)}
	case route == nil || route.Spec.Host != host:
		return Claim{Reason: ReasonPending, Message: fmt.Sprintf("creating Route %s/%s, which claims %s for the platform", Namespace, RouteName, host)}
	}
	admitted := admittedBy(route, RouterName)
	switch {
	case admitted == nil:
		return Claim{Reason: ReasonPending, Message: fmt.Sprintf("waiting for the default router to admit Route %s/%s, which claims %s for the platform", Namespace, RouteName, host)}
	case admitted.Status == corev1.ConditionTrue:
		return Claim{Proven: true, Reason: ReasonClaimed, Message: fmt.Sprintf("%s is claimed by %s (Route %s, admitted by the default router)", host, Namespace, RouteName)}
	case admitted.Reason == hostAlreadyClaimed:
		return Claim{Reason: ReasonClaimedElsewhere, Hard: true, Message: fmt.Sprintf(
			"another namespace routed %s first, so the router gives it the host and not %s: %q. Until the host is the platform's, a tenant could answer the API certificate's challenges, so the proxy stays off. Find the route with: oc get routes -A -o jsonpath='{range .items[?(@.spec.host==\"%s\")]}{.metadata.namespace}/{.metadata.name}{\"\\n\"}{end}'; delete it (or change its host), and the claim is admitted",
			host, Namespace, admitted.Message, host)}
	}
	return Claim{Reason: ReasonPending, Hard: true, Message: fmt.Sprintf("the default router did not admit Route %s/%s (%s: %s); the proxy stays off until it does",
		Namespace, RouteName, admitted.Reason, admitted.Message)}
}

// ownership is the IngressController's namespace ownership, Strict when
// unset, as the ingress operator defaults it.
func ownership(ic *operatorv1.IngressController) operatorv1.NamespaceOwnershipCheck {
	if ic.Spec.RouteAdmission == nil || ic.Spec.RouteAdmission.NamespaceOwnership == "" {
		return strictNamespaceOwnership
	}
	return ic.Spec.RouteAdmission.NamespaceOwnership
}

// admittedBy is the Admitted condition that the router wrote for host.
func admittedBy(route *routev1.Route, router string) *routev1.RouteIngressCondition {
	for _, ingress := range route.Status.Ingress {
		if ingress.RouterName != router || ingress.Host != route.Spec.Host {
			continue
		}
		for i := range ingress.Conditions {
			if ingress.Conditions[i].Type == routev1.RouteAdmitted {
				return &ingress.Conditions[i]
			}
		}
	}
	return nil
}
