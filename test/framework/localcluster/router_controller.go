package localcluster

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	operatorv1 "github.com/openshift/api/operator/v1"
	routev1 "github.com/openshift/api/route/v1"
	operatorclient "github.com/openshift/client-go/operator/clientset/versioned"
	operatorinformers "github.com/openshift/client-go/operator/informers/externalversions"
	operatorv1listers "github.com/openshift/client-go/operator/listers/operator/v1"
	routeclient "github.com/openshift/client-go/route/clientset/versioned"
	routeinformers "github.com/openshift/client-go/route/informers/externalversions"
	routev1listers "github.com/openshift/client-go/route/listers/route/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	discoveryv1listers "k8s.io/client-go/listers/discovery/v1"
	networkingv1listers "k8s.io/client-go/listers/networking/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"
)

// The default IngressController, whose routeAdmission the router applies.
const (
	ingressOperatorNamespace = "openshift-ingress-operator"
	defaultIngressController = "default"
)

// routerControl is the router's view of the cluster, and the two
// controllers that keep it: OpenShift's ingress-to-route controller, which
// makes a Route in an Ingress's namespace for each of its paths, and the
// router's route admission, which writes each Route's status.
type routerControl struct {
	kube   kubernetes.Interface
	routes routeclient.Interface

	routeLister      routev1listers.RouteLister
	ingressLister    networkingv1listers.IngressLister
	serviceLister    corev1listers.ServiceLister
	sliceLister      discoveryv1listers.EndpointSliceLister
	controllerLister operatorv1listers.IngressControllerLister
}

// WatchRoutes starts the router's informers and its two controllers, waits
// for the caches, and returns the routes they make. They stop with ctx.
func WatchRoutes(ctx context.Context, kube kubernetes.Interface, routes routeclient.Interface, operators operatorclient.Interface) (RouteTable, error) {
	kubeInformers := informers.NewSharedInformerFactory(kube, 0)
	routeInformers := routeinformers.NewSharedInformerFactory(routes, 0)
	operatorInformers := operatorinformers.NewSharedInformerFactoryWithOptions(operators, 0, operatorinformers.WithNamespace(ingressOperatorNamespace))
	c := &routerControl{
		kube:             kube,
		routes:           routes,
		routeLister:      routeInformers.Route().V1().Routes().Lister(),
		ingressLister:    kubeInformers.Networking().V1().Ingresses().Lister(),
		serviceLister:    kubeInformers.Core().V1().Services().Lister(),
		sliceLister:      kubeInformers.Discovery().V1().EndpointSlices().Lister(),
		controllerLister: operatorInformers.Operator().V1().IngressControllers().Lister(),
	}
	// One key: every change reconciles everything, which is cheap at the
	// local cluster's size.
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { queue.Add("all") },
		UpdateFunc: func(any, any) { queue.Add("all") },
		DeleteFunc: func(any) { queue.Add("all") },
	}
	for _, informer := range []cache.SharedIndexInformer{
		routeInformers.Route().V1().Routes().Informer(),
		kubeInformers.Networking().V1().Ingresses().Informer(),
		kubeInformers.Core().V1().Services().Informer(),
		kubeInformers.Discovery().V1().EndpointSlices().Informer(),
		operatorInformers.Operator().V1().IngressControllers().Informer(),
	} {
		if _, err := informer.AddEventHandler(handler); err != nil {
			return nil, err
		}
	}
	kubeInformers.Start(ctx.Done())
	routeInformers.Start(ctx.Done())
	operatorInformers.Start(ctx.Done())
	for _, synced := range []map[string]bool{typeNames(kubeInformers.WaitForCacheSync(ctx.Done())), typeNames(routeInformers.WaitForCacheSync(ctx.Done())), typeNames(operatorInformers.WaitForCacheSync(ctx.Done()))} {
		for informer, ok := range synced {
			if !ok {
				return nil, fmt.Errorf("the router's %s informer did not sync", informer)
			}
		}
	}
	go func() {
		<-ctx.Done()
		queue.ShutDown()
	}()
	go func() {
		for {
			key, shutdown := queue.Get()
			if shutdown {
				return
			}
			if err := c.reconcile(ctx); err != nil {
				klog.ErrorS(err, "Reconciling routes")
				queue.AddRateLimited(key)
			} else {
				queue.Forget(key)
			}
			queue.Done(key)
		}
	}()
	return c, nil
}

func typeNames[K comparable](m map[K]bool) map[string]bool {
	out := map[string]bool{}
	for k, v := range m {
		out[fmt.Sprint(k)] = v
	}
	return out
}

func (c *routerControl) reconcile(ctx context.Context) error {
	if err := c.ingressesToRoutes(ctx); err != nil {
		return err
	}
	return c.admitRoutes(ctx)
}

// ingressesToRoutes makes a Route for each path of each Ingress of class
// IngressClass, owned by the Ingress, as OpenShift's ingress-to-route
// controller does; the garbage collector deletes them with the Ingress.
func (c *routerControl) ingressesToRoutes(ctx context.Context) error {
	ingresses, err := c.ingressLister.List(labels.Everything())
	if err != nil {
		return err
	}
	for _, ing := range ingresses {
		if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != IngressClass || ing.DeletionTimestamp != nil {
			continue
		}
		for i, desired := range c.routesOf(ing) {
			if err := c.applyRoute(ctx, desired); err != nil {
				return fmt.Errorf("the Route of path %d of Ingress %s/%s: %w", i, ing.Namespace, ing.Name, err)
			}
		}
	}
	return nil
}

