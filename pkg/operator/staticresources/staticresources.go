// Package staticresources applies the proxy's ServiceAccount, SCC RBAC and
// metrics Service from bindata while the proxy is enabled, and removes them
// once it is disabled or removed, with library-go's static resource
// controller.
package staticresources

import (
	"github.com/openshift/library-go/pkg/controller/factory"
	"github.com/openshift/library-go/pkg/operator/events"
	"github.com/openshift/library-go/pkg/operator/resource/resourceapply"
	"github.com/openshift/library-go/pkg/operator/staticresourcecontroller"
	"github.com/openshift/library-go/pkg/operator/v1helpers"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/kubernetes"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/bindata"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// InstanceName prefixes the controller's condition:
// OperandStaticResourcesDegraded is True while applying or deleting fails.
const InstanceName = "OperandStaticResources"

// Files are the bindata files this controller applies and deletes, all in
// the operand namespace. The DaemonSet is not among them: the static
// resource controller cannot apply DaemonSets, so the daemonset package owns
// it.
var Files = []string{
	"assets/serviceaccount.yaml",
	"assets/scc-role.yaml",
	"assets/scc-rolebinding.yaml",
	"assets/metrics-service.yaml",
}

// NewController returns the static resource controller for Files.
//
// It passes an explicit delete function to WithConditionalResources: with
// nil, library-go deletes whenever create is false, which includes "the
// Infrastructure cache has not synced" — a restart would then delete the
// proxy's RBAC and break its pods.
func NewController(
	operatorClient v1helpers.OperatorClient,
	inputs gate.Inputs,
	kubeClient kubernetes.Interface,
	kubeInformers v1helpers.KubeInformersForNamespaces,
	recorder events.Recorder,
) factory.Controller {
	operand := kubeInformers.InformersFor(names.OperandNamespace)
	serviceAccounts := operand.Core().V1().ServiceAccounts().Lister()
	roles := operand.Rbac().V1().Roles().Lister()
	roleBindings := operand.Rbac().V1().RoleBindings().Lister()
	services := operand.Core().V1().Services().Lister()

	// The present functions say whether there is anything left to delete,
	// so that a disabled cluster does not send DELETEs on every resync.
	anyPresent := func() bool {
		_, saErr := serviceAccounts.ServiceAccounts(names.OperandNamespace).Get(names.OperandName)
		_, roleErr := roles.Roles(names.OperandNamespace).Get(sccRBACName)
		_, bindingErr := roleBindings.RoleBindings(names.OperandNamespace).Get(sccRBACName)
		_, serviceErr := services.Services(names.OperandNamespace).Get(names.MetricsService)
		return !apierrors.IsNotFound(saErr) || !apierrors.IsNotFound(roleErr) || !apierrors.IsNotFound(bindingErr) || !apierrors.IsNotFound(serviceErr)
	}
	// These resources forward nothing: they stay while the claim on the
	// API host is being proven (gate.Inputs.DecidePlatform), and only the
	// DaemonSet waits for it.
	shouldCreate := func() bool {
		decision, err := inputs.DecidePlatform()
		create, _ := Actions(decision, err, anyPresent)
		return create
	}
	shouldDelete := func() bool {
		decision, err := inputs.DecidePlatform()
		_, del := Actions(decision, err, anyPresent)
		return del
	}

	c := staticresourcecontroller.NewStaticResourceController(
		InstanceName,
		bindata.Asset,
		nil, // every file is conditional, below
		resourceapply.NewKubeClientHolder(kubeClient),
		operatorClient,
		recorder,
	).
		WithConditionalResources(bindata.Asset, Files, shouldCreate, shouldDelete).
		// Watches the kinds of Files in the operand namespace, and has the
		// applies read from those caches.
		AddKubeInformers(kubeInformers)
	for _, informer := range inputs.Informers() {
		c = c.AddInformer(informer)
	}
	return c
}

// sccRBACName names the Role and RoleBinding in assets/scc-role*.yaml.
const sccRBACName = names.OperandSCCRBAC

// Actions says whether to create or delete the static resources. It is the
// whole policy, kept apart from the informers so that it can be tested:
//   - an unknown decision (err != nil, including Unmanaged) does neither;
//   - enabled creates (applying is idempotent and cheap);
//   - disabled, or removed, deletes, but only what is still there.
func Actions(decision gate.Decision, decisionErr error, anyPresent func() bool) (create, del bool) {
	if decisionErr != nil {
		return false, false
	}
	if decision.Enabled {
		return true, false
	}
	return false, anyPresent()
}
