// Package operator runs the HTTP-01 challenge proxy operator: it deploys the
// proxy DaemonSet on bare-metal control-plane nodes when the admin enables
// it, and reports on the ClusterOperator and the config singleton.
package operator

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	configclient "github.com/openshift/client-go/config/clientset/versioned"
	configinformers "github.com/openshift/client-go/config/informers/externalversions"
	operatorclient "github.com/openshift/client-go/operator/clientset/versioned"
	operatorinformers "github.com/openshift/client-go/operator/informers/externalversions"
	routeclient "github.com/openshift/client-go/route/clientset/versioned"
	routeinformers "github.com/openshift/client-go/route/informers/externalversions"
	"github.com/openshift/library-go/pkg/controller/controllercmd"
	"github.com/openshift/library-go/pkg/controller/factory"
	"github.com/openshift/library-go/pkg/operator/genericoperatorclient"
	"github.com/openshift/library-go/pkg/operator/loglevel"
	"github.com/openshift/library-go/pkg/operator/managementstatecontroller"
	"github.com/openshift/library-go/pkg/operator/status"
	"github.com/openshift/library-go/pkg/operator/v1helpers"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	proxyclient "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/clientset/versioned"
	proxyinformers "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/informers/externalversions"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/apihostclaim"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/clientca"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/configstatus"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/daemonset"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/disabledcondition"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/staticresources"
)

// informerResync makes every informer replay its objects now and then, as a
// safety net behind the watches. The replay only triggers reads: the
// controllers write nothing when nothing changed.
const informerResync = 10 * time.Minute

// Settings are what the operator Deployment passes in its environment.
type Settings struct {
	// OperandImage is the image the proxy DaemonSet runs.
	OperandImage string
	// ReleaseVersion is reported as the ClusterOperator's "operator"
	// version once the DaemonSet has rolled out; empty reports nothing.
	ReleaseVersion string
}

// SettingsFromEnv reads OPERAND_IMAGE and RELEASE_VERSION.
func SettingsFromEnv() (Settings, error) {
	s := Settings{OperandImage: os.Getenv(names.OperandImageEnv), ReleaseVersion: os.Getenv(names.ReleaseVersionEnv)}
	if s.OperandImage == "" {
		return s, fmt.Errorf("%s must name the image the proxy DaemonSet runs", names.OperandImageEnv)
	}
	if s.ReleaseVersion == "" {
		klog.Warningf("%s is not set: the ClusterOperator will report no version", names.ReleaseVersionEnv)
	}
	return s, nil
}

// RunOperator is controllercmd's start function: it runs the operator with
// the settings of its environment until ctx is done.
func RunOperator(ctx context.Context, cc *controllercmd.ControllerContext) error {
	settings, err := SettingsFromEnv()
	if err != nil {
		return err
	}
	return Run(ctx, cc, settings)
}

