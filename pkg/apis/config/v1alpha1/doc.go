// Package v1alpha1 holds the admin-facing configuration of the HTTP-01
// challenge proxy for bare-metal API endpoints.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +groupName=config.openshift.io
// +kubebuilder:validation:Optional
package v1alpha1
