package localcluster

import (
	"context"
	"fmt"
	"net/netip"

	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	configclient "github.com/openshift/client-go/config/clientset/versioned"
	operatorclient "github.com/openshift/client-go/operator/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Labels and taints of OpenShift nodes. Control-plane nodes carry both the
// historical master role and the control-plane role, each with its taint.
const (
	LabelMaster       = "node-role.kubernetes.io/master"
	LabelControlPlane = "node-role.kubernetes.io/control-plane"
	LabelWorker       = "node-role.kubernetes.io/worker"

	// kwokNodeAnnotation marks the nodes kwok manages (its
	// --manage-nodes-with-annotation-selector).
	kwokNodeAnnotation = "kwok.x-k8s.io/node"
	kwokNodeValue      = "fake"

	// SimulatedNodeTaint keeps pods off the workers kwok simulates: the
	// solver pods must run on the worker whose kubelet is real.
	SimulatedNodeTaint = "local-cluster.openshift.io/simulated"
)

// nodeObject is the Node as a kubelet would register it: roles, taints and
// the InternalIPs of the topology. kwok keeps addresses that are already
// there and fills in the rest of the status.
func nodeObject(n Node) *corev1.Node {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: n.Name,
			Labels: map[string]string{
				"kubernetes.io/hostname":  n.Name,
				"kubernetes.io/os":        "linux",
				"kubernetes.io/arch":      "amd64",
				"node.openshift.io/os_id": "rhcos",
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    nodeResources(),
			Allocatable: nodeResources(),
		},
	}
	if !n.HasKubelet() {
		node.Annotations = map[string]string{kwokNodeAnnotation: kwokNodeValue}
	}
	switch n.Role {
	case RoleControlPlane:
		node.Labels[LabelMaster] = ""
		node.Labels[LabelControlPlane] = ""
		node.Spec.Taints = []corev1.Taint{
			{Key: LabelMaster, Effect: corev1.TaintEffectNoSchedule},
			{Key: LabelControlPlane, Effect: corev1.TaintEffectNoSchedule},
		}
	case RoleWorker:
		node.Labels[LabelWorker] = ""
		// Pods the tests create must land on a node that runs them.
		if !n.HasKubelet() {
			node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: SimulatedNodeTaint, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	// One InternalIP only: kwok updates node status with a strategic
	// merge patch, whose merge key for addresses is the type, and two
	// InternalIPs (a dual-stack node) come out of it as duplicates that
	// the API server rejects. The node's namespace has both addresses.
	node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: n.Addresses[0].String()})
	node.Status.Addresses = append(node.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: n.Name})
	return node
}

// nodeResources are those of a typical bare-metal node.
func nodeResources() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("16"),
		corev1.ResourceMemory: resource.MustParse("64Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
}

// infrastructure is the Infrastructure singleton of a bare-metal cluster
// installed with install-config's apiVIPs and ingressVIPs set to the
// topology's VIPs, with the OpenShift-managed load balancer (keepalived).
func infrastructure(t Topology) *configv1.Infrastructure {
	apiVIPs, ingressVIPs := addrStrings(t.APIVIPs), addrStrings(t.IngressVIPs)
	machineNetworks := []configv1.CIDR{
		configv1.CIDR(netip.PrefixFrom(t.APIVIPs[0], t.PrefixLength4).Masked().String()),
		configv1.CIDR(netip.PrefixFrom(t.APIVIPs[1], t.PrefixLength6).Masked().String()),
	}
	var specAPIVIPs, specIngressVIPs []configv1.IP
	for _, v := range apiVIPs {
		specAPIVIPs = append(specAPIVIPs, configv1.IP(v))
	}
	for _, v := range ingressVIPs {
		specIngressVIPs = append(specIngressVIPs, configv1.IP(v))
	}
	return &configv1.Infrastructure{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster"},
		Spec: configv1.InfrastructureSpec{
			PlatformSpec: configv1.PlatformSpec{
				Type: configv1.BareMetalPlatformType,
				BareMetal: &configv1.BareMetalPlatformSpec{
					APIServerInternalIPs: specAPIVIPs,
					IngressIPs:           specIngressVIPs,
					MachineNetworks:      machineNetworks,
				},
			},
		},
		Status: configv1.InfrastructureStatus{
			InfrastructureName: ClusterName + "-l0cal",
			Platform:           configv1.BareMetalPlatformType,
			PlatformStatus: &configv1.PlatformStatus{
				Type: configv1.BareMetalPlatformType,
				BareMetal: &configv1.BareMetalPlatformStatus{
					APIServerInternalIP:  apiVIPs[0],
					APIServerInternalIPs: apiVIPs,
					IngressIP:            ingressVIPs[0],
					IngressIPs:           ingressVIPs,
					LoadBalancer:         &configv1.BareMetalPlatformLoadBalancer{Type: configv1.LoadBalancerTypeOpenShiftManagedDefault},
					MachineNetworks:      machineNetworks,
				},
			},
			APIServerURL:           "https://" + APIHost + ":6443",
			APIServerInternalURL:   "https://api-int." + ClusterName + "." + BaseDomain + ":6443",
			ControlPlaneTopology:   configv1.HighlyAvailableTopologyMode,
			InfrastructureTopology: configv1.HighlyAvailableTopologyMode,
			CPUPartitioning:        configv1.CPUPartitioningNone,
		},
	}
}