// Run builds the clients, informers and controllers and runs them until ctx
// is done. It returns once every controller has stopped.
func Run(ctx context.Context, cc *controllercmd.ControllerContext, settings Settings) error {
	// Clients. Built-in kinds go over protobuf; CRs need JSON.
	kubeClient, err := kubernetes.NewForConfig(cc.ProtoKubeConfig)
	if err != nil {
		return err
	}
	configClient, err := configclient.NewForConfig(cc.KubeConfig)
	if err != nil {
		return err
	}
	proxyClient, err := proxyclient.NewForConfig(cc.KubeConfig)
	if err != nil {
		return err
	}
	routeClient, err := routeclient.NewForConfig(cc.KubeConfig)
	if err != nil {
		return err
	}
	ingressOperatorClient, err := operatorclient.NewForConfig(cc.KubeConfig)
	if err != nil {
		return err
	}

	// Informers, each scoped to the objects this operator needs. It never
	// watches cluster-wide Pods or Nodes: node state reaches it through the
	// DaemonSet's status only.
	kubeInformers := v1helpers.NewKubeInformersForNamespaces(kubeClient, names.OperandNamespace)
	clusterConfigInformers := configinformers.NewSharedInformerFactoryWithOptions(configClient, informerResync,
		configinformers.WithTweakListOptions(named(names.SingletonName)))
	clusterOperatorInformers := configinformers.NewSharedInformerFactoryWithOptions(configClient, informerResync,
		configinformers.WithTweakListOptions(named(names.ClusterOperator)))
	configInformers := proxyinformers.NewSharedInformerFactoryWithOptions(proxyClient, informerResync,
		proxyinformers.WithTweakListOptions(named(names.SingletonName)))
	operatorClient, operatorInformers, err := genericoperatorclient.NewClusterScopedOperatorClient(
		cc.Clock, cc.KubeConfig, operatorResource, operatorKind, extractOperatorSpec, extractOperatorStatus)
	if err != nil {
		return err
	}

	// The client CA bundle's source in kube-system and its copy, each
	// watched alone, by name.
	clientCAInformers := clientca.NewInformers(kubeClient)
	// The claim on the API host: the claim Route in openshift-config and
	// the default IngressController, each watched alone, by name.
	claimRouteInformers := routeinformers.NewSharedInformerFactoryWithOptions(routeClient, informerResync,
		routeinformers.WithNamespace(apihostclaim.Namespace), routeinformers.WithTweakListOptions(named(apihostclaim.RouteName)))
	ingressControllerInformers := operatorinformers.NewSharedInformerFactoryWithOptions(ingressOperatorClient, informerResync,
		operatorinformers.WithNamespace(apihostclaim.IngressControllerNamespace), operatorinformers.WithTweakListOptions(named(apihostclaim.IngressControllerName)))
	claims := apihostclaim.NewSource(claimRouteInformers.Route().V1().Routes(), ingressControllerInformers.Operator().V1().IngressControllers())

	inputs := gate.NewInputs(
		clusterConfigInformers.Config().V1().Infrastructures(),
		configInformers.Config().V1alpha1().HTTP01ChallengeProxies(),
		operatorClient,
		claims)
	daemonSets := kubeInformers.InformersFor(names.OperandNamespace).Apps().V1().DaemonSets()
	clusterOperators := clusterOperatorInformers.Config().V1().ClusterOperators()
	versions := status.NewVersionGetter()

	controllers := []factory.Controller{
		staticresources.NewController(operatorClient, inputs, kubeClient, kubeInformers, cc.EventRecorder),
		clientca.NewController(operatorClient, inputs, kubeClient.CoreV1(), clientCAInformers, cc.EventRecorder),
		apihostclaim.NewController(operatorClient, inputs, routeClient.RouteV1(), claims, clusterConfigInformers.Config().V1().Infrastructures(), cc.EventRecorder),
		daemonset.NewController(operatorClient, inputs, kubeClient.AppsV1(), daemonSets, clusterConfigInformers.Config().V1().APIServers(), versions,
			settings.OperandImage, settings.ReleaseVersion, cc.EventRecorder),
		disabledcondition.NewController(inputs, configClient.ConfigV1(), clusterOperators, cc.Clock, cc.EventRecorder),
		configstatus.NewController(inputs, proxyClient.ConfigV1alpha1(), configInformers.Config().V1alpha1().HTTP01ChallengeProxies(),
			daemonSets, cc.Clock, cc.EventRecorder),
		status.NewClusterOperatorStatusController(names.ClusterOperator, RelatedObjects(), configClient.ConfigV1(),
			clusterOperators, operatorClient, versions, cc.EventRecorder, cc.Clock).
			WithDegradedInertia(degradedInertia()),
		loglevel.NewClusterOperatorLoggingController(operatorClient, cc.EventRecorder),
		// Reports a managementState this operator does not support (Force,
		// or none) as ManagementStateDegraded. Removed and Unmanaged are
		// supported: gate.Inputs turns them into what every controller does.
		managementstatecontroller.NewOperatorManagementStateController(names.OperatorName, operatorClient, cc.EventRecorder),
	}

	// Start the informers only now: the controllers above registered the
	// ones they use, and a factory starts only registered informers.
	kubeInformers.Start(ctx.Done())
	clientCAInformers.Start(ctx.Done())
	claimRouteInformers.Start(ctx.Done())
	ingressControllerInformers.Start(ctx.Done())
	clusterConfigInformers.Start(ctx.Done())
	clusterOperatorInformers.Start(ctx.Done())
	configInformers.Start(ctx.Done())
	operatorInformers.Start(ctx.Done())

	var wg sync.WaitGroup
	for _, c := range controllers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Run(ctx, 1)
		}()
	}
	<-ctx.Done()
	// Return only once every controller has stopped, so that a restart
	// (or the next integration test) never overlaps with this instance.
	wg.Wait()
	return nil
}

// named scopes an informer to the one object of that name.
func named(name string) func(*metav1.ListOptions) {
	return func(options *metav1.ListOptions) {
		options.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
	}
}

