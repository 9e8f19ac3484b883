// Package clientca keeps a copy of the cluster's client CA bundle in the
// operand namespace while the proxy is enabled. The daemon's metrics server
// verifies Prometheus's client certificate against it.
//
// The bundle is client-ca-file of kube-system/extension-apiserver-authentication,
// which kube-apiserver publishes and rotates; the copy is
// openshift-http01-challenge-proxy/metrics-client-ca, which the DaemonSet
// mounts. library-go's resource sync controller makes the copy and follows
// every change of the source. It does not delete the copy when the proxy is
// turned off, and does not run at all while the operator is Removed, so the
// static resource controller deletes it, with the other operand resources
// (see staticresources).
package clientca

import (
	"github.com/openshift/library-go/pkg/controller/factory"
	"github.com/openshift/library-go/pkg/operator/events"
	"github.com/openshift/library-go/pkg/operator/resourcesynccontroller"
	"github.com/openshift/library-go/pkg/operator/v1helpers"
	"k8s.io/client-go/kubernetes"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// ControllerName is the resource sync controller's name in logs and events.
// Its failures set the operator condition ResourceSyncControllerDegraded.
const ControllerName = "MetricsClientCAController"

var (
	source = resourcesynccontroller.ResourceLocation{
		Namespace: names.AuthenticationNamespace,
		Name:      names.AuthenticationConfigMap,
		Provider:  "kube-apiserver",
	}
	destination = resourcesynccontroller.ResourceLocation{
		Namespace: names.OperandNamespace,
		Name:      names.MetricsClientCAConfigMap,
	}
)

// NewController returns the resource sync controller that copies the
// bundle while the gate says enabled. The copy is the whole ConfigMap:
// library-go can make a copy conditional, or partial, not both. Its other
// keys are the front-proxy settings published beside the bundle, none of
// them secret, and the DaemonSet mounts client-ca-file only.
func NewController(
	operatorClient v1helpers.OperatorClient,
	inputs gate.Inputs,
	kubeClient kubernetes.Interface,
	informers *Informers,
	recorder events.Recorder,
) (factory.Controller, error) {
	c := resourcesynccontroller.NewResourceSyncController(ControllerName, operatorClient, informers,
		kubeClient.CoreV1(), kubeClient.CoreV1(), recorder)
	shouldCopy := func() (bool, error) {
		return ShouldCopy(inputs.Decide()), nil
	}
	if err := c.SyncConfigMapConditionally(destination, source, shouldCopy); err != nil {
		return nil, err
	}
	return c, nil
}

// ShouldCopy says whether to copy the bundle now: only while the proxy is
// enabled. An unknown decision copies nothing and reports no error: the
// copy stays as it is, and an error would turn ResourceSyncControllerDegraded
// True for every operator start until the caches have synced.
//
// The resource sync controller is not told about the gate's changes, only
// about the operator resource's and the two ConfigMaps'. Enabling the proxy
// changes the DaemonSet* conditions of the operator resource, which wakes it
// up at once; its one-minute resync backs that up.
func ShouldCopy(decision gate.Decision, decisionErr error) bool {
	return decisionErr == nil && decision.Enabled
}
