//go:build integration

package diagnose

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	configclient "github.com/openshift/client-go/config/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
	ourclient "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/clientset/versioned"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

const (
	// apiPortInClient is where the client namespace reaches kube-apiserver.
	apiPortInClient  = 6443
	controlPlaneNode = "master-0"
	proxyPod         = "http01-challenge-proxy-x7k2p"
	// certManagerNamespace holds the Challenges, as the namespace of a
	// Certificate would.
	certManagerNamespace = "cert-manager-test"
)

var challengesResource = schema.GroupVersionResource{Group: "acme.cert-manager.io", Version: "v1", Resource: "challenges"}

// apiCluster is a kube-apiserver holding what a healthy cluster with the
// proxy enabled shows: its Infrastructure (the testbed's VIPs), the config
// singleton Ready, the ClusterOperator Available, and a ready proxy pod on
// its one control-plane node.
type apiCluster struct {
	server     *apiserver.Server
	kubeconfig string
	ctx        context.Context
	kube       kubernetes.Interface
	config     configclient.Interface
	ours       ourclient.Interface
	dynamic    dynamic.Interface
}

func startAPICluster(t *testing.T) *apiCluster {
	t.Helper()
	server := apiserver.Start(t)
	rc := server.RESTConfig()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	c := &apiCluster{
		server: server, ctx: ctx,
		kube:    kubernetes.NewForConfigOrDie(rc),
		config:  configclient.NewForConfigOrDie(rc),
		ours:    ourclient.NewForConfigOrDie(rc),
		dynamic: dynamic.NewForConfigOrDie(rc),
	}
	// The admin's kubeconfig, for the address the client namespace
	// reaches the server at.
	forClient := server.RESTConfig()
	forClient.Host = "https://127.0.0.1:" + strconv.Itoa(apiPortInClient)
	var err error
	if c.kubeconfig, err = server.WriteKubeconfig("diagnose", forClient); err != nil {
		t.Fatal(err)
	}
	c.seedInfrastructure(t)
	c.seedConfig(t)
	c.seedClusterOperator(t)
	c.seedProxyPod(t)
	return c
}

// reachableFrom forwards the client namespace's 127.0.0.1:6443 to the
// server.
func (c *apiCluster) reachableFrom(t *testing.T, ns *netns.Namespace) {
	t.Helper()
	forwardLoopback(t, ns, apiPortInClient, strings.TrimPrefix(c.server.Host(), "https://"))
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func (c *apiCluster) seedInfrastructure(t *testing.T) {
	t.Helper()
	infras := c.config.ConfigV1().Infrastructures()
	infra, err := infras.Create(c.ctx, &configv1.Infrastructure{ObjectMeta: metav1.ObjectMeta{Name: names.SingletonName}}, metav1.CreateOptions{})
	must(t, "creating the Infrastructure", err)
	infra.Status = configv1.InfrastructureStatus{
		InfrastructureName:     "cluster-x7k2p",
		APIServerURL:           "https://" + apiHost + ":6443",
		Platform:               configv1.BareMetalPlatformType,
		ControlPlaneTopology:   configv1.HighlyAvailableTopologyMode,
		InfrastructureTopology: configv1.HighlyAvailableTopologyMode,
		PlatformStatus: &configv1.PlatformStatus{
			Type: configv1.BareMetalPlatformType,
			BareMetal: &configv1.BareMetalPlatformStatus{
				APIServerInternalIPs: []string{apiVIP4.String(), apiVIP6.String()},
				IngressIPs:           []string{ingressVIP4.String(), ingressVIP6.String()},
			},
		},
	}
	_, err = infras.UpdateStatus(c.ctx, infra, metav1.UpdateOptions{})
	must(t, "writing the Infrastructure status", err)
}

func (c *apiCluster) seedConfig(t *testing.T) {
	t.Helper()
	configs := c.ours.ConfigV1alpha1().HTTP01ChallengeProxies()
	cfg, err := configs.Create(c.ctx, &configv1alpha1.HTTP01ChallengeProxy{
		ObjectMeta: metav1.ObjectMeta{Name: names.SingletonName},
		Spec:       configv1alpha1.HTTP01ChallengeProxySpec{Mode: configv1alpha1.DefaultDeploymentMode},
	}, metav1.CreateOptions{})
	must(t, "creating the config singleton", err)
	cfg.Status.Conditions = []metav1.Condition{{
		Type: "Ready", Status: metav1.ConditionTrue, Reason: "AsExpected", LastTransitionTime: metav1.Now(),
		Message: "1/1 control-plane nodes ready.",
	}}
	_, err = configs.UpdateStatus(c.ctx, cfg, metav1.UpdateOptions{})
	must(t, "writing the config singleton's status", err)
}

func (c *apiCluster) seedClusterOperator(t *testing.T) {
	t.Helper()
	operators := c.config.ConfigV1().ClusterOperators()
	co, err := operators.Create(c.ctx, &configv1.ClusterOperator{ObjectMeta: metav1.ObjectMeta{Name: names.ClusterOperator}}, metav1.CreateOptions{})
	must(t, "creating the ClusterOperator", err)
	now := metav1.Now()
	co.Status.Conditions = []configv1.ClusterOperatorStatusCondition{
		{Type: configv1.OperatorAvailable, Status: configv1.ConditionTrue, Reason: "AsExpected", LastTransitionTime: now},
		{Type: configv1.OperatorDegraded, Status: configv1.ConditionFalse, Reason: "AsExpected", LastTransitionTime: now},
		{Type: "Disabled", Status: configv1.ConditionFalse, Reason: "AsExpected", LastTransitionTime: now},
	}
	_, err = operators.UpdateStatus(c.ctx, co, metav1.UpdateOptions{})
	must(t, "writing the ClusterOperator status", err)
}

// seedProxyPod creates the control-plane node and the proxy's ready pod on
// it, as the kubelet would report them.
func (c *apiCluster) seedProxyPod(t *testing.T) {
	t.Helper()
	_, err := c.kube.CoreV1().Nodes().Create(c.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name: controlPlaneNode, Labels: map[string]string{"node-role.kubernetes.io/master": ""},
	}}, metav1.CreateOptions{})
	must(t, "creating the node", err)
	c.createNamespaceWithServiceAccount(t, names.OperandNamespace, names.OperandName)
	c.createPodWithStatus(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: proxyPod, Namespace: names.OperandNamespace, Labels: map[string]string{"app": names.OperandName}},
		Spec:       podSpec(names.OperandName, controlPlaneNode),
	}, corev1.PodStatus{
		Phase:      corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
	})
}

