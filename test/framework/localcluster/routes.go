package localcluster

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	operatorv1 "github.com/openshift/api/operator/v1"
	routev1 "github.com/openshift/api/route/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// IngressClass is the class of the Ingresses the router serves: the one
// OpenShift's ingress operator creates for the default IngressController,
// which the README's ClusterIssuer names for its solvers.
const IngressClass = "openshift-default"

// RouterName is the default router's name in the Routes' status.
const RouterName = "default"

// RouteTable finds where a request goes.
type RouteTable interface {
	// Lookup returns the endpoint that serves host and path: errNoRoute
	// when no admitted route has them, another error when the route has
	// no ready endpoint.
	Lookup(host, path string) (netip.AddrPort, error)
}

var errNoRoute = errors.New("no route for the host and path")

// Admission is the router's verdict on one Route.
type Admission struct {
	Admitted bool
	Reason   string
	Message  string
}

// Admit applies the router's route admission to every Route, by
// namespace/name. Under Strict namespace ownership (the default) a host
// belongs to the namespace of its oldest Route, and the Routes of other
// namespaces get HostAlreadyClaimed; under InterNamespaceAllowed, Routes of
// any namespace share a host, and only a host and path taken by an older
// Route is refused. Within a namespace, the oldest Route of a host and path
// wins.
func Admit(routes []*routev1.Route, ownership operatorv1.NamespaceOwnershipCheck) map[string]Admission {
	sorted := slices.Clone(routes)
	slices.SortFunc(sorted, oldestFirst)
	owner := map[string]*routev1.Route{}     // host -> oldest route
	takenPath := map[string]*routev1.Route{} // host+path -> oldest route
	out := map[string]Admission{}
	for _, r := range sorted {
		host := strings.ToLower(r.Spec.Host)
		key := r.Namespace + "/" + r.Name
		if host == "" {
			out[key] = Admission{Reason: "NoHost", Message: "the route has no host"}
			continue
		}
		first, claimed := owner[host]
		if claimed && first.Namespace != r.Namespace && ownership != operatorv1.InterNamespaceAllowedOwnershipCheck {
			out[key] = Admission{Reason: "HostAlreadyClaimed", Message: fmt.Sprintf(
				"host %s is claimed by namespace %s: route %s/%s is older", host, first.Namespace, first.Namespace, first.Name)}
			continue
		}
		pathKey := host + routePath(r)
		if older, taken := takenPath[pathKey]; taken {
			out[key] = Admission{Reason: "HostAlreadyClaimed", Message: fmt.Sprintf(
				"route %s/%s is older and has the same host %s and path %s", older.Namespace, older.Name, host, routePath(r))}
			continue
		}
		if !claimed {
			owner[host] = r
		}
		takenPath[pathKey] = r
		out[key] = Admission{Admitted: true}
	}
	return out
}

func oldestFirst(a, b *routev1.Route) int {
	if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
		return c
	}
	return cmp.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
}

func routePath(r *routev1.Route) string {
	if r.Spec.Path == "" {
		return "/"
	}
	return r.Spec.Path
}

// MatchRoute returns the admitted Route with the longest path that is a
// prefix of path, for host.
func MatchRoute(routes []*routev1.Route, admitted map[string]Admission, host, path string) (*routev1.Route, error) {
	var best *routev1.Route
	for _, r := range routes {
		if !admitted[r.Namespace+"/"+r.Name].Admitted || !strings.EqualFold(r.Spec.Host, host) || !strings.HasPrefix(path, routePath(r)) {
			continue
		}
		if best == nil || len(routePath(r)) > len(routePath(best)) {
			best = r
		}
	}
	if best == nil {
		return nil, errNoRoute
	}
	return best, nil
}

// ReadyEndpoint returns a ready endpoint of the Route's target port among
// its Service's EndpointSlices: the first in address order, so that the
// choice is stable. A named target port is matched by name, a number by
// the endpoints' port.
func ReadyEndpoint(route *routev1.Route, endpointSlices []*discoveryv1.EndpointSlice) (netip.AddrPort, error) {
	var target intstr.IntOrString
	if route.Spec.Port != nil {
		target = route.Spec.Port.TargetPort
	}
	var ready []netip.AddrPort
	for _, slice := range endpointSlices {
		for _, p := range slice.Ports {
			if p.Port == nil || !portMatches(target, p) {
				continue
			}
			for _, ep := range slice.Endpoints {
				if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
					continue
				}
				for _, a := range ep.Addresses {
					if addr, err := netip.ParseAddr(a); err == nil {
						ready = append(ready, netip.AddrPortFrom(addr, uint16(*p.Port)))
					}
				}
			}
		}
	}
	if len(ready) == 0 {
		return netip.AddrPort{}, fmt.Errorf("service %s/%s has no ready endpoint", route.Namespace, route.Spec.To.Name)
	}
	slices.SortFunc(ready, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return ready[0], nil
}

func portMatches(target intstr.IntOrString, p discoveryv1.EndpointPort) bool {
	switch {
	case target.Type == intstr.String && target.StrVal != "":
		return p.Name != nil && *p.Name == target.StrVal
	case target.Type == intstr.Int && target.IntVal != 0:
		return *p.Port == target.IntVal
	}
	return true // no port: the first the Service has
}

// RouteTargetPort is the target port OpenShift's ingress-to-route
// controller gives the Route of an Ingress backend: the Service port's name
// if it has one, else its target port.
func RouteTargetPort(svc *corev1.Service, number int32, name string) (intstr.IntOrString, error) {
	for _, p := range svc.Spec.Ports {
		if (name != "" && p.Name == name) || (name == "" && p.Port == number) {
			if p.Name != "" {
				return intstr.FromString(p.Name), nil
			}
			return p.TargetPort, nil
		}
	}
	return intstr.IntOrString{}, fmt.Errorf("service %s/%s has no port %q/%d", svc.Namespace, svc.Name, name, number)
}
