package gate

import (
	"errors"
	"fmt"

	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	configv1informers "github.com/openshift/client-go/config/informers/externalversions/config/v1"
	"github.com/openshift/library-go/pkg/controller/factory"
	"github.com/openshift/library-go/pkg/operator/v1helpers"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"

	configv1alpha1informers "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/informers/externalversions/config/v1alpha1"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// Inputs reads what Decide needs from informer caches, and the operator
// resource's management state. Every controller that acts on the decision
// goes through it, so that they all agree on what an unreadable input and
// each management state mean.
type Inputs struct {
	infrastructures configv1informers.InfrastructureInformer
	configs         configv1alpha1informers.HTTP01ChallengeProxyInformer
	operator        v1helpers.OperatorClient
	claims          Claims
}

// Claims says whether the API host is the platform's at the router, so
// that no other namespace can answer its challenges through the proxy
// (package apihostclaim).
type Claims interface {
	// Evaluate returns whether the claim on infra's API host is proven,
	// and if not, why and what to do. An error means unknown.
	Evaluate(infra *configv1.Infrastructure) (proven bool, reason, message string, err error)
	// Informers are what the claim is read from.
	Informers() []cache.SharedIndexInformer
}

// NewInputs returns Inputs reading the Infrastructure and config singletons
// from these informers, the management state from the operator client, and
// the API host's claim from claims. It registers the informers with their
// factories, so that starting the factories afterwards starts them.
func NewInputs(infrastructures configv1informers.InfrastructureInformer, configs configv1alpha1informers.HTTP01ChallengeProxyInformer, operator v1helpers.OperatorClient, claims Claims) Inputs {
	infrastructures.Informer()
	configs.Informer()
	return Inputs{infrastructures: infrastructures, configs: configs, operator: operator, claims: claims}
}

// Informers are the informers a controller acting on the decision must
// watch, so that it syncs again when the decision may have changed.
func (in Inputs) Informers() []cache.SharedIndexInformer {
	return append([]cache.SharedIndexInformer{in.infrastructures.Informer(), in.configs.Informer(), in.operator.Informer()}, in.claims.Informers()...)
}

// NewControllerFactory starts a controller that acts on the decision: it
// syncs on every change of the inputs, and only once their caches are
// filled.
func (in Inputs) NewControllerFactory() *factory.Factory {
	f := factory.New()
	for _, i := range in.Informers() {
		f = f.WithInformers(i)
	}
	return f
}

// ErrNotSynced is returned while the caches are still filling. A lister
// answers NotFound for everything before then.
var ErrNotSynced = errors.New("the Infrastructure and HTTP01ChallengeProxy caches have not synced yet")

// ErrUnmanaged is returned while the operator resource's
// spec.managementState is Unmanaged: the admin has taken the proxy over, and
// the operator must change nothing. Callers treat it as "leave everything as
// it is", like any error, but without reporting a failure.
var ErrUnmanaged = errors.New("spec.managementState of http01challengeproxies.operator.openshift.io/cluster is Unmanaged; leaving the proxy as it is")

// Decide returns the decision for what the caches hold now.
//
// An error means the decision is unknown, not negative: the caches have not
// synced, the operator resource or the Infrastructure is missing (which
// never happens on a healthy cluster) or unreadable, or the operator is
// Unmanaged (ErrUnmanaged). Callers must then leave everything as it is and
// retry, because removing the proxy on a transient read failure would break
// certificate renewal on a cluster that needs it.
//
// Removed is a decision, not an error: everything goes, whatever the
// Infrastructure and the config say. Managed, Force and an empty management
// state are managed, as library-go treats them; its management state
// controller reports the last two as unsupported.
//
// A missing config singleton, once synced, is not an error: its absence
// means the default, empty spec, which is disabled. The CVO recreates it.
func (in Inputs) Decide() (Decision, error) {
	decision, infra, err := in.decidePlatform()
	if err != nil || !decision.Enabled {
		return decision, err
	}
	// The proxy forwards for the API host only once it is the platform's:
	// until then, a tenant could answer its challenges.
	proven, reason, message, err := in.claims.Evaluate(infra)
	if err != nil {
		return Decision{}, fmt.Errorf("reading the claim on the API host: %w", err)
	}
	if !proven {
		return Decision{Reason: reason, Message: message}, nil
	}
	return decision, nil
}

// DecidePlatform is Decide before the API host's claim: whether the
// platform, the config and the management state want the proxy. The claim
// is held on this decision, and proven before Decide enables the proxy.
func (in Inputs) DecidePlatform() (Decision, error) {
	decision, _, err := in.decidePlatform()
	return decision, err
}

func (in Inputs) decidePlatform() (Decision, *configv1.Infrastructure, error) {
	if !in.infrastructures.Informer().HasSynced() || !in.configs.Informer().HasSynced() || !in.operator.Informer().HasSynced() {
		return Decision{}, nil, ErrNotSynced
	}

	spec, _, _, err := in.operator.GetOperatorState()
	if err != nil {
		return Decision{}, nil, fmt.Errorf("reading the management state of http01challengeproxies.operator.openshift.io/%s: %w", names.SingletonName, err)
	}
	switch spec.ManagementState {
	case operatorv1.Unmanaged:
		return Decision{}, nil, ErrUnmanaged
	case operatorv1.Removed:
		return Removed(), nil, nil
	}

	infra, err := in.infrastructures.Lister().Get(names.SingletonName)
	if apierrors.IsNotFound(err) {
		return Decision{}, nil, fmt.Errorf("infrastructures.config.openshift.io/%s does not exist; leaving the proxy as it is until it does", names.SingletonName)
	}
	if err != nil {
		return Decision{}, nil, fmt.Errorf("reading infrastructures.config.openshift.io/%s: %w", names.SingletonName, err)
	}

	cfg, err := in.configs.Lister().Get(names.SingletonName)
	switch {
	case apierrors.IsNotFound(err):
		cfg = nil
	case err != nil:
		return Decision{}, nil, fmt.Errorf("reading http01challengeproxies.config.openshift.io/%s: %w", names.SingletonName, err)
	}

	return Decide(infra, cfg), infra, nil
}
