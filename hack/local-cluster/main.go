// Command local-cluster runs a simulated bare-metal OpenShift cluster on this
// machine (see test/framework/localcluster). hack/local-cluster/up.sh and
// down.sh, make demo and make test-e2e build and call it; it needs root.
//
//	local-cluster up [--instance=demo] [--workers=2]
//	local-cluster status|down [--instance=demo]
//	local-cluster issue [--instance=demo] [--ipv6] [--out-dir=DIR]
//	local-cluster move-api-vip --to=master-1 [--instance=demo]
//	local-cluster diagnose [--instance=demo] [-- DIAGNOSE FLAGS]
//	local-cluster service-ca|router --state=FILE           (started by up)
//	local-cluster forward-apiserver --state=FILE --netns=NAME (started by up)
//	local-cluster node-egress --state=FILE                  (started by up)
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	operatorclient "github.com/openshift/client-go/operator/clientset/versioned"
	routeclient "github.com/openshift/client-go/route/clientset/versioned"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/localcluster"
)

// Exit codes the scripts act on.
const (
	exitFailure        = 1
	exitAlreadyRunning = 3
	exitNotRunning     = 4
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func main() {
	root := &cobra.Command{
		Use:           "local-cluster",
		Short:         "A simulated bare-metal OpenShift cluster on this machine, for the demo and the end-to-end tests",
		SilenceUsage:  true,
		SilenceErrors: true,
		// A developer tool run from scripts: no shell completion.
		CompletionOptions: cobra.CompletionOptions{DisableDefaultCmd: true},
	}
	var instance string
	root.PersistentFlags().StringVar(&instance, "instance", "demo", "Name of the cluster; instances run side by side (the tests use \"e2e\")")
	root.AddCommand(upCommand(&instance), downCommand(&instance), statusCommand(&instance),
		issueCommand(&instance), moveAPIVIPCommand(&instance), serviceCACommand(), routerCommand(), forwardAPIServerCommand(), nodeEgressCommand(), diagnoseCommand(&instance))

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "local-cluster: %v\n", err)
		var e *exitError
		if errors.As(err, &e) {
			os.Exit(e.code)
		}
		os.Exit(exitFailure)
	}
}

func repoRoot() (string, error) {
	root, err := apiserver.RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Abs(root)
}

func requireRoot() error {
	if os.Geteuid() != 0 {
		return errors.New("the local cluster creates network namespaces and nftables rules: run it as root")
	}
	return nil
}

func upCommand(instance *string) *cobra.Command {
	workers := localcluster.DefaultWorkerCount
	keep := os.Getenv("KEEP_ON_FAILURE") == "1"
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring up a local cluster and leave it running",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireRoot(); err != nil {
				return err
			}
			root, err := repoRoot()
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			s, err := localcluster.Up(cmd.Context(), localcluster.UpOptions{
				RepoRoot: root, Instance: *instance, Workers: workers, Self: self, Out: os.Stdout, KeepOnFailure: keep,
			})
			var running *localcluster.AlreadyRunningError
			if errors.As(err, &running) {
				return &exitError{exitAlreadyRunning, fmt.Errorf("%w\nUse it with:  export KUBECONFIG=%s\nRemove it with: hack/local-cluster/down.sh --instance=%s", err, running.Kubeconfig, *instance)}
			}
			if err != nil {
				return err
			}
			fmt.Printf("Local cluster %q is up: %d control-plane nodes and %d workers, release %s.\n",
				s.Instance, localcluster.ControlPlaneNodeCount, len(s.Topology.Workers()), s.ReleaseVersion)
			fmt.Printf("  KUBECONFIG=%s\n  state: %s\n  logs:  %s\n", s.Kubeconfig, localcluster.StatePath(s.Dir), filepath.Join(s.Dir, "logs"))
			return nil
		},
	}
	cmd.Flags().IntVar(&workers, "workers", workers, "Number of simulated workers")
	cmd.Flags().BoolVar(&keep, "keep-on-failure", keep, "Leave a cluster that failed to come up in place for debugging (also KEEP_ON_FAILURE=1)")
	return cmd
}

