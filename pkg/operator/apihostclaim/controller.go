package apihostclaim

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	operatorv1 "github.com/openshift/api/operator/v1"
	routev1 "github.com/openshift/api/route/v1"
	configv1informers "github.com/openshift/client-go/config/informers/externalversions/config/v1"
	configv1listers "github.com/openshift/client-go/config/listers/config/v1"
	applyoperatorv1 "github.com/openshift/client-go/operator/applyconfigurations/operator/v1"
	routev1client "github.com/openshift/client-go/route/clientset/versioned/typed/route/v1"
	"github.com/openshift/library-go/pkg/controller/factory"
	"github.com/openshift/library-go/pkg/operator/events"
	"github.com/openshift/library-go/pkg/operator/v1helpers"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// ControllerName is the controller's name in logs and events; a failed
// sync sets ControllerName+"Degraded".
const ControllerName = "APIHostClaimController"

// ConditionDegraded is True while the claim cannot be proven without an
// admin: another namespace holds the host, or the default IngressController
// lets namespaces share hosts. The ClusterOperator is then Degraded, and
// the proxy off.
const ConditionDegraded = "APIHostClaimDegraded"

// Controller owns the claim Route: it holds it while the platform and the
// config want the proxy (gate.Inputs.DecidePlatform), recreates it when
// deleted, puts back its spec when edited, deletes it when the proxy is
// disabled or removed, and reports a claim that needs an admin.
type Controller struct {
	operatorClient  v1helpers.OperatorClient
	gate            gate.Inputs
	routes          routev1client.RoutesGetter
	source          Source
	infrastructures configv1listers.InfrastructureLister
}

// NewController returns the claim controller. source must be the Source
// that inputs evaluates the claim with.
func NewController(operatorClient v1helpers.OperatorClient, inputs gate.Inputs, routes routev1client.RoutesGetter, source Source,
	infrastructures configv1informers.InfrastructureInformer, recorder events.Recorder) factory.Controller {
	c := &Controller{operatorClient: operatorClient, gate: inputs, routes: routes, source: source, infrastructures: infrastructures.Lister()}
	// The gate's informers include the claim Route's and the default
	// IngressController's.
	return inputs.NewControllerFactory().
		WithSync(c.sync).
		ResyncEvery(5*time.Minute).
		WithSyncDegradedOnError(operatorClient).
		ToController(ControllerName, recorder.WithComponentSuffix("api-host-claim-controller"))
}

func (c *Controller) sync(ctx context.Context, syncCtx factory.SyncContext) error {
	decision, err := c.gate.DecidePlatform()
	if errors.Is(err, gate.ErrUnmanaged) {
		klog.V(4).Infof("%s: %v", ControllerName, err)
		return nil
	}
	if err != nil {
		return err
	}
	if !decision.Enabled {
		if err := c.release(ctx, syncCtx.Recorder(), decision); err != nil {
			return err
		}
		return c.report(ctx, syncCtx.Recorder(), Claim{Reason: "ProxyDisabled", Message: "the proxy is disabled: nothing to claim"})
	}
	infra, err := c.infrastructures.Get(names.SingletonName)
	if err != nil {
		return err
	}
	host, err := APIHost(infra)
	if err != nil {
		return c.report(ctx, syncCtx.Recorder(), Claim{Reason: ReasonUnknownAPIHost, Hard: true, Message: err.Error()})
	}
	if err := c.hold(ctx, syncCtx.Recorder(), host); err != nil {
		return err
	}
	claim, err := c.source.Claim(infra)
	if err != nil {
		return err
	}
	return c.report(ctx, syncCtx.Recorder(), claim)
}

// hold creates the claim Route, or puts back the spec and labels it must
// have. The router's status is not ours to touch.
func (c *Controller) hold(ctx context.Context, recorder events.Recorder, host string) error {
	desired := DesiredRoute(host)
	current, err := c.source.route()
	if err != nil {
		return err
	}
	routes := c.routes.Routes(Namespace)
	if current == nil {
		_, err := routes.Create(ctx, desired, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return nil // the informer brings it
		}
		if err != nil {
			return fmt.Errorf("creating Route %s/%s to claim %s: %w", Namespace, RouteName, host, err)
		}
		recorder.Eventf("RouteCreated", "Created Route %s/%s, which claims %s for the platform", Namespace, RouteName, host)
		return nil
	}
	if SpecMatches(current, desired) {
		return nil
	}
	updated := current.DeepCopy()
	updated.Spec = desired.Spec
	updated.Labels = mergeLabels(current.Labels, desired.Labels)
	updated.Annotations = mergeLabels(current.Annotations, desired.Annotations)
	if _, err := routes.Update(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("restoring Route %s/%s: %w", Namespace, RouteName, err)
	}
	recorder.Eventf("RouteUpdated", "Restored the spec of Route %s/%s, which claims %s for the platform", Namespace, RouteName, host)
	return nil
}

// SpecMatches reports whether current claims as desired does.
func SpecMatches(current, desired *routev1.Route) bool {
	return equality.Semantic.DeepEqual(current.Spec, desired.Spec) &&
		maps.Equal(current.Labels, mergeLabels(current.Labels, desired.Labels)) &&
		maps.Equal(current.Annotations, mergeLabels(current.Annotations, desired.Annotations))
}

func mergeLabels(current, desired map[string]string) map[string]string {
	merged := maps.Clone(current)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, desired)
	return merged
}

// release deletes the claim Route if the cache still holds it.
func (c *Controller) release(ctx context.Context, recorder events.Recorder, decision gate.Decision) error {
	current, err := c.source.route()
	if err != nil || current == nil {
		return err
	}
	err = c.routes.Routes(Namespace).Delete(ctx, RouteName, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr.To(current.UID)}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("deleting Route %s/%s: %w", Namespace, RouteName, err)
	}
	recorder.Eventf("RouteDeleted", "Deleted Route %s/%s: the proxy is disabled (%s)", Namespace, RouteName, decision.Reason)
	return nil
}

// report sets ConditionDegraded for a claim that needs an admin, and
// records each change of the claim's verdict as an event.
func (c *Controller) report(ctx context.Context, recorder events.Recorder, claim Claim) error {
	status := operatorv1.ConditionFalse
	if claim.Hard {
		status = operatorv1.ConditionTrue
	}
	_, opStatus, _, err := c.operatorClient.GetOperatorState()
	if err != nil {
		return err
	}
	if previous := v1helpers.FindOperatorCondition(opStatus.Conditions, ConditionDegraded); previous == nil || previous.Reason != claim.Reason {
		recorder.Eventf("APIHostClaim"+claim.Reason, "%s", claim.Message)
	}
	apply := applyoperatorv1.OperatorStatus().WithConditions(applyoperatorv1.OperatorCondition().
		WithType(ConditionDegraded).
		WithStatus(status).
		WithReason(claim.Reason).
		WithMessage(claim.Message))
	return c.operatorClient.ApplyOperatorStatus(ctx, ControllerName, apply)
}
