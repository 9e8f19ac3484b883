//go:build integration

package api

import (
	"context"
	"fmt"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
)

// hostPort is one TCP row of OpenShift's host-port registry
// (openshift/enhancements dev-guide/host-port-registry.md, read at
// 1313bd4787e45e2a2bca50d4f058d920f7d82ceb), external and localhost-only,
// with the owner the refusal must name. Every row counts: the registry
// assumes a port is used on every node unless it says otherwise, and the
// rows it limits (router pods, for one) can land on control-plane nodes.
type hostPort struct {
	first, last int
	// owner is named in the refusal; a range is refused as a whole.
	owner string
}

var registry = []hostPort{
	{1936, 1936, "the OpenShift router's"},
	{2041, 2041, "konnectivity-agent's"},
	{2379, 2379, "etcd's"},
	{2380, 2380, "etcd's"},
	{2381, 2381, "etcd's"},
	{4180, 4180, "machine-config-daemon's"},
	{5050, 5050, "ironic-inspector's"},
	{6080, 6080, "cluster-kube-apiserver-operator's"},
	{6180, 6180, "the bare-metal provisioning httpd's"},
	{6181, 6181, "the bare-metal provisioning httpd's"},
	{6183, 6183, "the bare-metal provisioning httpd's"},
	{6189, 6189, "ironic's"},
	{6385, 6385, "ironic's"},
	{6388, 6388, "ironic's"},
	{6443, 6443, "kube-apiserver's"},
	{8089, 8089, "kubernetes-nmstate's"},
	{8797, 8797, "machine-config-daemon's"},
	{9001, 9001, "machine-config-daemon's"},
	{9099, 9099, "the cluster-version operator's"},
	{9100, 9100, "node-exporter's"},
	{9102, 9102, "kube-proxy's"},
	{9103, 9103, "OVN-Kubernetes'"},
	{9105, 9105, "OVN-Kubernetes'"},
	{9107, 9107, "OVN-Kubernetes'"},
	{9108, 9108, "OVN-Kubernetes'"},
	{9110, 9110, "sriov-network-metrics-exporter's"},
	{9120, 9120, "MetalLB's"},
	{9121, 9121, "MetalLB's"},
	{9122, 9122, "MetalLB's"},
	{9123, 9123, "frr-k8s'"},
	{9191, 9191, "cluster-machine-approver's"},
	{9192, 9192, "cluster-machine-approver's"},
	{9193, 9193, "cluster-machine-approver's"},
	{9194, 9194, "cluster-machine-approver's"},
	{9200, 9219, "the CSI drivers' range in OpenShift's host-port registry"},
	{9257, 9257, "cluster-cloud-controller-manager-operator's"},
	{9258, 9258, "cluster-cloud-controller-manager-operator's"},
	{9259, 9259, "cluster-cloud-controller-manager-operator's"},
	{9260, 9260, "cluster-cloud-controller-manager-operator's"},
	{9300, 9300, "the ingress node firewall's"},
	{9301, 9301, "the ingress node firewall's"},
	{9400, 9400, "network observability's"},
	{9401, 9401, "network observability's"},
	{9443, 9443, "kube-controller-manager's"},
	{9444, 9444, "the on-prem internal load balancer's"},
	{9445, 9445, "the on-prem internal load balancer's"},
	{9446, 9446, "baremetal-operator's"},
	{9447, 9447, "baremetal-operator's"},
	{9448, 9448, "run-once-duration-override-operator's"},
	{9449, 9449, "cli-manager's"},
	{9537, 9537, "CRI-O's"},
	{9545, 9545, "the on-prem internal load balancer's"},
	{9641, 9641, "OVN-Kubernetes'"},
	{9642, 9642, "OVN-Kubernetes'"},
	{9643, 9643, "OVN-Kubernetes'"},
	{9644, 9644, "OVN-Kubernetes'"},
	{9977, 9977, "etcd's"},
	{9978, 9978, "etcd's"},
	{9979, 9979, "etcd's"},
	{9980, 9980, "etcd's"},
	{10010, 10010, "CRI-O's"},
	{10248, 10248, "the kubelet's"},
	{10250, 10250, "the kubelet's"},
	{10251, 10251, "kube-scheduler's"},
	{10255, 10255, "kube-proxy's"},
	{10256, 10256, "OVN-Kubernetes'"},
	{10257, 10257, "kube-controller-manager's"},
	{10258, 10258, "cloud-controller-manager's"},
	{10259, 10259, "kube-scheduler's"},
	{10263, 10263, "cloud-node-manager's"},
	{10300, 10313, "the CSI drivers' range in OpenShift's host-port registry"},
	{10357, 10357, "cluster-policy-controller's"},
	{10443, 10443, "the OpenShift router's"},
	{10444, 10444, "the OpenShift router's"},
	{11443, 11443, "kube-scheduler's"},
	{17697, 17697, "kube-apiserver's"},
	{22623, 22623, "machine-config-server's"},
	{22624, 22624, "machine-config-server's"},
	{22625, 22625, "internalreleaseimage's"},
	{29102, 29102, "kube-proxy's"},
	{29103, 29103, "OVN-Kubernetes'"},
	{29105, 29105, "OVN-Kubernetes'"},
	{29108, 29108, "OVN-Kubernetes'"},
	{29150, 29150, "MetalLB's"},
	{29151, 29151, "MetalLB's"},
	{29445, 29445, "the on-prem internal load balancer's"},
	{39300, 39300, "the ingress node firewall's"},
	{39301, 39301, "the ingress node firewall's"},
	{60000, 60000, "baremetal-operator's"},
}

