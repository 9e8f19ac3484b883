//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// defaultPort is the port of mode DefaultDeployment.
const defaultPort = 8888

// customPort is the port the suite moves the proxy to; E2E_CUSTOM_PORT
// overrides it on a cluster where something else listens there.
func customPort(t *testing.T) int32 {
	if v := os.Getenv("E2E_CUSTOM_PORT"); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("E2E_CUSTOM_PORT=%q: %v", v, err)
		}
		return int32(p)
	}
	return 18888
}

// TestHTTP01ChallengeProxy walks the proxy through its life on one cluster:
// each step starts from the state the previous one left, so a failed step
// stops the walk. The configuration found at the start is restored at the
// end.
func TestHTTP01ChallengeProxy(t *testing.T) {
	c := newCluster(t)
	c.restoreConfigAtEnd(t)

	t.Run("the API server rejects bad configurations", c.testRejectsBadConfigs)
	if c.harness != nil {
		if !t.Run("a tenant that routed the API host first keeps the proxy off", c.testTenantRoutedFirst) {
			return
		}
	}
	if !t.Run("enable", c.testEnable) {
		return
	}
	t.Run("Pod Security admission admits the proxy in its namespace only", c.testPodSecurity)
	if c.harness != nil {
		t.Run("the DaemonSet runs as rendered on a real kubelet", c.testRunsAsRendered)
		t.Run("the kubelet's probes gate readiness and restart a stuck proxy", c.testProbes)
		t.Run("without NET_ADMIN the container fails and says why", c.testWithoutNetAdmin)
	}
	t.Run("every relatedObject of the ClusterOperator exists", c.testRelatedObjectsExist)
	if c.harness != nil {
		if !t.Run("a certificate through the data plane", c.testIssue) {
			return
		}
		t.Run("diagnose passes from the internet", func(t *testing.T) { c.testDiagnose(t, true) })
		t.Run("a tenant cannot answer the API host's challenges", c.testTenantCannotAnswer)
		t.Run("a tenant's own ACME client fails Pebble's validation", c.testTenantOwnACMEClient)
		t.Run("InterNamespaceAllowed is refused", c.testInterNamespaceAllowedRefused)
		t.Run("a deleted claim heals", c.testClaimDeletedHeals)
		t.Run("renewal after an API VIP failover", c.testAPIVIPFailover)
		t.Run("a name under the apps domain never crosses the proxy", c.testAppsDomain)
		if !t.Run("failure and recovery", c.testFailureAndRecovery) {
			return
		}
		if !t.Run("a solver pod that cannot pull its image", c.testSolverImagePull) {
			return
		}
	} else if issuer := os.Getenv(clusterIssuerEnv); issuer != "" {
		t.Run("cert-manager issues the API certificate with "+issuer, func(t *testing.T) { c.testIssueWithClusterIssuer(t, issuer) })
	}
	if !t.Run("port change", c.testPortChange) {
		return
	}
	t.Run("disable", c.testDisable)
}

