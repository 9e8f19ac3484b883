package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HTTP01ChallengeProxy lets ACME HTTP-01 challenges for the API server's
// hostname succeed on bare-metal clusters.
//
// An ACME CA validates a certificate for api.<cluster>.<domain> by fetching
// http://api.<cluster>.<domain>/.well-known/acme-challenge/<token>. That name
// resolves to the API VIP, which lives on a control-plane node where nothing
// listens on port 80, so the challenge fails. When enabled, a proxy on every
// control-plane node redirects TCP port 80 of the API VIPs to itself and
// forwards only ACME challenge requests to the ingress VIPs, where the
// cert-manager solver is exposed by the router.
//
// The only instance is named "cluster". Its spec is empty by default, which
// keeps the proxy disabled.
//
// Compatibility level 4: No compatibility is provided, the API can change at any point for any reason. These capabilities should not be used by applications needing long term support.
//
// +genclient
// +genclient:nonNamespaced
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
// +kubebuilder:resource:path=http01challengeproxies,scope=Cluster,singular=http01challengeproxy
// +kubebuilder:subresource:status
// +kubebuilder:metadata:annotations="include.release.openshift.io/self-managed-high-availability=true"
// +kubebuilder:metadata:annotations="capability.openshift.io/name=baremetal"
// +kubebuilder:metadata:annotations="release.openshift.io/feature-set=CustomNoUpgrade,DevPreviewNoUpgrade,TechPreviewNoUpgrade"
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=".spec.mode",description="How the proxy is deployed; empty means disabled"
// +kubebuilder:printcolumn:name="Port",type=integer,JSONPath=".status.internalPort",description="The node-local port the proxy listens on"
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=".status.conditions[?(@.type==\"Ready\")].status",description="Whether every control-plane node serves challenges"
// +kubebuilder:printcolumn:name="Nodes",type=integer,JSONPath=".status.readyNodes",priority=1,description="Control-plane nodes with a ready proxy"
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=".status.conditions[?(@.type==\"Ready\")].reason",priority=1,description="Why the proxy is or is not ready"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'cluster'",message="http01challengeproxy is a singleton: the only allowed name is 'cluster'"
type HTTP01ChallengeProxy struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object's metadata.
	// More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the cluster administrator asks for.
	// +optional
	Spec HTTP01ChallengeProxySpec `json:"spec,omitempty"`

	// status is what the operator observed and acted on.
	// +optional
	Status HTTP01ChallengeProxyStatus `json:"status,omitempty"`
}

// HTTP01ChallengeProxyMode names how the proxy is deployed.
// +kubebuilder:validation:Enum=DefaultDeployment;CustomDeployment
type HTTP01ChallengeProxyMode string

const (
	// DefaultDeploymentMode runs the proxy on every control-plane node on
	// the default internal port, 8888.
	DefaultDeploymentMode HTTP01ChallengeProxyMode = "DefaultDeployment"
	// CustomDeploymentMode runs the proxy with the settings in
	// spec.customDeployment.
	CustomDeploymentMode HTTP01ChallengeProxyMode = "CustomDeployment"
)

// DefaultInternalPort is the node-local port the proxy listens on unless
// spec.customDeployment.internalPort says otherwise.
const DefaultInternalPort int32 = 8888

// HTTP01ChallengeProxySpec is a discriminated union on mode.
// +kubebuilder:validation:XValidation:rule="has(self.mode) && self.mode == 'CustomDeployment' ? has(self.customDeployment) : !has(self.customDeployment)",message="customDeployment is required when mode is CustomDeployment, and forbidden otherwise"
// +union
type HTTP01ChallengeProxySpec struct {
	// mode turns the proxy on and says how it is deployed.
	// Allowed values are DefaultDeployment and CustomDeployment.
	// When omitted, the proxy is disabled: no node is changed and nothing
	// listens for challenges. This is the platform default and may change.
	// DefaultDeployment runs the proxy on every control-plane node with the
	// default internal port, 8888.
	// CustomDeployment runs it with the settings in customDeployment.
	// +unionDiscriminator
	// +optional
	Mode HTTP01ChallengeProxyMode `json:"mode,omitempty"`

	// customDeployment holds the settings for mode CustomDeployment.
	// It is required when mode is CustomDeployment, and forbidden otherwise.
	// +optional
	CustomDeployment *CustomDeploymentSpec `json:"customDeployment,omitempty"`
}

