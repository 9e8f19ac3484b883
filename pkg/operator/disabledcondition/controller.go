package disabledcondition

import (
	"context"
	"errors"
	"fmt"
	"time"

	configv1client "github.com/openshift/client-go/config/clientset/versioned/typed/config/v1"
	configv1informers "github.com/openshift/client-go/config/informers/externalversions/config/v1"
	configv1listers "github.com/openshift/client-go/config/listers/config/v1"
	configv1helpers "github.com/openshift/library-go/pkg/config/clusteroperator/v1helpers"
	"github.com/openshift/library-go/pkg/controller/factory"
	"github.com/openshift/library-go/pkg/operator/events"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// ControllerName is the controller's name in logs and events.
const ControllerName = "DisabledConditionController"

// Controller owns the ClusterOperator's Disabled condition and the
// enabled metric. It writes the condition straight onto the ClusterOperator
// because the status controller only copies *Available, *Progressing,
// *Degraded and *Upgradeable conditions from the operator resource. Both
// update the ClusterOperator's status with the resourceVersion they read,
// so neither can silently drop the other's change: the loser of a race gets
// a conflict and syncs again.
type Controller struct {
	gate            gate.Inputs
	clusterOperator configv1client.ClusterOperatorsGetter
	lister          configv1listers.ClusterOperatorLister
	clock           clock.PassiveClock
}

// NewController returns the Disabled condition controller.
func NewController(
	inputs gate.Inputs,
	clusterOperators configv1client.ClusterOperatorsGetter,
	informer configv1informers.ClusterOperatorInformer,
	clock clock.PassiveClock,
	recorder events.Recorder,
) factory.Controller {
	c := &Controller{
		gate:            inputs,
		clusterOperator: clusterOperators,
		lister:          informer.Lister(),
		clock:           clock,
	}
	return inputs.NewControllerFactory().
		WithFilteredEventsInformers(factory.NamesFilter(names.ClusterOperator), informer.Informer()).
		WithSync(c.sync).
		ResyncEvery(5*time.Minute).
		ToController(ControllerName, recorder.WithComponentSuffix("disabled-condition-controller"))
}

func (c *Controller) sync(ctx context.Context, syncCtx factory.SyncContext) error {
	decision, err := c.gate.Decide()
	if errors.Is(err, gate.ErrUnmanaged) {
		// Disabled keeps saying what was last acted on; library-go's status
		// controller says Unmanaged on the other conditions.
		return nil
	}
	if err != nil {
		// Unknown: keep whatever the ClusterOperator says now.
		return err
	}
	recordDecision(decision)

	original, err := c.lister.Get(names.ClusterOperator)
	if apierrors.IsNotFound(err) {
		// The status controller creates it; its informer event brings us
		// back here.
		return nil
	}
	if err != nil {
		return err
	}

	updated := original.DeepCopy()
	configv1helpers.SetStatusCondition(&updated.Status.Conditions, DisabledCondition(decision), c.clock)
	if equality.Semantic.DeepEqual(original.Status, updated.Status) {
		return nil
	}
	if _, err := c.clusterOperator.ClusterOperators().UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("setting the Disabled condition of clusteroperator/%s: %w", names.ClusterOperator, err)
	}
	cond := DisabledCondition(decision)
	syncCtx.Recorder().Eventf("ClusterOperatorDisabledChanged", "clusteroperator/%s Disabled=%s (%s): %s", names.ClusterOperator, cond.Status, cond.Reason, cond.Message)
	return nil
}
