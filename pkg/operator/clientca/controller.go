// Package clientca keeps a copy of the cluster's client CA bundle in the
// operand namespace while the proxy is enabled. The daemon's metrics server
// verifies Prometheus's client certificate against it.
//
// The bundle is client-ca-file of kube-system/extension-apiserver-authentication,
// which kube-apiserver publishes and rotates; the copy is
// openshift-http01-challenge-proxy/metrics-client-ca, which the DaemonSet
// mounts. This controller owns the copy for its whole life: it creates it,
// follows every change of the source, and deletes it once the proxy is
// disabled or removed.
package clientca

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/openshift/library-go/pkg/controller/factory"
	"github.com/openshift/library-go/pkg/operator/events"
	"github.com/openshift/library-go/pkg/operator/resource/resourceapply"
	"github.com/openshift/library-go/pkg/operator/v1helpers"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/klog/v2"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// ControllerName is the controller's name in logs and events. A failed sync
// sets the operator condition MetricsClientCAControllerDegraded.
const ControllerName = "MetricsClientCAController"

// Source names the ConfigMap the bundle is copied from, for messages.
const Source = names.AuthenticationNamespace + "/" + names.AuthenticationConfigMap

type controller struct {
	gate      gate.Inputs
	client    corev1client.ConfigMapsGetter
	informers *Informers
}

// NewController returns the controller that owns the copy. informers are
// the source's and the copy's, each watched alone by name.
func NewController(
	operatorClient v1helpers.OperatorClient,
	inputs gate.Inputs,
	client corev1client.ConfigMapsGetter,
	informers *Informers,
	recorder events.Recorder,
) factory.Controller {
	c := &controller{gate: inputs, client: client, informers: informers}
	return inputs.NewControllerFactory().
		WithInformers(informers.Source.Informer(), informers.Copy.Informer()).
		WithSync(c.sync).
		// The watches see every change of both ConfigMaps; the resync only
		// backs them up.
		ResyncEvery(5*time.Minute).
		WithSyncDegradedOnError(operatorClient).
		ToController(ControllerName, recorder.WithComponentSuffix("metrics-client-ca-controller"))
}

func (c *controller) sync(ctx context.Context, syncCtx factory.SyncContext) error {
	// The copy only serves metrics: it stays while the claim on the API
	// host is being proven, so that the daemons come back with it.
	decision, err := c.gate.DecidePlatform()
	if errors.Is(err, gate.ErrUnmanaged) {
		klog.V(4).Infof("%s: %v", ControllerName, err)
		return nil
	}
	if err != nil {
		// Unknown is not "disabled": leave the copy as it is.
		return err
	}
	current, err := cached(c.informers.Copy.Lister(), names.OperandNamespace, names.MetricsClientCAConfigMap)
	if err != nil {
		return err
	}
	source, err := cached(c.informers.Source.Lister(), names.AuthenticationNamespace, names.AuthenticationConfigMap)
	if err != nil {
		return err
	}
	required, remove, err := Plan(decision, source, current)
	switch {
	case err != nil:
		return err
	case remove:
		return c.deleteCopy(ctx, syncCtx.Recorder(), current)
	case required != nil:
		if _, _, err := resourceapply.ApplyConfigMap(ctx, c.client, syncCtx.Recorder(), required); err != nil {
			return fmt.Errorf("copying the client CA bundle of %s: %w", Source, err)
		}
	}
	return nil
}

// Plan says what to do with the copy, current (nil when there is none),
// for a known decision and the source (nil when there is none): apply
// required, remove the copy, or nothing. Only what differs is written, so
// that an idle sync writes nothing.
//
// A source without a bundle is an error and leaves the copy as it is: an
// old bundle still verifies Prometheus until kube-apiserver rotates its
// client CA.
func Plan(decision gate.Decision, source, current *corev1.ConfigMap) (required *corev1.ConfigMap, remove bool, err error) {
	if !decision.Enabled {
		return nil, current != nil, nil
	}
	required, err = Copy(source)
	if err != nil {
		return nil, false, err
	}
	if current != nil && maps.Equal(current.Data, required.Data) && len(current.BinaryData) == 0 &&
		current.Annotations[copiedFromAnnotation] == Source {
		return nil, false, nil
	}
	return required, false, nil
}

// cached returns the informer's object, nil when there is none.
func cached(lister corev1listers.ConfigMapLister, namespace, name string) (*corev1.ConfigMap, error) {
	cm, err := lister.ConfigMaps(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return cm, err
}

// deleteCopy deletes the copy if the cache still holds it, so that a
// disabled cluster sends no DELETE on every resync.
func (c *controller) deleteCopy(ctx context.Context, recorder events.Recorder, current *corev1.ConfigMap) error {
	if current == nil {
		return nil
	}
	err := c.client.ConfigMaps(names.OperandNamespace).Delete(ctx, names.MetricsClientCAConfigMap, metav1.DeleteOptions{
		Preconditions: &metav1.Preconditions{UID: &current.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		// Gone already, or replaced: the informer brings the next sync.
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting ConfigMap %s/%s: %w", names.OperandNamespace, names.MetricsClientCAConfigMap, err)
	}
	recorder.Eventf("ConfigMapDeleted", "Deleted ConfigMap %s/%s: the proxy is disabled", names.OperandNamespace, names.MetricsClientCAConfigMap)
	return nil
}

// Copy returns the copy of source: its client CA bundle alone, the one key
// the DaemonSet mounts. The front-proxy settings published beside it are
// not the daemon's business.
func Copy(source *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	var bundle string
	if source != nil {
		bundle = source.Data[names.MetricsClientCAKey]
	}
	if bundle == "" {
		return nil, fmt.Errorf("%s has no %s yet: kube-apiserver publishes it; until it does, the proxy daemons' metrics cannot verify Prometheus (challenges are not affected)",
			Source, names.MetricsClientCAKey)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   names.OperandNamespace,
			Name:        names.MetricsClientCAConfigMap,
			Annotations: map[string]string{copiedFromAnnotation: Source},
		},
		Data: map[string]string{names.MetricsClientCAKey: bundle},
	}, nil
}

// copiedFromAnnotation tells an admin reading the copy where it comes from.
const copiedFromAnnotation = "http01-challenge-proxy.openshift.io/copied-from"
