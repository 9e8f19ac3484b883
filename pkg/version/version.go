// Package version reports the build's version, set at link time:
//
//	go build -ldflags "-X github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/version.gitVersion=v4.21.0 \
//	  -X github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/version.gitCommit=$(git rev-parse HEAD) \
//	  -X github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/version.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
//
// The release version the ClusterOperator reports does not come from here
// but from RELEASE_VERSION, which the CVO sets per release.
package version

import (
	"fmt"
	"runtime"

	"k8s.io/apimachinery/pkg/version"
)

// Set by -ldflags -X; the defaults mark an unversioned development build.
var (
	gitVersion   = "v0.0.0-unknown"
	gitCommit    = "unknown"
	gitTreeState = ""
	buildDate    = "1970-01-01T00:00:00Z"
)

// Get returns the build's version information.
func Get() version.Info {
	return version.Info{
		GitVersion:   gitVersion,
		GitCommit:    gitCommit,
		GitTreeState: gitTreeState,
		BuildDate:    buildDate,
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
}
