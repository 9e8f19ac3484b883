package daemonset

import (
	"context"
	"errors"
	"fmt"
	"time"

	operatorv1 "github.com/openshift/api/operator/v1"
	configinformersv1 "github.com/openshift/client-go/config/informers/externalversions/config/v1"
	configlistersv1 "github.com/openshift/client-go/config/listers/config/v1"
	applyoperatorv1 "github.com/openshift/client-go/operator/applyconfigurations/operator/v1"
	"github.com/openshift/library-go/pkg/controller/factory"
	"github.com/openshift/library-go/pkg/operator/events"
	"github.com/openshift/library-go/pkg/operator/resource/resourceapply"
	"github.com/openshift/library-go/pkg/operator/resource/resourcemerge"
	"github.com/openshift/library-go/pkg/operator/status"
	"github.com/openshift/library-go/pkg/operator/v1helpers"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	appsinformersv1 "k8s.io/client-go/informers/apps/v1"
	appsclientv1 "k8s.io/client-go/kubernetes/typed/apps/v1"
	appslistersv1 "k8s.io/client-go/listers/apps/v1"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/tlsprofile"
)

// ControllerName is the controller's name in logs and events. A failed sync
// sets the operator condition ControllerName+"Degraded"; it differs from
// ConditionDegraded so that a sync error and the DaemonSet's own health
// never overwrite each other.
const ControllerName = "DaemonSetController"

// Controller owns the proxy DaemonSet in the operand namespace: it applies
// it while the gate says enabled and deletes it when the gate says disabled
// (which includes managementState Removed). While Unmanaged it does nothing.
// It also owns the DaemonSet* conditions and the DaemonSet's entry in the
// operator's status.generations, and reports the release version once the
// DaemonSet has rolled out.
type Controller struct {
	operatorClient v1helpers.OperatorClient
	gate           gate.Inputs
	daemonSets     appsclientv1.DaemonSetsGetter
	lister         appslistersv1.DaemonSetLister
	apiServers     configlistersv1.APIServerLister
	versions       status.VersionGetter

	operandImage   string
	releaseVersion string
}

// NewController returns the DaemonSet controller. operandImage is the image
// the DaemonSet runs; releaseVersion is reported as the "operator" version
// of the ClusterOperator, and is not reported when empty (a local run).
// apiServers holds apiservers.config.openshift.io/cluster, whose TLS
// security profile the daemons' metrics endpoint follows.
func NewController(
	operatorClient v1helpers.OperatorClient,
	inputs gate.Inputs,
	daemonSets appsclientv1.DaemonSetsGetter,
	informer appsinformersv1.DaemonSetInformer,
	apiServers configinformersv1.APIServerInformer,
	versions status.VersionGetter,
	operandImage, releaseVersion string,
	recorder events.Recorder,
) factory.Controller {
	c := &Controller{
		operatorClient: operatorClient,
		gate:           inputs,
		daemonSets:     daemonSets,
		lister:         informer.Lister(),
		apiServers:     apiServers.Lister(),
		versions:       versions,
		operandImage:   operandImage,
		releaseVersion: releaseVersion,
	}
	// The gate's informers include the operator resource's: its
	// managementState and logLevel are inputs too.
	return inputs.NewControllerFactory().
		WithFilteredEventsInformers(factory.NamesFilter(names.OperandName), informer.Informer()).
		WithFilteredEventsInformers(factory.NamesFilter(names.SingletonName), apiServers.Informer()).
		WithSync(c.sync).
		// The DaemonSet informer sees every change to the DaemonSet; the
		// resync only backs it up.
		ResyncEvery(5*time.Minute).
		WithSyncDegradedOnError(operatorClient).
		ToController(ControllerName, recorder.WithComponentSuffix("daemonset-controller"))
}

func (c *Controller) sync(ctx context.Context, syncCtx factory.SyncContext) error {
	decision, err := c.gate.Decide()
	if errors.Is(err, gate.ErrUnmanaged) {
		// The admin has taken over: no change, and nothing to report, since
		// the status controller says Unmanaged on the ClusterOperator.
		klog.V(4).Infof("%s: %v", ControllerName, err)
		return nil
	}
	if err != nil {
		// Unknown is not "disabled": leave the DaemonSet as it is.
		return err
	}
	spec, opStatus, _, err := c.operatorClient.GetOperatorState()
	if err != nil {
		return err
	}
	if !decision.Enabled {
		return c.syncDisabled(ctx, syncCtx, decision)
	}
	return c.syncEnabled(ctx, syncCtx, decision, spec, opStatus)
}

