//go:build tools

// Package tools pins Pebble, the small ACME test server, and its companion
// challenge test server. hack/build-tools.sh builds them as
// _output/tools/bin/pebble and _output/tools/bin/pebble-challtestsrv.
package tools

import (
	_ "github.com/letsencrypt/pebble/v2/cmd/pebble"
	_ "github.com/letsencrypt/pebble/v2/cmd/pebble-challtestsrv"
)
