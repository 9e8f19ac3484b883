package v1alpha1

import (
	operatorv1 "github.com/openshift/api/operator/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// HTTP01ChallengeProxy is the operator resource of the HTTP-01 challenge
// proxy operator. It carries the management state and log levels, and the
// operator's conditions and generations, which the ClusterOperator
// http01-challenge-proxy is built from. Admins configure the proxy itself in
// http01challengeproxies.config.openshift.io/cluster.
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
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=".status.conditions[?(@.type==\"DaemonSetAvailable\")].status",description="Whether the proxy DaemonSet is available"
// +kubebuilder:printcolumn:name="Degraded",type=string,JSONPath=".status.conditions[?(@.type==\"DaemonSetDegraded\")].status",description="Whether the proxy DaemonSet is degraded"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=".metadata.creationTimestamp"
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'cluster'",message="the operator resource is a singleton: the only allowed name is 'cluster'"
type HTTP01ChallengeProxy struct {
	metav1.TypeMeta `json:",inline"`
	// metadata is the standard object's metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec holds the operator's own settings.
	// +required
	Spec HTTP01ChallengeProxySpec `json:"spec"`

	// status is the operator's own state.
	// +optional
	Status HTTP01ChallengeProxyStatus `json:"status,omitempty"`
}

// HTTP01ChallengeProxySpec is the common operator spec: management state,
// log levels and overrides.
type HTTP01ChallengeProxySpec struct {
	operatorv1.OperatorSpec `json:",inline"`
}

// HTTP01ChallengeProxyStatus is the common operator status: conditions,
// generations of the resources the operator applied, and its version.
type HTTP01ChallengeProxyStatus struct {
	operatorv1.OperatorStatus `json:",inline"`
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
