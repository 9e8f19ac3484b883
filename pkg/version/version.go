// Package version reports the build's version. The Makefile (through
// build-machinery-go's golang.mk) sets the variables below at link time with
// -ldflags "-X .../pkg/version.versionFromGit=... -X ...commitFromGit=...".
//
// The version the ClusterOperator reports does not come from here but from
// RELEASE_VERSION, which the CVO sets per release.
package version

import (
	"fmt"
	"runtime"

	"k8s.io/apimachinery/pkg/version"
)

// Set by -ldflags -X; the defaults mark a build without them (go run, go test).
var (
	versionFromGit = "v0.0.0-unknown"
	commitFromGit  = "unknown"
	gitTreeState   = ""
	buildDate      = "1970-01-01T00:00:00Z"
)

// Get returns the build's version information.
func Get() version.Info {
	return version.Info{
		GitVersion:   versionFromGit,
		GitCommit:    commitFromGit,
		GitTreeState: gitTreeState,
		BuildDate:    buildDate,
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
}
