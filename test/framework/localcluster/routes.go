package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
)

// IngressClass is the class of the Ingresses the router serves: the one
// OpenShift's ingress operator creates for the default IngressController,
// which the README's ClusterIssuer names for its solvers.
const IngressClass = "openshift-default"

// RouteTable finds where a request goes.
type RouteTable interface {
	// Lookup returns the endpoint that serves host and path: errNoRoute
	// when no route has the host, errNoPath when none of its routes has
	// the path, another error when the route has no ready endpoint.
	Lookup(host, path string) (netip.AddrPort, error)
}

var (
	errNoRoute = errors.New("no route for the host")
	errNoPath  = errors.New("no route for the path")
)

// ingressRoutes is a RouteTable over informer caches of the cluster's
// Ingresses, Services and EndpointSlices.
type ingressRoutes struct {
	ingresses func() ([]*networkingv1.Ingress, error)
	service   func(namespace, name string) (*corev1.Service, error)
	slices    func(namespace, service string) ([]*discoveryv1.EndpointSlice, error)
}

// WatchRoutes starts informers on the cluster's Ingresses, Services and
// EndpointSlices, waits for them, and returns the routes they make. They
// stop with ctx.
func WatchRoutes(ctx context.Context, client kubernetes.Interface) (RouteTable, error) {
	factory := informers.NewSharedInformerFactory(client, 0)
	ingresses := factory.Networking().V1().Ingresses().Lister()
	services := factory.Core().V1().Services().Lister()
	endpointSlices := factory.Discovery().V1().EndpointSlices().Lister()
	factory.Start(ctx.Done())
	for informer, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return nil, fmt.Errorf("the router's %v informer did not sync", informer)
		}
	}
	return ingressRoutes{
		ingresses: func() ([]*networkingv1.Ingress, error) { return ingresses.List(labels.Everything()) },
		service: func(namespace, name string) (*corev1.Service, error) {
			return services.Services(namespace).Get(name)
		},
		slices: func(namespace, service string) ([]*discoveryv1.EndpointSlice, error) {
			return endpointSlices.EndpointSlices(namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: service}))
		},
	}, nil
}

func (r ingressRoutes) Lookup(host, path string) (netip.AddrPort, error) {
	all, err := r.ingresses()
	if err != nil {
		return netip.AddrPort{}, err
	}
	namespace, backend, err := MatchIngress(all, host, path)
	if err != nil {
		return netip.AddrPort{}, err
	}
	svc, err := r.service(namespace, backend.Name)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("service %s/%s: %w", namespace, backend.Name, err)
	}
	endpointSlices, err := r.slices(namespace, backend.Name)
	if err != nil {
		return netip.AddrPort{}, err
	}
	return ReadyEndpoint(svc, backend.Port, endpointSlices)
}

// MatchIngress returns the backend of the Ingress rule of class
// IngressClass with the longest path that matches host and path, as the
// router matches routes; among equal paths the oldest Ingress wins.
func MatchIngress(ingresses []*networkingv1.Ingress, host, path string) (string, networkingv1.IngressServiceBackend, error) {
	var (
		best      *networkingv1.Ingress
		bestPath  string
		backend   networkingv1.IngressServiceBackend
		hostKnown bool
	)
	for _, ing := range ingresses {
		if !ofRouterClass(ing) {
			continue
		}
		for _, rule := range ing.Spec.Rules {
			if !strings.EqualFold(rule.Host, host) || rule.HTTP == nil {
				continue
			}
			hostKnown = true
			for _, p := range rule.HTTP.Paths {
				if p.Backend.Service == nil || !pathMatches(p, path) {
					continue
				}
				if best == nil || len(p.Path) > len(bestPath) || (len(p.Path) == len(bestPath) && older(ing, best)) {
					best, bestPath, backend = ing, p.Path, *p.Backend.Service
				}
			}
		}
	}
	switch {
	case best != nil:
		return best.Namespace, backend, nil
	case hostKnown:
		return "", backend, errNoPath
	}
	return "", backend, errNoRoute
}

func ofRouterClass(ing *networkingv1.Ingress) bool {
	return ing.Spec.IngressClassName != nil && *ing.Spec.IngressClassName == IngressClass
}

// pathMatches applies the Ingress path types: Exact, Prefix by path
// elements, and, for ImplementationSpecific, the router's plain prefix.
func pathMatches(p networkingv1.HTTPIngressPath, path string) bool {
	want := p.Path
	if want == "" {
		want = "/"
	}
	switch {
	case p.PathType != nil && *p.PathType == networkingv1.PathTypeExact:
		return path == want
	case p.PathType != nil && *p.PathType == networkingv1.PathTypePrefix:
		trimmed := strings.TrimSuffix(want, "/")
		return path == trimmed || strings.HasPrefix(path, trimmed+"/")
	}
	return strings.HasPrefix(path, want)
}

func older(a, b *networkingv1.Ingress) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
}

// ReadyEndpoint returns a ready endpoint of svc's port, from its
// EndpointSlices: the first in address order, so that the choice is
// stable.
func ReadyEndpoint(svc *corev1.Service, port networkingv1.ServiceBackendPort, endpointSlices []*discoveryv1.EndpointSlice) (netip.AddrPort, error) {
	servicePort, err := backendPort(svc, port)
	if err != nil {
		return netip.AddrPort{}, err
	}
	var ready []netip.AddrPort
	for _, slice := range endpointSlices {
		var target *int32
		for _, p := range slice.Ports {
			if p.Port != nil && ptrValue(p.Name) == servicePort.Name {
				target = p.Port
			}
		}
		if target == nil {
			continue
		}
		for _, ep := range slice.Endpoints {
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			for _, a := range ep.Addresses {
				if addr, err := netip.ParseAddr(a); err == nil {
					ready = append(ready, netip.AddrPortFrom(addr, uint16(*target)))
				}
			}
		}
	}
	if len(ready) == 0 {
		return netip.AddrPort{}, fmt.Errorf("service %s/%s has no ready endpoint", svc.Namespace, svc.Name)
	}
	slices.SortFunc(ready, func(a, b netip.AddrPort) int { return a.Compare(b) })
	return ready[0], nil
}

// backendPort is the Service port an Ingress backend names, by number or
// by name.
func backendPort(svc *corev1.Service, port networkingv1.ServiceBackendPort) (corev1.ServicePort, error) {
	for _, p := range svc.Spec.Ports {
		if (port.Name != "" && p.Name == port.Name) || (port.Name == "" && p.Port == port.Number) {
			return p, nil
		}
	}
	return corev1.ServicePort{}, fmt.Errorf("service %s/%s has no port %v", svc.Namespace, svc.Name, port)
}

func ptrValue(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