func downCommand(instance *string) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every process of a local cluster, delete its namespaces and files",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := requireRoot(); err != nil {
				return err
			}
			root, err := repoRoot()
			if err != nil {
				return err
			}
			report, err := localcluster.Down(root, *instance, os.Stdout)
			if !report.Found && err == nil {
				fmt.Printf("No local cluster %q: nothing to remove.\n", *instance)
				return nil
			}
			fmt.Printf("Stopped %d processes (%s), deleted %d network namespaces, removed %s.\n",
				len(report.Stopped), strings.Join(report.Stopped, ", "), len(report.Namespaces), localcluster.ClusterDir(root, *instance))
			if len(report.Killed) > 0 {
				fmt.Printf("  killed %d processes still running in the namespaces: %v\n", len(report.Killed), report.Killed)
			}
			if len(report.LeftoverTables) > 0 {
				fmt.Printf("  WARNING: nftables tables were left behind by stopped processes: %s\n", strings.Join(report.LeftoverTables, "; "))
			} else {
				fmt.Printf("  No nftables table was left in the nodes' namespaces.\n")
			}
			return err
		},
	}
}

func statusCommand(instance *string) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Say whether a local cluster runs (exit 0), is not there (4), or is partly dead (1)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			root, err := repoRoot()
			if err != nil {
				return err
			}
			alive, dead, exists, err := localcluster.Status(root, *instance)
			if err != nil {
				return err
			}
			dir := localcluster.ClusterDir(root, *instance)
			switch {
			case !exists:
				return &exitError{exitNotRunning, fmt.Errorf("no local cluster %q", *instance)}
			case len(dead) > 0:
				return fmt.Errorf("local cluster %q (%s) is partly dead: running %s; not running %s",
					*instance, dir, strings.Join(alive, ", "), strings.Join(dead, ", "))
			case len(alive) == 0:
				return &exitError{exitNotRunning, fmt.Errorf("local cluster %q (%s) runs no process", *instance, dir)}
			}
			fmt.Printf("Local cluster %q is running: %s\n  KUBECONFIG=%s\n", *instance, strings.Join(alive, ", "), filepath.Join(dir, "kubeconfig"))
			return nil
		},
	}
}

func loadState(instance string) (*localcluster.State, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	s, err := localcluster.LoadState(localcluster.StatePath(localcluster.ClusterDir(root, instance)))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("no local cluster %q is running; start one with hack/local-cluster/up.sh", instance)
	}
	return s, err
}

func issueCommand(instance *string) *cobra.Command {
	var opts localcluster.IssueOptions
	var outDir string
	cmd := &cobra.Command{
		Use:   "issue",
		Short: "Get a certificate for the API hostname from Pebble through the proxy, as cert-manager would",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireRoot(); err != nil {
				return err
			}
			s, err := loadState(*instance)
			if err != nil {
				return err
			}
			result, err := localcluster.Issue(cmd.Context(), s, opts)
			if err != nil {
				return err
			}
			if outDir == "" {
				outDir = s.Dir
			}
			certPath := filepath.Join(outDir, result.Domain+".crt")
			keyPath := filepath.Join(outDir, result.Domain+".key")
			if err := os.WriteFile(certPath, result.ChainPEM, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(keyPath, result.KeyPEM, 0o600); err != nil {
				return err
			}
			fmt.Print(result.Describe(s.Topology))
			fmt.Printf("  saved     %s (key: %s)\n", certPath, keyPath)
			return nil
		},
	}
	cmd.Flags().StringVar(&opts.Domain, "domain", localcluster.APIHost, "Name to issue the certificate for")
	cmd.Flags().BoolVar(&opts.IPv6, "ipv6", false, "Have the CA validate over IPv6")
	cmd.Flags().StringVar(&outDir, "out-dir", "", "Where to write <domain>.crt and .key (default: the cluster's directory)")
	return cmd
}

func moveAPIVIPCommand(instance *string) *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "move-api-vip",
		Short: "Move the API VIPs to another control-plane node, as keepalived does on failover",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := requireRoot(); err != nil {
				return err
			}
			s, err := loadState(*instance)
			if err != nil {
				return err
			}
			from, err := localcluster.APIVIPHolder(s.Topology)
			if err != nil {
				return err
			}
			if err := localcluster.MoveAPIVIP(s.Topology, to); err != nil {
				return err
			}
			fmt.Printf("Moved the API VIPs from %s to %s.\n", from.Name, to)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "Control-plane node to move the VIPs to, e.g. master-1")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

