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
//
// The leader election durations are left to library-go on purpose: lease
// 137s, renew deadline 107s, retry 26s, which ride out a kube-apiserver
// outage of 78s or more without losing the lease (and so without the
// process exiting), and 270s/240s/60s on single-node clusters, whose only
// kube-apiserver restarts for longer. Setting any of them would turn the
// single-node adjustment off. TestAPIServerOutage runs this binary through
// a one-minute outage.
func NewOperatorCommand(ctx context.Context) *cobra.Command {
	cmd := controllercmd.NewControllerCommandConfig(names.OperatorName, version.Get(), RunOperator, clock.RealClock{}).
		NewCommandWithContext(ctx)
	cmd.Use = "operator"
	cmd.Short = "Deploy the HTTP-01 challenge proxy on bare-metal control-plane nodes"
	return cmd
}
