//go:build tools

// Package tools pins the Kubernetes control-plane binaries used by the
// integration tests. It is never compiled into anything; hack/build-tools.sh
// builds the commands listed here from this module.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
