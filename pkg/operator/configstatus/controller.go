package configstatus

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/openshift/library-go/pkg/controller/factory"
	"github.com/openshift/library-go/pkg/operator/events"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1apply "k8s.io/client-go/applyconfigurations/meta/v1"
	appsinformersv1 "k8s.io/client-go/informers/apps/v1"
	appslistersv1 "k8s.io/client-go/listers/apps/v1"
	"k8s.io/utils/clock"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
	configapplyv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/applyconfiguration/config/v1alpha1"
	configclientv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/clientset/versioned/typed/config/v1alpha1"
	configinformersv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/informers/externalversions/config/v1alpha1"
	configlistersv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/listers/config/v1alpha1"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// ControllerName is the controller's name in logs and events, and its
// server-side-apply field manager on the config singleton's status.
const ControllerName = "ConfigStatusController"

// Controller owns the status of http01challengeproxies.config.openshift.io/cluster.
// It is the only writer of that status, and writes only when the status it
// computes differs from the one on the object.
type Controller struct {
	gate       gate.Inputs
	client     configclientv1alpha1.HTTP01ChallengeProxiesGetter
	configs    configlistersv1alpha1.HTTP01ChallengeProxyLister
	daemonSets appslistersv1.DaemonSetLister
	clock      clock.PassiveClock
}

// NewController returns the config status controller.
func NewController(
	inputs gate.Inputs,
	client configclientv1alpha1.HTTP01ChallengeProxiesGetter,
	configs configinformersv1alpha1.HTTP01ChallengeProxyInformer,
	daemonSets appsinformersv1.DaemonSetInformer,
	clock clock.PassiveClock,
	recorder events.Recorder,
) factory.Controller {
	c := &Controller{
		gate:       inputs,
		client:     client,
		configs:    configs.Lister(),
		daemonSets: daemonSets.Lister(),
		clock:      clock,
	}
	return inputs.NewControllerFactory().
		WithFilteredEventsInformers(factory.NamesFilter(names.OperandName), daemonSets.Informer()).
		WithSync(c.sync).
		ResyncEvery(5*time.Minute).
		ToController(ControllerName, recorder.WithComponentSuffix("config-status-controller"))
}

func (c *Controller) sync(ctx context.Context, syncCtx factory.SyncContext) error {
	decision, err := c.gate.Decide()
	unmanaged := errors.Is(err, gate.ErrUnmanaged)
	if err != nil && !unmanaged {
		// Unknown: the status keeps saying what was last acted on.
		return err
	}

	cfg, err := c.configs.Get(names.SingletonName)
	if apierrors.IsNotFound(err) {
		// Nothing to report on; the CVO recreates the singleton.
		return nil
	}
	if err != nil {
		return err
	}

	var desired configv1alpha1.HTTP01ChallengeProxyStatus
	if unmanaged {
		desired = UnmanagedStatus(cfg.Generation, cfg.Status)
	} else {
		ds, err := c.daemonSets.DaemonSets(names.OperandNamespace).Get(names.OperandName)
		if apierrors.IsNotFound(err) {
			ds = nil
		} else if err != nil {
			return err
		}
		desired = DesiredStatus(cfg.Generation, decision, ds)
	}
	keepTransitionTimes(desired.Conditions, cfg.Status.Conditions, c.clock.Now())
	if equality.Semantic.DeepEqual(normalize(cfg.Status), normalize(desired)) {
		return nil
	}

	if _, err := c.client.HTTP01ChallengeProxies().ApplyStatus(ctx, toApply(desired), metav1.ApplyOptions{FieldManager: ControllerName, Force: true}); err != nil {
		return fmt.Errorf("updating the status of http01challengeproxies.config.openshift.io/%s: %w", names.SingletonName, err)
	}
	ready := meta.FindStatusCondition(desired.Conditions, ConditionReady)
	syncCtx.Recorder().Eventf("ConfigStatusChanged", "http01challengeproxies.config.openshift.io/%s: Ready=%s (%s): %s", names.SingletonName, ready.Status, ready.Reason, ready.Message)
	return nil
}

// keepTransitionTimes gives each desired condition the transition time of
// the current one of the same type when its status is unchanged, and now
// otherwise.
func keepTransitionTimes(desired, current []metav1.Condition, now time.Time) {
	for i := range desired {
		existing := meta.FindStatusCondition(current, desired[i].Type)
		if existing != nil && existing.Status == desired[i].Status {
			desired[i].LastTransitionTime = existing.LastTransitionTime
			continue
		}
		desired[i].LastTransitionTime = metav1.NewTime(now)
	}
}

// normalize makes empty and nil lists compare equal: the API server drops
// empty lists, so a status read back never has them.
func normalize(s configv1alpha1.HTTP01ChallengeProxyStatus) configv1alpha1.HTTP01ChallengeProxyStatus {
	if len(s.APIServerVIPs) == 0 {
		s.APIServerVIPs = nil
	}
	if len(s.IngressVIPs) == 0 {
		s.IngressVIPs = nil
	}
	if len(s.Conditions) == 0 {
		s.Conditions = nil
	}
	return s
}

// toApply converts the whole desired status into an apply configuration.
// Zero values are left out, so that server-side apply removes a field this
// controller set before and no longer sets (e.g. internalPort once
// disabled).
func toApply(s configv1alpha1.HTTP01ChallengeProxyStatus) *configapplyv1alpha1.HTTP01ChallengeProxyApplyConfiguration {
	status := configapplyv1alpha1.HTTP01ChallengeProxyStatus().WithObservedGeneration(s.ObservedGeneration)
	if len(s.APIServerVIPs) > 0 {
		status.WithAPIServerVIPs(s.APIServerVIPs...)
	}
	if len(s.IngressVIPs) > 0 {
		status.WithIngressVIPs(s.IngressVIPs...)
	}
	if s.InternalPort != 0 {
		status.WithInternalPort(s.InternalPort)
	}
	if s.DesiredNodes != 0 {
		status.WithDesiredNodes(s.DesiredNodes)
	}
	if s.ReadyNodes != 0 {
		status.WithReadyNodes(s.ReadyNodes)
	}
	for _, cond := range s.Conditions {
		status.WithConditions(metav1apply.Condition().
			WithType(cond.Type).
			WithStatus(cond.Status).
			WithObservedGeneration(cond.ObservedGeneration).
			WithLastTransitionTime(cond.LastTransitionTime).
			WithReason(cond.Reason).
			WithMessage(cond.Message))
	}
	return configapplyv1alpha1.HTTP01ChallengeProxy(names.SingletonName).WithStatus(status)
}
