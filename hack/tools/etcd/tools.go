//go:build tools

// Package tools pins the etcd server used by the integration tests.
// hack/build-tools.sh builds it as _output/tools/bin/etcd.
package tools

import (
	_ "go.etcd.io/etcd/server/v3"
)