// TestInternalPortRefusesTakenPorts: the API server refuses, as
// spec.customDeployment.internalPort, every port of the registry, the
// proxy's own health and metrics ports and the NodePort range, each with a
// message that names the owner; and it accepts the free ports around them.
func TestInternalPortRefusesTakenPorts(t *testing.T) {
	srv := apiserver.Start(t)
	client := dynamic.NewForConfigOrDie(srv.RESTConfig())

	// refused maps each port to the message that must name its owner.
	refused := map[int]string{
		int(names.DaemonHealthPort):  fmt.Sprintf("internalPort %d is the proxy's own health port", names.DaemonHealthPort),
		int(names.DaemonMetricsPort): fmt.Sprintf("internalPort %d is the proxy's own metrics port", names.DaemonMetricsPort),
	}
	for _, row := range registry {
		for port := row.first; port <= row.last; port++ {
			if row.first == row.last {
				refused[port] = fmt.Sprintf("internalPort %d is %s in OpenShift's host-port registry", port, row.owner)
			} else {
				refused[port] = fmt.Sprintf("internalPort must not be in %d-%d, %s", row.first, row.last, row.owner)
			}
		}
	}
	for _, port := range []int{30000, 30080, 32767} {
		refused[port] = "internalPort must not be in 30000-32767, the NodePort range"
	}
	for port, want := range refused {
		err := createDryRun(client, port)
		switch {
		case err == nil:
			t.Errorf("internalPort %d accepted; want %q", port, want)
		case !apierrors.IsInvalid(err):
			t.Errorf("internalPort %d: want an Invalid error, got %v", port, err)
		case !strings.Contains(err.Error(), want):
			t.Errorf("internalPort %d: error does not name the owner\n want: %s\n  got: %v", port, want, err)
		}
	}

	// The edges of every refused range, and ports an admin may pick.
	free := []int{1024, 1935, 2378, 2382, 8888, 9199, 9220, 9451, 10299, 10314, 18888, 29447, 29449, 29999, 32768, 65535}
	for _, port := range free {
		if _, taken := refused[port]; taken {
			t.Fatalf("test table: %d is both free and refused", port)
		}
		if err := createDryRun(client, port); err != nil {
			t.Errorf("internalPort %d refused: %v", port, err)
		}
	}
}

// createDryRun asks the API server to validate a config with the port, and
// stores nothing.
func createDryRun(client dynamic.Interface, port int) error {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": configGVR.GroupVersion().String(),
		"kind":       "HTTP01ChallengeProxy",
		"metadata":   map[string]any{"name": "cluster"},
		"spec": map[string]any{
			"mode":             "CustomDeployment",
			"customDeployment": map[string]any{"internalPort": int64(port)},
		},
	}}
	_, err := client.Resource(configGVR).Create(context.Background(), obj, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}