func (c *Controller) syncEnabled(ctx context.Context, syncCtx factory.SyncContext, decision gate.Decision, spec *operatorv1.OperatorSpec, opStatus *operatorv1.OperatorStatus) error {
	tlsProfile, err := c.tlsProfile()
	if err != nil {
		return err
	}
	required, err := Render(decision, c.operandImage, spec.LogLevel, tlsProfile)
	if err != nil {
		return err
	}

	// ApplyDaemonSet writes only when the spec hash or the generation we
	// recorded differs from what is on the server, so an idle sync is a
	// single GET.
	ds, _, err := resourceapply.ApplyDaemonSet(ctx, c.daemonSets, syncCtx.Recorder(), required,
		resourcemerge.ExpectedDaemonSetGeneration(required, opStatus.Generations))
	if err != nil {
		return fmt.Errorf("applying DaemonSet %s: %w", daemonSetRef, err)
	}

	var generations []operatorv1.GenerationStatus
	resourcemerge.SetDaemonSetGeneration(&generations, ds)
	if err := c.applyStatus(ctx, EnabledConditions(ds), generations); err != nil {
		return err
	}

	if RolledOut(ds) {
		c.reportVersion()
	}
	return nil
}

// tlsProfile is the cluster's TLS security profile; a cluster without an
// APIServer object (only ever a test's) has the API's default, Intermediate.
func (c *Controller) tlsProfile() (tlsprofile.Profile, error) {
	apiServer, err := c.apiServers.Get(names.SingletonName)
	if apierrors.IsNotFound(err) {
		return tlsprofile.FromAPIServer(nil), nil
	}
	if err != nil {
		return tlsprofile.Profile{}, fmt.Errorf("reading apiservers.config.openshift.io/%s for the TLS security profile: %w", names.SingletonName, err)
	}
	return tlsprofile.FromAPIServer(apiServer), nil
}

func (c *Controller) syncDisabled(ctx context.Context, syncCtx factory.SyncContext, decision gate.Decision) error {
	// Consult the cache first, so that a disabled cluster makes no request
	// at all; a stale cache only delays the delete until the informer
	// catches up and triggers another sync.
	existing, err := c.lister.DaemonSets(names.OperandNamespace).Get(names.OperandName)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	case existing.DeletionTimestamp == nil:
		err := c.daemonSets.DaemonSets(names.OperandNamespace).Delete(ctx, names.OperandName, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: ptr.To(existing.UID)},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting DaemonSet %s: %w", daemonSetRef, err)
		}
		if err == nil {
			syncCtx.Recorder().Eventf("DaemonSetDeleted", "Deleted DaemonSet %s because the proxy is disabled (%s): %s", daemonSetRef, decision.Reason, decision.Message)
		}
	}

	// Applying without the DaemonSet's generation drops it from
	// status.generations, so that a later re-enable starts from scratch.
	if err := c.applyStatus(ctx, DisabledConditions(decision), nil); err != nil {
		return err
	}
	// Off is fully rolled out by definition.
	c.reportVersion()
	return nil
}

// applyStatus server-side-applies the conditions and generations this
// controller owns. library-go compares them with what this field manager
// applied before and skips the request when nothing changed.
func (c *Controller) applyStatus(ctx context.Context, conditions []operatorv1.OperatorCondition, generations []operatorv1.GenerationStatus) error {
	status := applyoperatorv1.OperatorStatus()
	for _, cond := range conditions {
		status.WithConditions(applyoperatorv1.OperatorCondition().
			WithType(cond.Type).
			WithStatus(cond.Status).
			WithReason(cond.Reason).
			WithMessage(cond.Message))
	}
	for _, g := range generations {
		status.WithGenerations(applyoperatorv1.GenerationStatus().
			WithGroup(g.Group).
			WithResource(g.Resource).
			WithNamespace(g.Namespace).
			WithName(g.Name).
			WithLastGeneration(g.LastGeneration))
	}
	return c.operatorClient.ApplyOperatorStatus(ctx, ControllerName, status)
}

// reportVersion sets the ClusterOperator's "operator" version to this
// release. SetVersion wakes the status controller every time it is called,
// so it is only called on a change.
func (c *Controller) reportVersion() {
	if c.releaseVersion == "" {
		return
	}
	if c.versions.GetVersions()[names.OperatorVersionName] == c.releaseVersion {
		return
	}
	klog.Infof("%s: DaemonSet %s is rolled out, reporting version %s", ControllerName, daemonSetRef, c.releaseVersion)
	c.versions.SetVersion(names.OperatorVersionName, c.releaseVersion)
}