func (c *cluster) testRejectsBadConfigs(t *testing.T) {
	tooHigh := int32(65536)
	cases := []struct {
		name    string
		spec    map[string]any
		message string
	}{
		{"unknown mode", map[string]any{"mode": "Everywhere"}, `spec.mode: Unsupported value: "Everywhere"`},
		{"CustomDeployment without customDeployment", map[string]any{"mode": "CustomDeployment", "customDeployment": nil},
			"customDeployment is required when mode is CustomDeployment, and forbidden otherwise"},
		{"customDeployment with DefaultDeployment", map[string]any{"mode": "DefaultDeployment", "customDeployment": map[string]any{"internalPort": 18888}},
			"customDeployment is required when mode is CustomDeployment, and forbidden otherwise"},
		{"port 80, which is redirected", map[string]any{"mode": "CustomDeployment", "customDeployment": map[string]any{"internalPort": 80}},
			"spec.customDeployment.internalPort: Invalid value: 80"},
		{"the health port", map[string]any{"mode": "CustomDeployment", "customDeployment": map[string]any{"internalPort": names.DaemonHealthPort}},
			"is the proxy's own health port"},
		{"the metrics port", map[string]any{"mode": "CustomDeployment", "customDeployment": map[string]any{"internalPort": names.DaemonMetricsPort}},
			"is the proxy's own metrics port"},
		{"a port above 65535", map[string]any{"mode": "CustomDeployment", "customDeployment": map[string]any{"internalPort": tooHigh}},
			"spec.customDeployment.internalPort: Invalid value: 65536"},
	}
	ctx := ctxFor(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(map[string]any{"spec": tc.spec})
			if err != nil {
				t.Fatal(err)
			}
			// A dry run: validated and admitted like a real edit, never
			// stored, so the cluster is not touched.
			_, err = c.proxies.ConfigV1alpha1().HTTP01ChallengeProxies().Patch(ctx, names.SingletonName, types.MergePatchType, data,
				metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
			wantInvalid(t, err, string(data), tc.message)
		})
	}
	t.Run("a second instance", func(t *testing.T) {
		other := &configv1alpha1.HTTP01ChallengeProxy{
			ObjectMeta: metav1.ObjectMeta{Name: "second"},
			Spec:       configv1alpha1.HTTP01ChallengeProxySpec{Mode: configv1alpha1.DefaultDeploymentMode},
		}
		_, err := c.proxies.ConfigV1alpha1().HTTP01ChallengeProxies().Create(ctx, other, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		wantInvalid(t, err, "an HTTP01ChallengeProxy named second", "http01challengeproxy is a singleton: the only allowed name is 'cluster'")
	})
}

func wantInvalid(t *testing.T, err error, what, message string) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("the API server accepted %s", what)
	case !apierrors.IsInvalid(err):
		t.Fatalf("%s: want an Invalid error, got %v", what, err)
	case !strings.Contains(err.Error(), message):
		t.Fatalf("%s: the error does not say why\n want: %s\n  got: %v", what, message, err)
	}
}

// testEnable turns the proxy on and checks everything an admin would look
// at: the ClusterOperator, the DaemonSet and its pods, the config's status.
func (c *cluster) testEnable(t *testing.T) {
	ctx := ctxFor(t)
	if err := c.setSpec(ctx, configv1alpha1.HTTP01ChallengeProxySpec{Mode: configv1alpha1.DefaultDeploymentMode}); err != nil {
		t.Fatalf("enabling the proxy: %v", err)
	}
	c.waitServing(t, defaultPort)
}

