package diagnose

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// ExitChecksFailed is the exit code when a check failed. Bad flags and a
// kubeconfig that cannot be loaded exit with 1 too, with the error on
// stderr instead of a checklist on stdout.
const ExitChecksFailed = 1

// NewDiagnoseCommand returns the `diagnose` subcommand.
func NewDiagnoseCommand() *cobra.Command {
	return newDiagnoseCommand(os.Exit)
}

// newDiagnoseCommand is NewDiagnoseCommand with the function that ends the
// process given, so that tests can see the exit code.
func newDiagnoseCommand(exit func(int)) *cobra.Command {
	options := NewOptions()
	cmd := &cobra.Command{
		Use:   "diagnose --domain api.<cluster>.<domain>",
		Short: "Check every hop of the ACME HTTP-01 challenge path for the API host name, and say what to do about the first broken one",
		Long: `Checks, one line per hop, why a certificate for the API host name is not
issued: DNS, port 80 of each resolved address, that the answer comes through
the proxy (its Via header), that a challenge request reaches the router
rather than getting the proxy's 502/504 (which names the ingress VIP it could
not reach), and that anything else is refused by the proxy's filter.

With a kubeconfig (--kubeconfig, $KUBECONFIG or --in-cluster) it also
compares DNS with the API VIPs of the Infrastructure, and checks the
HTTP01ChallengeProxy configuration, the ClusterOperator, the proxy pod of
every control-plane node, and cert-manager's Challenges for the name and the
answer of their tokens. It only reads: it changes nothing anywhere.

Run it where the trouble is seen: from a workstation, from
"oc debug node/<node>", or as a one-off pod. It exits with 0 when every hop
passes, and 1 otherwise.`,
		Args: cobra.NoArgs,
		// A hook of its own replaces the one k8s.io/component-base/cli
		// puts on the root to set up logging. Its output is a checklist,
		// not a log: without that setup cli.Run reports a bad flag as a
		// plain "Error: ..." line instead of a klog line.
		PersistentPreRun: func(*cobra.Command, []string) {},
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The flags parsed; a bad value's error says what is wrong
			// better than the usage text would.
			cmd.SilenceUsage = true
			cfg, err := options.Config()
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			report, err := Run(ctx, cfg)
			if err != nil {
				return err
			}
			if err := write(cmd.OutOrStdout(), report, cfg.Output); err != nil {
				return err
			}
			if !report.Passed {
				// Not an error for cobra to print: the checklist already
				// says what failed.
				exit(ExitChecksFailed)
			}
			return nil
		},
	}
	options.AddFlags(cmd.Flags())
	return cmd
}

func write(w io.Writer, r Report, output string) error {
	if output == OutputJSON {
		return r.WriteJSON(w)
	}
	return r.WriteText(w)
}

// Run observes everything and judges it. The cluster is read first: the
// tokens of pending Challenges are then asked for on port 80 too.
func Run(ctx context.Context, cfg Config) (Report, error) {
	obs := Observations{Domain: cfg.Domain}
	var challenges []ChallengeObservation
	if cfg.REST != nil {
		reader, err := newClusterReader(cfg.REST)
		if err != nil {
			return Report{}, err
		}
		obs.Cluster = reader.observe(ctx, cfg.Domain)
		challenges = obs.Cluster.CertManager.Challenges
	}
	network := newNetwork(cfg.Domain, cfg.DNSServer, cfg.Timeout)
	obs.DNS = network.resolve(ctx)
	obs.Addresses = network.checkAddresses(ctx, obs.DNS.Addresses, challenges)
	return Judge(obs), nil
}
