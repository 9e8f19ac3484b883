// Command daemononly is the daemon subcommand alone, without the operator
// linked in: hack/bench-dataplane.sh --candidate NAME=daemon-only (and --fix)
// compares its footprint with the one binary's, the evidence for building
// the DaemonSet's binary separately (docs/performance.md).
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon"
)

func main() {
	root := &cobra.Command{Use: "daemononly", SilenceErrors: false}
	root.AddCommand(daemon.NewDaemonCommand())
	if err := root.Execute(); err != nil {
		os.Exit(1)
	}
}