// waitServing waits until the proxy runs on every control-plane node with
// port, then checks the DaemonSet's pods, the ClusterOperator and the
// config's status.
func (c *cluster) waitServing(t *testing.T, port int32) {
	t.Helper()
	ctx := ctxFor(t)
	portArg := "--listen-port=" + strconv.Itoa(int(port))
	eventually(t, rolloutTimeout, "the DaemonSet runs "+portArg+" on every control-plane node", func(ctx context.Context) error {
		ds, err := c.daemonSet(ctx)
		if err != nil {
			return err
		}
		if ds == nil {
			return fmt.Errorf("no DaemonSet %s/%s", names.OperandNamespace, names.OperandName)
		}
		if args := proxyArgs(ds.Spec.Template.Spec); !slices.Contains(args, portArg) {
			return fmt.Errorf("the DaemonSet runs %v", args)
		}
		return rolledOut(ds)
	})
	release, err := c.releaseVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, rolloutTimeout, "the ClusterOperator reports the proxy available at version "+release, func(ctx context.Context) error {
		co, err := c.clusterOperator(ctx)
		if err != nil {
			return err
		}
		if err := wantConditions(co, map[string]configv1.ConditionStatus{
			"Available": configv1.ConditionTrue, "Progressing": configv1.ConditionFalse,
			"Degraded": configv1.ConditionFalse, "Disabled": configv1.ConditionFalse,
		}, nil); err != nil {
			return err
		}
		if v := operatorVersion(co); v != release {
			return fmt.Errorf("ClusterOperator reports operator version %q, want %q", v, release)
		}
		return nil
	})

	ds, err := c.daemonSet(ctx)
	if err != nil || ds == nil {
		t.Fatalf("reading the DaemonSet: %v", err)
	}
	controlPlane, err := c.controlPlaneNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantNodes := 0
	for _, isControlPlane := range controlPlane {
		if isControlPlane {
			wantNodes++
		}
	}
	if int(ds.Status.DesiredNumberScheduled) != wantNodes {
		t.Errorf("the DaemonSet wants %d nodes; the cluster has %d control-plane nodes", ds.Status.DesiredNumberScheduled, wantNodes)
	}
	pods, err := c.proxyPods(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	onNode := map[string]bool{}
	for _, p := range pods {
		if p.DeletionTimestamp != nil {
			continue
		}
		if !controlPlane[p.Spec.NodeName] {
			t.Errorf("pod %s runs on %q, which is not a control-plane node", p.Name, p.Spec.NodeName)
		}
		onNode[p.Spec.NodeName] = true
	}
	if len(onNode) != wantNodes {
		t.Errorf("proxy pods run on %d nodes, want all %d control-plane nodes", len(onNode), wantNodes)
	}

	apiVIPs, ingressVIPs, err := c.infrastructureVIPs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, rolloutTimeout, "the config singleton's status says Ready with what the operator acted on", func(ctx context.Context) error {
		cfg, err := c.configSingleton(ctx)
		if err != nil {
			return err
		}
		s := cfg.Status
		ready := meta.FindStatusCondition(s.Conditions, "Ready")
		switch {
		case ready == nil || ready.Status != metav1.ConditionTrue:
			return fmt.Errorf("Ready condition: %+v", ready)
		case ready.ObservedGeneration != cfg.Generation:
			return fmt.Errorf("Ready is for generation %d, the spec is at %d", ready.ObservedGeneration, cfg.Generation)
		case s.InternalPort != port:
			return fmt.Errorf("status.internalPort %d, want %d", s.InternalPort, port)
		case int(s.DesiredNodes) != wantNodes || s.ReadyNodes != s.DesiredNodes:
			return fmt.Errorf("status: %d desired nodes, %d ready; want %d", s.DesiredNodes, s.ReadyNodes, wantNodes)
		case !slices.Equal(s.APIServerVIPs, apiVIPs) || !slices.Equal(s.IngressVIPs, ingressVIPs):
			return fmt.Errorf("status VIPs %v -> %v; the Infrastructure has %v -> %v", s.APIServerVIPs, s.IngressVIPs, apiVIPs, ingressVIPs)
		}
		return nil
	})
}

