//go:build tools

// Package hack pins modules that are used only by the build (Makefile
// fragments) or by code that is not yet importing them, so that `go mod
// vendor` keeps them.
package hack

import (
	_ "github.com/openshift/build-machinery-go"
)