// routesOf are the Routes of an Ingress, one per rule and path whose
// Service exists.
func (c *routerControl) routesOf(ing *networkingv1.Ingress) []*routev1.Route {
	var out []*routev1.Route
	n := 0
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			n++
			backend := p.Backend.Service
			if backend == nil {
				continue
			}
			svc, err := c.serviceLister.Services(ing.Namespace).Get(backend.Name)
			if err != nil {
				continue // made once the Service is there
			}
			target, err := RouteTargetPort(svc, backend.Port.Number, backend.Port.Name)
			if err != nil {
				continue
			}
			out = append(out, &routev1.Route{
				ObjectMeta: metav1.ObjectMeta{
					Namespace: ing.Namespace,
					Name:      ing.Name + "-" + strconv.Itoa(n),
					Labels:    ing.Labels,
					OwnerReferences: []metav1.OwnerReference{{
						APIVersion: "networking.k8s.io/v1", Kind: "Ingress", Name: ing.Name, UID: ing.UID, Controller: ptr.To(true),
					}},
				},
				Spec: routev1.RouteSpec{
					Host:           rule.Host,
					Path:           p.Path,
					To:             routev1.RouteTargetReference{Kind: "Service", Name: backend.Name, Weight: ptr.To[int32](100)},
					Port:           &routev1.RoutePort{TargetPort: target},
					WildcardPolicy: routev1.WildcardPolicyNone,
				},
			})
		}
	}
	return out
}

func (c *routerControl) applyRoute(ctx context.Context, desired *routev1.Route) error {
	current, err := c.routeLister.Routes(desired.Namespace).Get(desired.Name)
	if apierrors.IsNotFound(err) {
		_, err = c.routes.RouteV1().Routes(desired.Namespace).Create(ctx, desired, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil
		}
		return err
	}
	if err != nil || equality.Semantic.DeepEqual(current.Spec, desired.Spec) {
		return err
	}
	updated := current.DeepCopy()
	updated.Spec = desired.Spec
	_, err = c.routes.RouteV1().Routes(desired.Namespace).Update(ctx, updated, metav1.UpdateOptions{})
	return err
}

// admitRoutes writes the default router's verdict into every Route's
// status.
func (c *routerControl) admitRoutes(ctx context.Context) error {
	routes, err := c.routeLister.List(labels.Everything())
	if err != nil {
		return err
	}
	admissions := Admit(routes, c.ownership())
	for _, r := range routes {
		if err := c.writeAdmission(ctx, r, admissions[r.Namespace+"/"+r.Name]); err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("writing the status of Route %s/%s: %w", r.Namespace, r.Name, err)
		}
	}
	return nil
}

// ownership is the default IngressController's namespace ownership,
// Strict when unset or absent, as the ingress operator defaults it.
func (c *routerControl) ownership() operatorv1.NamespaceOwnershipCheck {
	ic, err := c.controllerLister.IngressControllers(ingressOperatorNamespace).Get(defaultIngressController)
	if err != nil || ic.Spec.RouteAdmission == nil || ic.Spec.RouteAdmission.NamespaceOwnership == "" {
		return operatorv1.StrictNamespaceOwnershipCheck
	}
	return ic.Spec.RouteAdmission.NamespaceOwnership
}

func (c *routerControl) writeAdmission(ctx context.Context, r *routev1.Route, a Admission) error {
	status := corev1.ConditionFalse
	if a.Admitted {
		status = corev1.ConditionTrue
	}
	want := routev1.RouteIngress{
		Host: r.Spec.Host, RouterName: RouterName, WildcardPolicy: routev1.WildcardPolicyNone,
		Conditions: []routev1.RouteIngressCondition{{Type: routev1.RouteAdmitted, Status: status, Reason: a.Reason, Message: a.Message}},
	}
	var others []routev1.RouteIngress
	for _, ingress := range r.Status.Ingress {
		if ingress.RouterName != RouterName {
			others = append(others, ingress)
			continue
		}
		if sameAdmission(ingress, want) {
			return nil
		}
	}
	now := metav1.NewTime(time.Now())
	want.Conditions[0].LastTransitionTime = &now
	updated := r.DeepCopy()
	updated.Status.Ingress = append(others, want)
	_, err := c.routes.RouteV1().Routes(r.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	return err
}

func sameAdmission(got, want routev1.RouteIngress) bool {
	if got.Host != want.Host || len(got.Conditions) != 1 {
		return false
	}
	g, w := got.Conditions[0], want.Conditions[0]
	return g.Type == w.Type && g.Status == w.Status && g.Reason == w.Reason && g.Message == w.Message
}

// Lookup routes by the admitted Routes.
func (c *routerControl) Lookup(host, path string) (netip.AddrPort, error) {
	routes, err := c.routeLister.List(labels.Everything())
	if err != nil {
		return netip.AddrPort{}, err
	}
	route, err := MatchRoute(routes, Admit(routes, c.ownership()), host, path)
	if err != nil {
		return netip.AddrPort{}, err
	}
	slices, err := c.sliceLister.EndpointSlices(route.Namespace).List(labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: route.Spec.To.Name}))
	if err != nil {
		return netip.AddrPort{}, err
	}
	return ReadyEndpoint(route, slices)
}
