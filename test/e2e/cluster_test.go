//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	configclient "github.com/openshift/client-go/config/clientset/versioned"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
	proxyclient "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/clientset/versioned"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/localcluster"
)

const (
	// pollInterval is how often a condition is checked while waiting.
	pollInterval = time.Second
	// rolloutTimeout bounds waiting for the operator to act and a
	// DaemonSet to roll out on every control-plane node of a real cluster
	// (a local one takes seconds).
	rolloutTimeout = 5 * time.Minute
	// operandLabel is carried by everything the operator creates in the
	// operand namespace.
	operandLabel = "app=" + names.OperandName
)

// cluster is the cluster under test, as the suite sees it through
// $KUBECONFIG.
type cluster struct {
	kube    kubernetes.Interface
	config  configclient.Interface
	proxies proxyclient.Interface
	dynamic dynamic.Interface
	mapper  meta.RESTMapper
	// harness is the local cluster's state, nil on a real cluster.
	harness *localcluster.State
	cfg     *rest.Config
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	path := os.Getenv("KUBECONFIG")
	if path == "" {
		t.Fatal("KUBECONFIG must name the kubeconfig of the cluster under test (make test-e2e sets it to a local cluster's)")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("loading KUBECONFIG=%s: %v", path, err)
	}
	c := &cluster{cfg: cfg}
	if c.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if c.config, err = configclient.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if c.proxies, err = proxyclient.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if c.dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))
	if statePath := os.Getenv(localcluster.StateEnv); statePath != "" {
		if c.harness, err = localcluster.LoadState(statePath); err != nil {
			t.Fatalf("%s=%s: %v", localcluster.StateEnv, statePath, err)
		}
		t.Logf("local cluster %q: node namespaces and Pebble available", c.harness.Instance)
	} else {
		t.Logf("no %s: running against %s without the data-plane tests", localcluster.StateEnv, cfg.Host)
	}
	return c
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), rolloutTimeout)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls check until it returns nil, failing the test with the
// last error once timeout has passed.
func eventually(t *testing.T, timeout time.Duration, what string, check func(context.Context) error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := check(ctx)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not so after %v: %v", what, timeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// setSpec replaces the config singleton's spec, as an admin editing it
// would.
func (c *cluster) setSpec(ctx context.Context, spec configv1alpha1.HTTP01ChallengeProxySpec) error {
	// A merge patch with nulls removes what the new spec leaves out.
	patch := map[string]any{"spec": map[string]any{"mode": nil, "customDeployment": nil}}
	if spec.Mode != "" {
		patch["spec"].(map[string]any)["mode"] = spec.Mode
	}
	if spec.CustomDeployment != nil {
		patch["spec"].(map[string]any)["customDeployment"] = spec.CustomDeployment
	}
	data, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	_, err = c.proxies.ConfigV1alpha1().HTTP01ChallengeProxies().Patch(ctx, names.SingletonName, types.MergePatchType, data, metav1.PatchOptions{})
	return err
}

// restoreConfigAtEnd puts the config singleton's spec back as it was when
// the suite started, whatever happens in between.
func (c *cluster) restoreConfigAtEnd(t *testing.T) {
	t.Helper()
	found, err := c.proxies.ConfigV1alpha1().HTTP01ChallengeProxies().Get(ctxFor(t), names.SingletonName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the config singleton: %v", err)
	}
	original := found.Spec
	t.Logf("found spec %+v; it is restored at the end", describeSpec(original))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error { return c.setSpec(ctx, original) })
		if err != nil {
			t.Errorf("restoring the config singleton's spec %s: %v", describeSpec(original), err)
			return
		}
		t.Logf("restored spec %s", describeSpec(original))
	})
}

func describeSpec(spec configv1alpha1.HTTP01ChallengeProxySpec) string {
	s := fmt.Sprintf("mode=%q", spec.Mode)
	if spec.CustomDeployment != nil {
		s += fmt.Sprintf(" internalPort=%d", spec.CustomDeployment.InternalPort)
	}
	return s
}

// clusterOperator returns our ClusterOperator.
func (c *cluster) clusterOperator(ctx context.Context) (*configv1.ClusterOperator, error) {
	return c.config.ConfigV1().ClusterOperators().Get(ctx, names.ClusterOperator, metav1.GetOptions{})
}

// wantConditions checks the ClusterOperator's conditions: type -> status,
// and for the types in reasons, the reason.
func wantConditions(co *configv1.ClusterOperator, statuses map[string]configv1.ConditionStatus, reasons map[string]string) error {
	var problems []string
	for condType, status := range statuses {
		cond := findCondition(co, condType)
		switch {
		case cond == nil:
			problems = append(problems, condType+" is missing")
		case cond.Status != status:
			problems = append(problems, fmt.Sprintf("%s=%s (%s: %s), want %s", condType, cond.Status, cond.Reason, cond.Message, status))
		case reasons[condType] != "" && cond.Reason != reasons[condType]:
			problems = append(problems, fmt.Sprintf("%s reason %s, want %s", condType, cond.Reason, reasons[condType]))
		}
	}
	if len(problems) > 0 {
		slices.Sort(problems)
		return fmt.Errorf("ClusterOperator %s: %s", co.Name, strings.Join(problems, "; "))
	}
	return nil
}

func findCondition(co *configv1.ClusterOperator, condType string) *configv1.ClusterOperatorStatusCondition {
	for i := range co.Status.Conditions {
		if string(co.Status.Conditions[i].Type) == condType {
			return &co.Status.Conditions[i]
		}
	}
	return nil
}