// RelatedObjects are what `oc adm inspect clusteroperator/http01-challenge-proxy`
// and must-gather collect: every object that docs/troubleshooting.md and the
// alerts send an admin to, and the inputs the operator decides on. A
// namespace brings its pods and their logs, events, ConfigMaps, Services and
// workloads; the rest is named because inspecting a namespace skips it:
// cluster-scoped objects, custom resources, ServiceAccounts, RBAC and
// NetworkPolicies, and anything in kube-system. manifests/ ships the same
// list on the ClusterOperator, for must-gather to work before the operator
// has ever run.
func RelatedObjects() []configv1.ObjectReference {
	const (
		config     = "config.openshift.io"
		rbac       = "rbac.authorization.k8s.io"
		monitoring = "monitoring.coreos.com"
		networking = "networking.k8s.io"
	)
	operand := func(group, resource, name string) configv1.ObjectReference {
		return configv1.ObjectReference{Group: group, Resource: resource, Namespace: names.OperandNamespace, Name: name}
	}
	inOperatorNamespace := func(group, resource, name string) configv1.ObjectReference {
		return configv1.ObjectReference{Group: group, Resource: resource, Namespace: names.OperatorNamespace, Name: name}
	}
	return []configv1.ObjectReference{
		{Resource: "namespaces", Name: names.OperatorNamespace},
		{Resource: "namespaces", Name: names.OperandNamespace},
		{Group: "operator.openshift.io", Resource: "http01challengeproxies", Name: names.SingletonName},
		{Group: config, Resource: "http01challengeproxies", Name: names.SingletonName},
		// The inputs: the platform and VIPs the gate decides on, and the TLS
		// security profile of the daemons' metrics.
		{Group: config, Resource: "infrastructures", Name: names.SingletonName},
		{Group: config, Resource: "apiservers", Name: names.SingletonName},
		// The claim on the API host, and the admission policy it relies on.
		{Group: "route.openshift.io", Resource: "routes", Namespace: apihostclaim.Namespace, Name: apihostclaim.RouteName},
		{Group: "operator.openshift.io", Resource: "ingresscontrollers", Namespace: apihostclaim.IngressControllerNamespace, Name: apihostclaim.IngressControllerName},
		// The operand, and what admits its pods.
		operand("apps", "daemonsets", names.OperandName),
		operand("", "serviceaccounts", names.OperandName),
		{Group: "security.openshift.io", Resource: "securitycontextconstraints", Name: names.SecurityContextConstraints},
		operand(rbac, "roles", names.OperandSCCRBAC),
		operand(rbac, "rolebindings", names.OperandSCCRBAC),
		// The operator's own permissions.
		inOperatorNamespace("", "serviceaccounts", names.OperatorServiceAccount),
		{Group: rbac, Resource: "clusterroles", Name: operatorClusterRole},
		{Group: rbac, Resource: "clusterrolebindings", Name: operatorClusterRole},
		operand(rbac, "roles", names.OperatorName),
		operand(rbac, "rolebindings", names.OperatorName),
		inOperatorNamespace(rbac, "roles", names.OperatorName),
		inOperatorNamespace(rbac, "rolebindings", names.OperatorName),
		// The client CA bundle that the metrics endpoints authenticate
		// with, and the binding that lets the operator read it.
		{Resource: "configmaps", Namespace: names.AuthenticationNamespace, Name: names.AuthenticationConfigMap},
		{Group: rbac, Resource: "rolebindings", Namespace: names.AuthenticationNamespace, Name: authenticationReaderBinding},
		inOperatorNamespace(networking, "networkpolicies", "default-deny"),
		inOperatorNamespace(networking, "networkpolicies", "allow-egress-to-api-server"),
		inOperatorNamespace(networking, "networkpolicies", "allow-ingress-to-metrics"),
		// How Prometheus scrapes both, and the alerts.
		inOperatorNamespace(monitoring, "servicemonitors", names.OperatorName),
		operand(monitoring, "servicemonitors", names.OperandName),
		inOperatorNamespace(rbac, "roles", prometheusRBAC),
		inOperatorNamespace(rbac, "rolebindings", prometheusRBAC),
		operand(rbac, "roles", prometheusRBAC),
		operand(rbac, "rolebindings", prometheusRBAC),
		inOperatorNamespace(monitoring, "prometheusrules", names.OperandName),
	}
}

// Names of RBAC in manifests/: the binding in kube-system to
// extension-apiserver-authentication-reader, and Prometheus's Role and
// RoleBinding in both namespaces.
const (
	authenticationReaderBinding = "http01-challenge-proxy-operator-authentication-reader"
	prometheusRBAC              = "prometheus-k8s"
)

// operatorClusterRole names the operator's ClusterRole and its binding in
// manifests/.
const operatorClusterRole = "system:openshift:operator:http01-challenge-proxy"

// degradedInertia keeps library-go's two minutes for sync errors and gives
// DaemonSetDegraded (pods unavailable) the longer daemonset.DegradedInertia,
// so that rebooting control-plane nodes do not degrade the ClusterOperator.
func degradedInertia() status.Inertia {
	return status.MustNewInertia(2*time.Minute, status.InertiaCondition{
		ConditionTypeMatcher: regexp.MustCompile("^" + daemonset.ConditionDegraded + "$"),
		Duration:             daemonset.DegradedInertia,
	}).Inertia
}