// createNamespaceWithServiceAccount creates a namespace and the service
// account its pods run as: no controller-manager runs to create it.
func (c *apiCluster) createNamespaceWithServiceAccount(t *testing.T, namespace, serviceAccount string) {
	t.Helper()
	_, err := c.kube.CoreV1().Namespaces().Create(c.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	must(t, "creating namespace "+namespace, err)
	_, err = c.kube.CoreV1().ServiceAccounts(namespace).Create(c.ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: serviceAccount}}, metav1.CreateOptions{})
	must(t, "creating service account "+serviceAccount, err)
}

func podSpec(serviceAccount, node string) corev1.PodSpec {
	automount := false
	return corev1.PodSpec{
		ServiceAccountName: serviceAccount, AutomountServiceAccountToken: &automount, NodeName: node,
		Containers: []corev1.Container{{Name: "c", Image: "registry.example.test/image:1"}},
	}
}

func (c *apiCluster) createPodWithStatus(t *testing.T, pod *corev1.Pod, status corev1.PodStatus) {
	t.Helper()
	pods := c.kube.CoreV1().Pods(pod.Namespace)
	created, err := pods.Create(c.ctx, pod, metav1.CreateOptions{})
	must(t, "creating pod "+pod.Name, err)
	created.Status = status
	_, err = pods.UpdateStatus(c.ctx, created, metav1.UpdateOptions{})
	must(t, "writing the status of pod "+pod.Name, err)
}

// installCertManager installs the Challenge CRD, and the namespace of the
// Certificates.
func (c *apiCluster) installCertManager(t *testing.T) {
	t.Helper()
	must(t, "installing the Challenge CRD", c.server.InstallCRDsFromFiles(filepath.Join("testdata", "challenges.crd.yaml")))
	c.createNamespaceWithServiceAccount(t, certManagerNamespace, "default")
}

// pendingChallenge is a cert-manager Challenge for apiHost that waits for
// validation, with cert-manager's reason.
type pendingChallenge struct {
	name, token, key, reason string
}

func (c *apiCluster) createChallenge(t *testing.T, ch pendingChallenge) {
	t.Helper()
	challenges := c.dynamic.Resource(challengesResource).Namespace(certManagerNamespace)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "acme.cert-manager.io/v1", "kind": "Challenge",
		"metadata": map[string]any{"name": ch.name, "namespace": certManagerNamespace},
		"spec": map[string]any{
			"dnsName": apiHost, "type": "HTTP-01", "token": ch.token, "key": ch.key,
			"url": "https://acme.example.test/chall/" + ch.name,
		},
	}}
	created, err := challenges.Create(c.ctx, obj, metav1.CreateOptions{})
	must(t, "creating Challenge "+ch.name, err)
	created.Object["status"] = map[string]any{"state": "pending", "presented": true, "processing": true, "reason": ch.reason}
	_, err = challenges.UpdateStatus(c.ctx, created, metav1.UpdateOptions{})
	must(t, "writing the status of Challenge "+ch.name, err)
}

// createStuckSolverPod is an HTTP-01 solver pod that cannot pull its image
// from a registry that needs credentials.
func (c *apiCluster) createStuckSolverPod(t *testing.T, name string) {
	t.Helper()
	c.createPodWithStatus(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: certManagerNamespace, Labels: map[string]string{"acme.cert-manager.io/http01-solver": "true"}},
		Spec:       podSpec("default", controlPlaneNode),
	}, corev1.PodStatus{
		Phase: corev1.PodPending,
		ContainerStatuses: []corev1.ContainerStatus{{
			Name: "c", Image: "registry.example.test/image:1",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason:  "ImagePullBackOff",
				Message: `Back-off pulling image "registry.example.test/image:1"`,
			}},
		}},
	})
}
