// Command cluster-http01-challenge-proxy-operator is the operator's binary:
// the operator Deployment runs its "operator" subcommand, and admins run its
// "diagnose" subcommand. The DaemonSet the operator deploys runs the daemon's
// own binary from the same image (cmd/http01-challenge-proxy-daemon).
package main

import (
	"context"
	"errors"
	"os"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/diagnose"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/version"
)

func main() {
	os.Exit(cli.Run(newRootCommand()))
}

func newRootCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster-http01-challenge-proxy-operator",
		Short: "Serve ACME HTTP-01 challenges for the API hostname on bare-metal OpenShift",
		// Without a subcommand, show what there is to run and fail, so that
		// a Deployment with a wrong command does not look healthy.
		RunE: func(cmd *cobra.Command, _ []string) error {
			_ = cmd.Help()
			return errors.New("a subcommand is required: operator or diagnose")
		},
		Version: version.Get().GitVersion,
	}
	// controllercmd handles SIGTERM itself and cancels this context's
	// children; the root context only needs to outlive the command.
	cmd.AddCommand(operator.NewOperatorCommand(context.Background()))
	cmd.AddCommand(diagnose.NewDiagnoseCommand())
	return cmd
}
