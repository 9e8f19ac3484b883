package gate

import (
	"errors"
	"fmt"

	configv1informers "github.com/openshift/client-go/config/informers/externalversions/config/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/cache"

	configv1alpha1informers "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/informers/externalversions/config/v1alpha1"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// Inputs reads what Decide needs from informer caches. Every controller that
// acts on the decision goes through it, so that they all agree on what an
// unreadable input means.
type Inputs struct {
	infrastructures configv1informers.InfrastructureInformer
	configs         configv1alpha1informers.HTTP01ChallengeProxyInformer
}

// NewInputs returns Inputs reading the Infrastructure and config singletons
// from these informers. It registers them with their factories, so that
// starting the factories afterwards starts them.
func NewInputs(infrastructures configv1informers.InfrastructureInformer, configs configv1alpha1informers.HTTP01ChallengeProxyInformer) Inputs {
	infrastructures.Informer()
	configs.Informer()
	return Inputs{infrastructures: infrastructures, configs: configs}
}

// Informers are the informers a controller acting on the decision must
// watch, so that it syncs again when the decision may have changed.
func (in Inputs) Informers() []cache.SharedIndexInformer {
	return []cache.SharedIndexInformer{in.infrastructures.Informer(), in.configs.Informer()}
}

// ErrNotSynced is returned while the caches are still filling. A lister
// answers NotFound for everything before then.
var ErrNotSynced = errors.New("the Infrastructure and HTTP01ChallengeProxy caches have not synced yet")

// Decide returns the decision for what the caches hold now.
//
// An error means the decision is unknown, not negative: the caches have not
// synced, or the Infrastructure is missing (which never happens on a healthy
// cluster) or unreadable. Callers must then leave everything as it is and
// retry, because removing the proxy on a transient read failure would break
// certificate renewal on a cluster that needs it.
//
// A missing config singleton, once synced, is not an error: its absence
// means the default, empty spec, which is disabled. The CVO recreates it.
func (in Inputs) Decide() (Decision, error) {
	if !in.infrastructures.Informer().HasSynced() || !in.configs.Informer().HasSynced() {
		return Decision{}, ErrNotSynced
	}

	infra, err := in.infrastructures.Lister().Get(names.SingletonName)
	if apierrors.IsNotFound(err) {
		return Decision{}, fmt.Errorf("infrastructures.config.openshift.io/%s does not exist; leaving the proxy as it is until it does", names.SingletonName)
	}
	if err != nil {
		return Decision{}, fmt.Errorf("reading infrastructures.config.openshift.io/%s: %w", names.SingletonName, err)
	}

	cfg, err := in.configs.Lister().Get(names.SingletonName)
	switch {
	case apierrors.IsNotFound(err):
		cfg = nil
	case err != nil:
		return Decision{}, fmt.Errorf("reading http01challengeproxies.config.openshift.io/%s: %w", names.SingletonName, err)
	}

	return Decide(infra, cfg), nil
}
