package diagnose

import (
	"context"
	"net/netip"
	"slices"
	"strings"

	configv1 "github.com/openshift/api/config/v1"
	configclient "github.com/openshift/client-go/config/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	ourclient "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/clientset/versioned"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// challengesResource is cert-manager's Challenge. It is read through the
// dynamic client: cert-manager is optional, and its types are not ours to
// vendor.
var challengesResource = schema.GroupVersionResource{Group: "acme.cert-manager.io", Version: "v1", Resource: "challenges"}

const (
	// controlPlaneSelector is the DaemonSet's nodeSelector.
	controlPlaneSelector = "node-role.kubernetes.io/master"
	operandSelector      = "app=" + names.OperandName
)

// clusterReader reads what the cluster's API says about the proxy. It only
// reads: diagnose never changes anything.
type clusterReader struct {
	config  configclient.Interface
	ours    ourclient.Interface
	kube    kubernetes.Interface
	dynamic dynamic.Interface
}

func newClusterReader(rc *rest.Config) (*clusterReader, error) {
	config, err := configclient.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	ours, err := ourclient.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	return &clusterReader{config: config, ours: ours, kube: kube, dynamic: dyn}, nil
}

// observe reads everything; if the Infrastructure cannot be read, nothing
// else is tried, since every other read would fail the same way.
func (r *clusterReader) observe(ctx context.Context, domain string) *ClusterObservation {
	obs := &ClusterObservation{Infrastructure: r.infrastructure(ctx)}
	if obs.Infrastructure.Failure != "" {
		return obs
	}
	obs.Config = r.configSingleton(ctx)
	obs.ClusterOperator = r.clusterOperator(ctx)
	obs.DaemonSet = r.daemonSet(ctx)
	obs.CertManager = r.certManager(ctx, domain)
	return obs
}

func (r *clusterReader) infrastructure(ctx context.Context) InfrastructureObservation {
	infra, err := r.config.ConfigV1().Infrastructures().Get(ctx, names.SingletonName, metav1.GetOptions{})
	if err != nil {
		return InfrastructureObservation{Failure: err.Error()}
	}
	obs := InfrastructureObservation{APIServerURL: infra.Status.APIServerURL, Platform: string(infra.Status.Platform)}
	status := infra.Status.PlatformStatus
	if status == nil {
		return obs
	}
	obs.Platform = string(status.Type)
	if bm := status.BareMetal; bm != nil {
		obs.APIVIPs = parseVIPs(bm.APIServerInternalIPs, bm.APIServerInternalIP)
		obs.IngressVIPs = parseVIPs(bm.IngressIPs, bm.IngressIP)
	}
	return obs
}

// parseVIPs reads a VIP list, falling back to the deprecated single-VIP
// field that older installs set. What does not parse is left out: the
// operator already reports invalid VIPs on its conditions.
func parseVIPs(list []string, legacy string) []netip.Addr {
	if len(list) == 0 && legacy != "" {
		list = []string{legacy}
	}
	var vips []netip.Addr
	for _, v := range list {
		if addr, err := netip.ParseAddr(strings.TrimSpace(v)); err == nil {
			vips = append(vips, addr.Unmap())
		}
	}
	return vips
}

func (r *clusterReader) configSingleton(ctx context.Context) ConfigObservation {
	cfg, err := r.ours.ConfigV1alpha1().HTTP01ChallengeProxies().Get(ctx, names.SingletonName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return ConfigObservation{NotFound: true}
	case err != nil:
		return ConfigObservation{Failure: err.Error()}
	}
	obs := ConfigObservation{Mode: string(cfg.Spec.Mode)}
	for _, c := range cfg.Status.Conditions {
		if c.Type == "Ready" {
			obs.Ready = &Condition{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message}
		}
	}
	return obs
}

func (r *clusterReader) clusterOperator(ctx context.Context) ClusterOperatorObservation {
	co, err := r.config.ConfigV1().ClusterOperators().Get(ctx, names.ClusterOperator, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return ClusterOperatorObservation{NotFound: true}
	case err != nil:
		return ClusterOperatorObservation{Failure: err.Error()}
	}
	var obs ClusterOperatorObservation
	for _, c := range co.Status.Conditions {
		obs.Conditions = append(obs.Conditions, clusterOperatorCondition(c))
	}
	return obs
}

func clusterOperatorCondition(c configv1.ClusterOperatorStatusCondition) Condition {
	return Condition{Type: string(c.Type), Status: string(c.Status), Reason: c.Reason, Message: c.Message}
}

// daemonSet lists the proxy's pods and the control-plane nodes. Listing
// pods is fine for a command an admin runs once; the operator itself never
// watches pods.
func (r *clusterReader) daemonSet(ctx context.Context) DaemonSetObservation {
	pods, err := r.kube.CoreV1().Pods(names.OperandNamespace).List(ctx, metav1.ListOptions{LabelSelector: operandSelector})
	if err != nil {
		return DaemonSetObservation{Failure: err.Error()}
	}
	var obs DaemonSetObservation
	for _, p := range pods.Items {
		obs.Pods = append(obs.Pods, podObservation(p))
	}
	nodes, err := r.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: controlPlaneSelector})
	if err != nil {
		obs.NodesFailure = err.Error()
		return obs
	}
	for _, n := range nodes.Items {
		obs.ControlPlaneNodes = append(obs.ControlPlaneNodes, n.Name)
	}
	slices.Sort(obs.ControlPlaneNodes)
	return obs
}

