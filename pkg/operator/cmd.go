package operator

import (
	"context"

	"github.com/openshift/library-go/pkg/controller/controllercmd"
	"github.com/spf13/cobra"
	"k8s.io/utils/clock"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/version"
)

// NewOperatorCommand returns the "operator" subcommand. controllercmd gives
// it --config (a GenericOperatorConfig file), --kubeconfig and --namespace
// for local runs, leader election, the event recorder and the /metrics,
// /healthz and /readyz server.
func NewOperatorCommand(ctx context.Context) *cobra.Command {
	cmd := controllercmd.NewControllerCommandConfig(names.OperatorName, version.Get(), RunOperator, clock.RealClock{}).
		NewCommandWithContext(ctx)
	cmd.Use = "operator"
	cmd.Short = "Deploy the HTTP-01 challenge proxy on bare-metal control-plane nodes"
	return cmd
}
