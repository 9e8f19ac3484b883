// Command http01-challenge-proxy-daemon is the node daemon of the HTTP-01
// challenge proxy, which the operator's DaemonSet runs on every
// control-plane node. It ships in the operator's image beside the operator
// binary but links none of the operator's packages: it never calls the API.
package main

import (
	"os"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/version"
)

func main() {
	cmd := daemon.NewDaemonCommand()
	cmd.Version = version.Get().GitVersion
	// cobra has printed the error already.
	if err := cmd.Execute(); err != nil {
		os.Exit(1)
	}
}