// testRelatedObjectsExist resolves every relatedObject of the
// ClusterOperator, as must-gather does, while the proxy is enabled.
func (c *cluster) testRelatedObjectsExist(t *testing.T) {
	ctx := ctxFor(t)
	co, err := c.clusterOperator(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(co.Status.RelatedObjects) == 0 {
		t.Fatal("the ClusterOperator lists no relatedObjects")
	}
	for _, ref := range co.Status.RelatedObjects {
		what := fmt.Sprintf("%s.%s %s/%s", ref.Resource, ref.Group, ref.Namespace, ref.Name)
		mapping, err := c.mapper.ResourceFor(schemaGVR(ref))
		if err != nil {
			t.Errorf("%s: the cluster serves no such resource: %v", what, err)
			continue
		}
		resource := c.dynamic.Resource(mapping)
		if ref.Namespace != "" {
			_, err = resource.Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		} else {
			_, err = resource.Get(ctx, ref.Name, metav1.GetOptions{})
		}
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
}

// testPortChange moves the proxy to a custom port: the DaemonSet rolls out
// new pods with it, and the ClusterOperator reports the release version
// again once they all run.
func (c *cluster) testPortChange(t *testing.T) {
	ctx := ctxFor(t)
	port := customPort(t)
	ds, err := c.daemonSet(ctx)
	if err != nil || ds == nil {
		t.Fatalf("reading the DaemonSet: %v", err)
	}
	before, err := c.proxyPods(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	watch := c.watchRollout(ds)
	if err := c.setSpec(ctx, configv1alpha1.HTTP01ChallengeProxySpec{
		Mode:             configv1alpha1.CustomDeploymentMode,
		CustomDeployment: &configv1alpha1.CustomDeploymentSpec{InternalPort: port},
	}); err != nil {
		t.Fatalf("changing the port: %v", err)
	}
	c.waitServing(t, port)
	// maxUnavailable 1 and maxSurge 0: node by node.
	if worst := watch.maxUnready(); worst > 1 {
		t.Errorf("during the rollout %d nodes at once had no ready proxy, want at most 1", worst)
	}

	// A rollout: none of the pods that ran before is left, and every pod
	// runs the new command line.
	ds, err = c.daemonSet(ctx)
	if err != nil || ds == nil {
		t.Fatalf("reading the DaemonSet: %v", err)
	}
	after, err := c.proxyPods(ctx, ds)
	if err != nil {
		t.Fatal(err)
	}
	old := map[types.UID]bool{}
	for _, p := range before {
		old[p.UID] = true
	}
	portArg := "--listen-port=" + strconv.Itoa(int(port))
	for _, p := range after {
		if old[p.UID] {
			t.Errorf("pod %s on %s was not replaced", p.Name, p.Spec.NodeName)
		}
		if !slices.Contains(proxyArgs(p.Spec), portArg) {
			t.Errorf("pod %s runs %v, want %s", p.Name, proxyArgs(p.Spec), portArg)
		}
	}
	if c.harness != nil {
		r := c.issue(t, false)
		wantRedirect(t, r, ":"+strconv.Itoa(int(port)))
		c.wantEveryNodeRedirectsTo(t, port)
	}
}

// testDisable turns the proxy off: everything it created goes away and the
// ClusterOperator says Disabled=True, still Available.
func (c *cluster) testDisable(t *testing.T) {
	ctx := ctxFor(t)
	if err := c.setSpec(ctx, configv1alpha1.HTTP01ChallengeProxySpec{}); err != nil {
		t.Fatalf("disabling the proxy: %v", err)
	}
	eventually(t, rolloutTimeout, "everything the operator created in "+names.OperandNamespace+" is gone", func(ctx context.Context) error {
		objects, err := c.operandObjects(ctx)
		if err != nil {
			return err
		}
		if len(objects) > 0 {
			return fmt.Errorf("still there (%s): %s", operandLabel, strings.Join(objects, ", "))
		}
		return nil
	})
	eventually(t, rolloutTimeout, "the ClusterOperator says Disabled=True (DisabledByConfiguration) and Available=True", func(ctx context.Context) error {
		co, err := c.clusterOperator(ctx)
		if err != nil {
			return err
		}
		return wantConditions(co, map[string]configv1.ConditionStatus{
			"Available": configv1.ConditionTrue, "Progressing": configv1.ConditionFalse,
			"Degraded": configv1.ConditionFalse, "Disabled": configv1.ConditionTrue,
		}, map[string]string{"Disabled": "DisabledByConfiguration"})
	})
	if c.harness != nil {
		c.testDataPlaneGone(t)
		c.testDiagnose(t, false)
	}
}

// schemaGVR is the partial resource of a reference; the mapper finds its
// version.
func schemaGVR(ref configv1.ObjectReference) schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: ref.Group, Resource: ref.Resource}
}
