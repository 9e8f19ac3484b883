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
	// Ports 9448 and 9449 are taken by the proxy's own health and metrics
	// endpoints.
	// +kubebuilder:validation:Minimum=1024
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:validation:XValidation:rule="self != 9448 && self != 9449",message="internalPort must not be 9448 or 9449: the proxy's health and metrics endpoints listen there"
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