func addrStrings(addrs []netip.Addr) []string {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		out = append(out, a.String())
	}
	return out
}

// ingressConfig is the cluster's Ingress config: where routes live.
func ingressConfig() *configv1.Ingress {
	return &configv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster"},
		Spec:       configv1.IngressSpec{Domain: IngressDomain},
		Status:     configv1.IngressStatus{DefaultPlacement: configv1.DefaultPlacementWorkers},
	}
}

// clusterVersion is the ClusterVersion of a cluster that has completed the
// installation of releaseVersion.
func clusterVersion(releaseVersion string, now metav1.Time) *configv1.ClusterVersion {
	return &configv1.ClusterVersion{
		ObjectMeta: metav1.ObjectMeta{Name: "version"},
		Spec: configv1.ClusterVersionSpec{
			// A fixed, obviously local ID: nothing reports it anywhere.
			ClusterID: "00000000-0000-4000-8000-000000000001",
			Channel:   "local",
		},
		Status: configv1.ClusterVersionStatus{
			Desired:            configv1.Release{Version: releaseVersion},
			ObservedGeneration: 1,
			VersionHash:        "local",
			History: []configv1.UpdateHistory{{
				State:          configv1.CompletedUpdate,
				StartedTime:    now,
				CompletionTime: &now,
				Version:        releaseVersion,
				Verified:       false,
			}},
			Conditions: []configv1.ClusterOperatorStatusCondition{
				{Type: configv1.OperatorAvailable, Status: configv1.ConditionTrue, LastTransitionTime: now,
					Message: "Done applying " + releaseVersion},
				{Type: configv1.OperatorProgressing, Status: configv1.ConditionFalse, LastTransitionTime: now,
					Message: "Cluster version is " + releaseVersion},
			},
		},
	}
}

// createFixtures creates the nodes and the config singletons that other
// operators own on a real cluster. Status goes through the status
// subresource, as their owners would write it.
func createFixtures(ctx context.Context, cfg *rest.Config, t Topology, releaseVersion string) error {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	config, err := configclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	for _, n := range t.Nodes {
		if _, err := kube.CoreV1().Nodes().Create(ctx, nodeObject(n), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating node %s: %w", n.Name, err)
		}
	}

	// kubectl logs and exec: the kubelets ask the API server whether its
	// client may use their API, as on every cluster.
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "local-cluster:kube-apiserver-kubelet-client"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:kubelet-api-admin"},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: kubeletClientUser}},
	}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("binding the API server's kubelet client: %w", err)
	}

	infra := infrastructure(t)
	created, err := config.ConfigV1().Infrastructures().Create(ctx, infra, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating the Infrastructure: %w", err)
	}
	created.Status = infra.Status
	if _, err := config.ConfigV1().Infrastructures().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing the Infrastructure's status: %w", err)
	}

	ingress := ingressConfig()
	createdIngress, err := config.ConfigV1().Ingresses().Create(ctx, ingress, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating the Ingress config: %w", err)
	}
	createdIngress.Status = ingress.Status
	if _, err := config.ConfigV1().Ingresses().UpdateStatus(ctx, createdIngress, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing the Ingress config's status: %w", err)
	}

	// The installer creates it on every cluster; the operator reads its TLS
	// security profile and lists it among its relatedObjects.
	if _, err := config.ConfigV1().APIServers().Create(ctx, &configv1.APIServer{ObjectMeta: metav1.ObjectMeta{Name: "cluster"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the APIServer config: %w", err)
	}

	// The ingress operator creates the default IngressController; its
	// routeAdmission is unset, which is Strict namespace ownership.
	if err := createDefaultIngressController(ctx, cfg, kube); err != nil {
		return err
	}

	cv := clusterVersion(releaseVersion, metav1.Now())
	createdCV, err := config.ConfigV1().ClusterVersions().Create(ctx, cv, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating the ClusterVersion: %w", err)
	}
	createdCV.Status = cv.Status
	if _, err := config.ConfigV1().ClusterVersions().UpdateStatus(ctx, createdCV, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing the ClusterVersion's status: %w", err)
	}
	return nil
}

func createDefaultIngressController(ctx context.Context, cfg *rest.Config, kube kubernetes.Interface) error {
	// openshift-config too: every cluster has it, and manifests/ grants
	// the operator a Role there.
	for _, name := range []string{ingressOperatorNamespace, openShiftConfigNamespace} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	operators, err := operatorclient.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ic := &operatorv1.IngressController{ObjectMeta: metav1.ObjectMeta{Namespace: ingressOperatorNamespace, Name: defaultIngressController}}
	if _, err := operators.OperatorV1().IngressControllers(ingressOperatorNamespace).Create(ctx, ic, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the default IngressController: %w", err)
	}
	return nil
}