// serviceCACommand runs the local service-ca in the foreground; up starts
// it detached.
func serviceCACommand() *cobra.Command {
	var statePath string
	cmd := &cobra.Command{
		Use:    "service-ca",
		Short:  "Issue the serving certificates that Services ask for, as OpenShift's service-ca does (started by up)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := localcluster.LoadState(statePath)
			if err != nil {
				return err
			}
			ca, err := localcluster.LoadServiceCA(s)
			if err != nil {
				return err
			}
			client, err := componentClient(s, "service-ca")
			if err != nil {
				return err
			}
			return (&localcluster.ServiceCA{Client: client, CA: ca}).Run(cmd.Context())
		},
	}
	cmd.Flags().StringVar(&statePath, "state", "", "The cluster's state file")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}

// componentClient is a client of the cluster s with the component's own
// kubeconfig, so that it has that component's identity and RBAC.
func componentClient(s *localcluster.State, component string) (*kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.ComponentKubeconfig(component))
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// routerCommand runs the router; up starts it detached. It listens and
// dials inside the router namespace.
func routerCommand() *cobra.Command {
	var statePath string
	cmd := &cobra.Command{
		Use:    "router",
		Short:  "Route the cluster's Ingresses on the ingress VIPs, in the router namespace (started by up)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := localcluster.LoadState(statePath)
			if err != nil {
				return err
			}
			cfg, err := clientcmd.BuildConfigFromFlags("", s.ComponentKubeconfig("router"))
			if err != nil {
				return err
			}
			kube, err := kubernetes.NewForConfig(cfg)
			if err != nil {
				return err
			}
			routes, err := routeclient.NewForConfig(cfg)
			if err != nil {
				return err
			}
			operators, err := operatorclient.NewForConfig(cfg)
			if err != nil {
				return err
			}
			return localcluster.RunRouter(cmd.Context(), kube, routes, operators, s.Topology.Router.Netns, s.Topology.IngressVIPs)
		},
	}
	cmd.Flags().StringVar(&statePath, "state", "", "The cluster's state file")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}

// startedByUp is a hidden command that up starts detached: it loads the
// cluster's state file (--state) and runs until it is stopped.
func startedByUp(use, short string, run func(ctx context.Context, s *localcluster.State) error) *cobra.Command {
	var statePath string
	cmd := &cobra.Command{
		Use:    use,
		Short:  short + " (started by up)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := localcluster.LoadState(statePath)
			if err != nil {
				return err
			}
			return run(cmd.Context(), s)
		},
	}
	cmd.Flags().StringVar(&statePath, "state", "", "The cluster's state file")
	_ = cmd.MarkFlagRequired("state")
	return cmd
}

// forwardAPIServerCommand forwards kube-apiserver's loopback port into a
// node's namespace, for the kubelet and cert-manager's controller there.
func forwardAPIServerCommand() *cobra.Command {
	var netnsName string
	cmd := startedByUp("forward-apiserver", "Forward kube-apiserver's loopback port into a network namespace",
		func(ctx context.Context, s *localcluster.State) error {
			return localcluster.ForwardAPIServer(ctx, s, netnsName)
		})
	cmd.Flags().StringVar(&netnsName, "netns", "", "The network namespace to forward into")
	_ = cmd.MarkFlagRequired("netns")
	return cmd
}

// nodeEgressCommand serves the API server's tunnels to the kubelets.
func nodeEgressCommand() *cobra.Command {
	return startedByUp("node-egress", "Tunnel kube-apiserver's connections to the kubelets into the nodes' namespaces", localcluster.ServeNodeEgress)
}

// diagnoseCommand runs the product's diagnose subcommand from the internet,
// where the ACME CA is.
func diagnoseCommand(instance *string) *cobra.Command {
	return &cobra.Command{
		Use:   "diagnose [-- DIAGNOSE FLAGS]",
		Short: "Run cluster-http01-challenge-proxy-operator diagnose from the internet namespace, where the ACME CA is, with the cluster's kubeconfig",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireRoot(); err != nil {
				return err
			}
			s, err := loadState(*instance)
			if err != nil {
				return err
			}
			code, err := localcluster.Diagnose(cmd.Context(), s, args, os.Stdout, os.Stderr)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code, fmt.Errorf("diagnose found a problem (exit %d)", code)}
			}
			return nil
		},
	}
}