func podObservation(p corev1.Pod) PodObservation {
	reason, _, _ := waiting(p)
	obs := PodObservation{Name: p.Name, Node: p.Spec.NodeName, Phase: string(p.Status.Phase), Waiting: reason}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			obs.Ready = true
		}
	}
	return obs
}

// waiting is the reason the first waiting container of p gives, and its
// message.
func waiting(p corev1.Pod) (reason, message, image string) {
	for _, s := range p.Status.ContainerStatuses {
		if w := s.State.Waiting; w != nil {
			return w.Reason, w.Message, s.Image
		}
	}
	return "", "", ""
}

// certManager lists the Challenges for the domain in all namespaces, and
// the solver pods that wait for something in their namespaces. A cluster
// without cert-manager answers NotFound: that is a fact, not a failure.
func (r *clusterReader) certManager(ctx context.Context, domain string) CertManagerObservation {
	list, err := r.dynamic.Resource(challengesResource).Namespace(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return CertManagerObservation{}
	case err != nil:
		return CertManagerObservation{Failure: err.Error()}
	}
	obs := CertManagerObservation{Installed: true}
	for _, item := range list.Items {
		if c := challengeObservation(item); strings.EqualFold(strings.TrimSuffix(dnsName(item), "."), domain) {
			obs.Challenges = append(obs.Challenges, c)
		}
	}
	slices.SortFunc(obs.Challenges, func(a, b ChallengeObservation) int { return strings.Compare(a.Ref(), b.Ref()) })
	obs.SolverPods = r.waitingSolverPods(ctx, obs.Challenges)
	return obs
}

func dnsName(u unstructured.Unstructured) string {
	name, _, _ := unstructured.NestedString(u.Object, "spec", "dnsName")
	return name
}

func challengeObservation(u unstructured.Unstructured) ChallengeObservation {
	str := func(fields ...string) string {
		s, _, _ := unstructured.NestedString(u.Object, fields...)
		return s
	}
	presented, _, _ := unstructured.NestedBool(u.Object, "status", "presented")
	return ChallengeObservation{
		Namespace: u.GetNamespace(), Name: u.GetName(),
		Type:  str("spec", "type"),
		State: str("status", "state"), Reason: str("status", "reason"), Presented: presented,
		Token: str("spec", "token"), Key: str("spec", "key"),
	}
}

// waitingSolverPods finds HTTP-01 solver pods that do not run, in the
// namespaces of pending Challenges. It is best effort: a namespace whose
// pods cannot be listed is skipped, since the Challenge's own line already
// says that it is stuck.
func (r *clusterReader) waitingSolverPods(ctx context.Context, challenges []ChallengeObservation) []SolverPodObservation {
	var namespaces []string
	for _, c := range challenges {
		if c.Pending() && !slices.Contains(namespaces, c.Namespace) {
			namespaces = append(namespaces, c.Namespace)
		}
	}
	var out []SolverPodObservation
	for _, ns := range namespaces {
		pods, err := r.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: solverLabelSelector})
		if err != nil {
			continue
		}
		for _, p := range pods.Items {
			if reason, message, image := waiting(p); reason != "" {
				out = append(out, SolverPodObservation{Namespace: ns, Name: p.Name, Waiting: reason, Message: message, Image: image})
			}
		}
	}
	return out
}
