package apihostclaim

import (
	"fmt"

	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	routev1 "github.com/openshift/api/route/v1"
	operatorv1informers "github.com/openshift/client-go/operator/informers/externalversions/operator/v1"
	routev1informers "github.com/openshift/client-go/route/informers/externalversions/route/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"
)

// Source evaluates the claim from informer caches of the claim Route and
// the default IngressController, each watched alone by name. It is the
// gate's view of the claim (gate.Claims).
type Source struct {
	routes             routev1informers.RouteInformer
	ingressControllers operatorv1informers.IngressControllerInformer
}

// NewSource returns a Source over the two informers, which must be scoped
// to the claim Route and the default IngressController. It registers them
// with their factories.
func NewSource(routes routev1informers.RouteInformer, ingressControllers operatorv1informers.IngressControllerInformer) Source {
	routes.Informer()
	ingressControllers.Informer()
	return Source{routes: routes, ingressControllers: ingressControllers}
}

// Informers are the claim Route's and the default IngressController's.
func (s Source) Informers() []cache.SharedIndexInformer {
	return []cache.SharedIndexInformer{s.routes.Informer(), s.ingressControllers.Informer()}
}

// Claim evaluates the claim for the API host of infra. An error means it
// cannot be known yet: the caches have not synced, or a read failed.
func (s Source) Claim(infra *configv1.Infrastructure) (Claim, error) {
	if !s.routes.Informer().HasSynced() || !s.ingressControllers.Informer().HasSynced() {
		return Claim{}, fmt.Errorf("the caches of Route %s/%s and IngressController %s/%s have not synced yet", Namespace, RouteName, IngressControllerNamespace, IngressControllerName)
	}
	host, err := APIHost(infra)
	if err != nil {
		return Claim{Reason: ReasonUnknownAPIHost, Hard: true, Message: err.Error() + "; the proxy stays off until the API host is known"}, nil
	}
	route, err := s.route()
	if err != nil {
		return Claim{}, err
	}
	ic, err := s.ingressController()
	if err != nil {
		return Claim{}, err
	}
	return Evaluate(host, route, ic), nil
}

// Evaluate is Claim in the gate's terms.
func (s Source) Evaluate(infra *configv1.Infrastructure) (proven bool, reason, message string, err error) {
	c, err := s.Claim(infra)
	return c.Proven, c.Reason, c.Message, err
}

func (s Source) route() (*routev1.Route, error) {
	r, err := s.routes.Lister().Routes(Namespace).Get(RouteName)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return r, err
}

func (s Source) ingressController() (*operatorv1.IngressController, error) {
	ic, err := s.ingressControllers.Lister().IngressControllers(IngressControllerNamespace).Get(IngressControllerName)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return ic, err
}
