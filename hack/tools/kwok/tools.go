//go:build tools

// Package tools pins kwok, which simulates nodes and pods against a real
// kube-apiserver. hack/build-tools.sh builds it as _output/tools/bin/kwok.
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