// operatorVersion is the version the ClusterOperator reports for the
// operator, "" if none.
func operatorVersion(co *configv1.ClusterOperator) string {
	for _, v := range co.Status.Versions {
		if v.Name == names.OperatorVersionName {
			return v.Version
		}
	}
	return ""
}

// releaseVersion is the version the cluster runs, which the operator must
// report once its DaemonSet has rolled out.
func (c *cluster) releaseVersion(ctx context.Context) (string, error) {
	cv, err := c.config.ConfigV1().ClusterVersions().Get(ctx, "version", metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading the ClusterVersion: %w", err)
	}
	return cv.Status.Desired.Version, nil
}

// controlPlaneNodes are the nodes with the master or control-plane role.
func (c *cluster) controlPlaneNodes(ctx context.Context) (map[string]bool, error) {
	nodes, err := c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, n := range nodes.Items {
		_, master := n.Labels[localcluster.LabelMaster]
		_, controlPlane := n.Labels[localcluster.LabelControlPlane]
		out[n.Name] = master || controlPlane
	}
	return out, nil
}

// daemonSet returns the proxy's DaemonSet, or nil if there is none.
func (c *cluster) daemonSet(ctx context.Context) (*appsv1.DaemonSet, error) {
	ds, err := c.kube.AppsV1().DaemonSets(names.OperandNamespace).Get(ctx, names.OperandName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return ds, err
}

// rolledOut checks that the DaemonSet has rolled its current template out
// to every node it wants, and that they are all available.
func rolledOut(ds *appsv1.DaemonSet) error {
	s := ds.Status
	switch {
	case s.ObservedGeneration < ds.Generation:
		return fmt.Errorf("DaemonSet generation %d not observed yet (%d)", ds.Generation, s.ObservedGeneration)
	case s.DesiredNumberScheduled == 0:
		return fmt.Errorf("DaemonSet wants no node")
	case s.UpdatedNumberScheduled != s.DesiredNumberScheduled, s.NumberAvailable != s.DesiredNumberScheduled, s.NumberUnavailable != 0:
		return fmt.Errorf("DaemonSet rolling out: %d desired, %d updated, %d available", s.DesiredNumberScheduled, s.UpdatedNumberScheduled, s.NumberAvailable)
	}
	return nil
}

// proxyPods returns the DaemonSet's pods.
func (c *cluster) proxyPods(ctx context.Context, ds *appsv1.DaemonSet) ([]corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(ds.Spec.Selector)
	if err != nil {
		return nil, err
	}
	pods, err := c.kube.CoreV1().Pods(names.OperandNamespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, err
	}
	return pods.Items, nil
}

// proxyArgs returns the proxy container's command line.
func proxyArgs(spec corev1.PodSpec) []string {
	for _, ctr := range spec.Containers {
		return append(append([]string{}, ctr.Command...), ctr.Args...)
	}
	return nil
}

// operandObjects lists what the operator created in the operand namespace:
// the objects carrying its label.
func (c *cluster) operandObjects(ctx context.Context) ([]string, error) {
	var found []string
	list := metav1.ListOptions{LabelSelector: labels.Set{"app": names.OperandName}.String()}
	ns := names.OperandNamespace
	if l, err := c.kube.AppsV1().DaemonSets(ns).List(ctx, list); err != nil {
		return nil, err
	} else {
		for _, o := range l.Items {
			found = append(found, "DaemonSet "+o.Name)
		}
	}
	if l, err := c.kube.CoreV1().Pods(ns).List(ctx, list); err != nil {
		return nil, err
	} else {
		for _, o := range l.Items {
			found = append(found, "Pod "+o.Name)
		}
	}
	if l, err := c.kube.CoreV1().ServiceAccounts(ns).List(ctx, list); err != nil {
		return nil, err
	} else {
		for _, o := range l.Items {
			found = append(found, "ServiceAccount "+o.Name)
		}
	}
	if l, err := c.kube.RbacV1().Roles(ns).List(ctx, list); err != nil {
		return nil, err
	} else {
		for _, o := range l.Items {
			found = append(found, "Role "+o.Name)
		}
	}
	if l, err := c.kube.RbacV1().RoleBindings(ns).List(ctx, list); err != nil {
		return nil, err
	} else {
		for _, o := range l.Items {
			found = append(found, "RoleBinding "+o.Name)
		}
	}
	return found, nil
}

// configStatus returns the config singleton.
func (c *cluster) configSingleton(ctx context.Context) (*configv1alpha1.HTTP01ChallengeProxy, error) {
	return c.proxies.ConfigV1alpha1().HTTP01ChallengeProxies().Get(ctx, names.SingletonName, metav1.GetOptions{})
}

// infrastructureVIPs returns the bare-metal API and ingress VIPs.
func (c *cluster) infrastructureVIPs(ctx context.Context) ([]string, []string, error) {
	infra, err := c.config.ConfigV1().Infrastructures().Get(ctx, names.SingletonName, metav1.GetOptions{})
	if err != nil {
		return nil, nil, err
	}
	ps := infra.Status.PlatformStatus
	if ps == nil || ps.BareMetal == nil {
		return nil, nil, fmt.Errorf("the Infrastructure has no bare-metal platform status: this suite needs a bare-metal cluster")
	}
	return ps.BareMetal.APIServerInternalIPs, ps.BareMetal.IngressIPs, nil
}