// CustomDeploymentSpec tunes the proxy for clusters where the defaults clash
// with something else on the control-plane nodes.
type CustomDeploymentSpec struct {
	// internalPort is the TCP port on each control-plane node that the proxy
	// listens on and that port 80 of the API VIPs is redirected to. Pick a
	// port no other host-network service uses on the control-plane nodes.
	// It must be between 1024 and 65535: ports below 1024 are reserved for
	// privileged services, and port 80 itself is the one being redirected.
	// It must not be a port that OpenShift's host-port registry assigns on
	// control-plane nodes (openshift/enhancements
	// dev-guide/host-port-registry.md), such as etcd's 2379, nor one of the
	// proxy's own health (29448) and metrics (9450) ports, nor in the
	// NodePort range 30000-32767.
	// +kubebuilder:validation:Minimum=1024
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:validation:XValidation:rule="self != 29448",message="internalPort 29448 is the proxy's own health port: pick another port"
	// +kubebuilder:validation:XValidation:rule="self != 9450",message="internalPort 9450 is the proxy's own metrics port: pick another port"
	// +kubebuilder:validation:XValidation:rule="self != 1936",message="internalPort 1936 is the OpenShift router's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 2041",message="internalPort 2041 is konnectivity-agent's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 2379",message="internalPort 2379 is etcd's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 2380",message="internalPort 2380 is etcd's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 2381",message="internalPort 2381 is etcd's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 4180",message="internalPort 4180 is machine-config-daemon's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 5050",message="internalPort 5050 is ironic-inspector's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 6080",message="internalPort 6080 is cluster-kube-apiserver-operator's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 6180",message="internalPort 6180 is the bare-metal provisioning httpd's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 6181",message="internalPort 6181 is the bare-metal provisioning httpd's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 6183",message="internalPort 6183 is the bare-metal provisioning httpd's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 6189",message="internalPort 6189 is ironic's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 6385",message="internalPort 6385 is ironic's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 6388",message="internalPort 6388 is ironic's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 6443",message="internalPort 6443 is kube-apiserver's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 8089",message="internalPort 8089 is kubernetes-nmstate's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 8797",message="internalPort 8797 is machine-config-daemon's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9001",message="internalPort 9001 is machine-config-daemon's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9099",message="internalPort 9099 is the cluster-version operator's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9100",message="internalPort 9100 is node-exporter's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9102",message="internalPort 9102 is kube-proxy's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9103",message="internalPort 9103 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9105",message="internalPort 9105 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9107",message="internalPort 9107 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9108",message="internalPort 9108 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9110",message="internalPort 9110 is sriov-network-metrics-exporter's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9120",message="internalPort 9120 is MetalLB's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9121",message="internalPort 9121 is MetalLB's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9122",message="internalPort 9122 is MetalLB's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9123",message="internalPort 9123 is frr-k8s' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9191",message="internalPort 9191 is cluster-machine-approver's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9192",message="internalPort 9192 is cluster-machine-approver's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9193",message="internalPort 9193 is cluster-machine-approver's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9194",message="internalPort 9194 is cluster-machine-approver's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self < 9200 || self > 9219",message="internalPort must not be in 9200-9219, the CSI drivers' range in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9257",message="internalPort 9257 is cluster-cloud-controller-manager-operator's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9258",message="internalPort 9258 is cluster-cloud-controller-manager-operator's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9259",message="internalPort 9259 is cluster-cloud-controller-manager-operator's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9260",message="internalPort 9260 is cluster-cloud-controller-manager-operator's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9300",message="internalPort 9300 is the ingress node firewall's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9301",message="internalPort 9301 is the ingress node firewall's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9400",message="internalPort 9400 is network observability's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9401",message="internalPort 9401 is network observability's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9443",message="internalPort 9443 is kube-controller-manager's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9444",message="internalPort 9444 is the on-prem internal load balancer's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9445",message="internalPort 9445 is the on-prem internal load balancer's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9446",message="internalPort 9446 is baremetal-operator's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9447",message="internalPort 9447 is baremetal-operator's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9448",message="internalPort 9448 is run-once-duration-override-operator's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9449",message="internalPort 9449 is cli-manager's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9537",message="internalPort 9537 is CRI-O's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9545",message="internalPort 9545 is the on-prem internal load balancer's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9641",message="internalPort 9641 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9642",message="internalPort 9642 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9643",message="internalPort 9643 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9644",message="internalPort 9644 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9977",message="internalPort 9977 is etcd's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9978",message="internalPort 9978 is etcd's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9979",message="internalPort 9979 is etcd's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 9980",message="internalPort 9980 is etcd's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10010",message="internalPort 10010 is CRI-O's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10248",message="internalPort 10248 is the kubelet's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10250",message="internalPort 10250 is the kubelet's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10251",message="internalPort 10251 is kube-scheduler's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10255",message="internalPort 10255 is kube-proxy's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10256",message="internalPort 10256 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10257",message="internalPort 10257 is kube-controller-manager's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10258",message="internalPort 10258 is cloud-controller-manager's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10259",message="internalPort 10259 is kube-scheduler's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10263",message="internalPort 10263 is cloud-node-manager's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self < 10300 || self > 10313",message="internalPort must not be in 10300-10313, the CSI drivers' range in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10357",message="internalPort 10357 is cluster-policy-controller's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10443",message="internalPort 10443 is the OpenShift router's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 10444",message="internalPort 10444 is the OpenShift router's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 11443",message="internalPort 11443 is kube-scheduler's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 17697",message="internalPort 17697 is kube-apiserver's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 22623",message="internalPort 22623 is machine-config-server's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 22624",message="internalPort 22624 is machine-config-server's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 22625",message="internalPort 22625 is internalreleaseimage's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 29102",message="internalPort 29102 is kube-proxy's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 29103",message="internalPort 29103 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 29105",message="internalPort 29105 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 29108",message="internalPort 29108 is OVN-Kubernetes' in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 29150",message="internalPort 29150 is MetalLB's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 29151",message="internalPort 29151 is MetalLB's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 29445",message="internalPort 29445 is the on-prem internal load balancer's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self < 30000 || self > 32767",message="internalPort must not be in 30000-32767, the NodePort range, which any node may open for a Service: pick a port below 30000"
	// +kubebuilder:validation:XValidation:rule="self != 39300",message="internalPort 39300 is the ingress node firewall's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 39301",message="internalPort 39301 is the ingress node firewall's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +kubebuilder:validation:XValidation:rule="self != 60000",message="internalPort 60000 is baremetal-operator's in OpenShift's host-port registry: pick a port no control-plane service uses"
	// +required
	InternalPort int32 `json:"internalPort"`
}

