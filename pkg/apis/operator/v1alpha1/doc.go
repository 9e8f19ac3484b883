// Package v1alpha1 holds the operator plumbing resource of the HTTP-01
// challenge proxy operator: management state, log levels and the operator's
// own status, in the shape library-go controllers expect.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +groupName=operator.openshift.io
// +kubebuilder:validation:Optional
package v1alpha1