// HTTP01ChallengeProxyStatus reports what the operator acted on, so that an
// admin can check it against what they expected without reading logs.
type HTTP01ChallengeProxyStatus struct {
	// conditions describe the state of the proxy. The Ready condition says
	// whether every control-plane node serves challenges and, when not, what
	// to do about it.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the spec generation this status was computed
	// from. When it is behind metadata.generation, the operator has not yet
	// acted on the latest spec.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// apiServerVIPs are the API VIPs, read from the Infrastructure
	// resource, whose port 80 is redirected to the proxy.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2
	// +optional
	APIServerVIPs []string `json:"apiServerVIPs,omitempty"`

	// ingressVIPs are the ingress VIPs, read from the Infrastructure
	// resource, that challenge requests are forwarded to on port 80.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2
	// +optional
	IngressVIPs []string `json:"ingressVIPs,omitempty"`

	// internalPort is the node-local port the proxy listens on: the default
	// or spec.customDeployment.internalPort. It is unset while disabled.
	// +optional
	InternalPort int32 `json:"internalPort,omitempty"`

	// desiredNodes is the number of control-plane nodes that should run the
	// proxy.
	// +optional
	DesiredNodes int32 `json:"desiredNodes,omitempty"`

	// readyNodes is the number of control-plane nodes whose proxy is ready:
	// it listens and its redirect rules are in place.
	// +optional
	ReadyNodes int32 `json:"readyNodes,omitempty"`
}

// HTTP01ChallengeProxyList is a list of HTTP01ChallengeProxy.
//
// Compatibility level 4: No compatibility is provided, the API can change at any point for any reason. These capabilities should not be used by applications needing long term support.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
// +kubebuilder:object:root=true
type HTTP01ChallengeProxyList struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard list's metadata.
	// +optional
	metav1.ListMeta `json:"metadata,omitempty"`

	// items are the HTTP01ChallengeProxy objects.
	Items []HTTP01ChallengeProxy `json:"items"`
}
