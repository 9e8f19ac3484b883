// Package daemon is the node side of the HTTP-01 challenge proxy: on every
// control-plane node it redirects TCP to API_VIP:80 to a local port with
// nftables, and serves a reverse proxy there that forwards ACME HTTP-01
// challenge requests, and only those, to the ingress VIP on port 80.
package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/metrics"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/pathprobe"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/proxy"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/rules"
)

const (
	// drainTimeout bounds waiting for in-flight requests on shutdown; it
	// fits in the kubelet's default 30s grace period with room to spare.
	drainTimeout = 10 * time.Second
	// auxShutdownTimeout bounds stopping the health and metrics servers.
	auxShutdownTimeout = 2 * time.Second
	// auxReadHeaderTimeout protects the loopback health server from clients
	// that never finish their headers.
	auxReadHeaderTimeout = 5 * time.Second
)

// BinaryName is the daemon's own binary, which the DaemonSet runs. It is
// apart from the operator's so that it links none of the operator's
// packages (client-go, library-go): their package inits alone cost the
// daemon tens of MiB of memory on every node.
const BinaryName = "http01-challenge-proxy-daemon"

// NewDaemonCommand returns the daemon's root command.
func NewDaemonCommand() *cobra.Command {
	options := NewOptions()
	cmd := &cobra.Command{
		Use:   BinaryName,
		Short: "Redirect API_VIP:80 to a local proxy that forwards ACME HTTP-01 challenges to the ingress VIP",
		Long: `Runs on every control-plane node (host network, NET_ADMIN). It redirects TCP
to each API VIP on port 80 to --listen-port with nftables, and serves a reverse
proxy there that forwards GET/HEAD /.well-known/acme-challenge/<token> to an
ingress VIP on port 80 and answers everything else with a 4xx.

Its nftables table also resets connections made straight to --listen-port,
so that the proxy is reachable only through the redirect.

Every --path-probe-interval, and whenever its rules are back in place, it
sends a challenge request for a random token from the node to port 80 of each
API VIP and exports whether the router answered through a proxy
(http01_challenge_proxy_path_ok). A broken path does not make it unready.

/metrics is served in plain HTTP on loopback by default. On any other address
it is served only over TLS (1.2 or later) with client certificates: the
serving pair and client CA bundle are read from --metrics-tls-cert-file,
--metrics-tls-key-file and --metrics-client-ca-file (reloaded when they
change; the daemon starts without them), and only certificates whose common
name is in --metrics-allowed-clients may read.

On SIGTERM or SIGINT it removes its nftables rules, drains connections, then
deletes its table. The table is owned by the daemon's netlink socket: no other
process can change it, and the kernel deletes it when the daemon dies, even by
SIGKILL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// The flags parsed; the error of a bad value says what is wrong
			// better than the usage text would.
			cmd.SilenceUsage = true
			cfg, err := options.Config()
			if err != nil {
				return err
			}

			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			go func() {
				// After the first signal, a second one kills the process
				// at once instead of waiting for the drain.
				<-ctx.Done()
				stop()
			}()
			return Run(ctx, cfg)
		},
	}
	options.AddFlags(cmd.Flags())
	addKlogFlags(cmd.Flags())
	return cmd
}

// addKlogFlags adds klog's verbosity flags. The rest of klog's flags (log
// files, headers) have no use in a pod that logs to stderr.
func addKlogFlags(fs *pflag.FlagSet) {
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	for _, name := range []string{"v", "vmodule"} {
		fs.AddGoFlag(klogFlags.Lookup(name))
	}
}

// Run runs the daemon until ctx is done. It starts in the order that never
// redirects traffic to a closed port (listener, then rules, then ready) and
// stops in the reverse order (unready, rules removed, connections drained,
// table deleted). It returns nil after a clean shutdown.
//
// Two daemons do not fight over the rules: the listener is bound first and
// the port is exclusive, so a second instance fails before touching nftables
// while the first one serves; and the table belongs to the netlink socket of
// the daemon that created it (rules.Kernel), so no other process can change
// it. One that starts while its predecessor drains (the port is released
// when draining starts) is refused the table until the predecessor deletes
// it or dies, and installs its own at its next retry, within a second.
func Run(ctx context.Context, cfg Config) error {
	if err := requireNetAdmin(); err != nil {
		return err
	}
	m := metrics.New()
	kernel := rules.NewKernel()
	var rulesObserver rules.Observer = m
	var prober *pathprobe.Prober
	if cfg.PathProbeInterval > 0 {
		prober = pathprobe.New(pathprobe.Config{APIVIPs: cfg.APIVIPs, Interval: cfg.PathProbeInterval}, m)
		rulesObserver = &probeWhenRulesRestored{Observer: m, prober: prober}
	}
	reconciler := rules.NewReconciler(kernel, rules.Desired(cfg.APIVIPs, cfg.ListenPort), cfg.ResyncInterval, rules.DefaultDebounce, rulesObserver)
	// Readiness does not depend on the path probe, on purpose. A broken
	// path is most often the router's or the network's fault, which no
	// restart or rollout of this pod fixes; an unready pod would only hold
	// up DaemonSet rollouts and node drains and make the operator report
	// itself degraded for a problem elsewhere. And on the nodes that do not
	// hold the API VIP the probe tests another node's proxy. The probe's
	// metric and alert say what is broken instead.
	health := newHealth(reconciler, cfg.ResyncInterval)

	// Probes and metrics answer from the start (not ready yet).
	aux, err := startAuxServers(newHealthServer(cfg.HealthAddress, health.handler()), metrics.NewServer(cfg.Metrics, m))
	if err != nil {
		return err
	}
	defer aux.shutdown()

	ln, err := proxy.Listen(cfg.ListenPort, cfg.MaxConnections, m)
	if err != nil {
		return err
	}
	server := proxy.NewServer(proxy.NewHandler(proxy.HandlerConfig{IngressVIPs: cfg.IngressVIPs, UpstreamPort: proxy.UpstreamPort}, m))
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(ln) }()
	health.listening.Store(true)
	klog.InfoS("Proxy listening", "port", cfg.ListenPort, "ingressVIPs", cfg.IngressVIPs, "maxConnections", cfg.MaxConnections)

	loopsCtx, stopLoops := context.WithCancel(context.Background())
	var loops sync.WaitGroup
	loops.Add(2)
	go func() { defer loops.Done(); kernel.Watch(loopsCtx, reconciler.Trigger) }()
	go func() { defer loops.Done(); reconciler.Run(loopsCtx) }()
	klog.InfoS("Keeping nftables rules in place", "table", rules.TableName, "apiVIPs", cfg.APIVIPs, "resyncInterval", cfg.ResyncInterval)
	if prober != nil {
		loops.Add(1)
		go func() { defer loops.Done(); prober.Run(loopsCtx) }()
		klog.InfoS("Probing the challenge path through each API VIP", "apiVIPs", cfg.APIVIPs, "interval", cfg.PathProbeInterval)
	}

	var runErr error
	select {
	case <-ctx.Done():
		klog.InfoS("Shutting down: removing nftables rules, draining connections, deleting the table")
	case err := <-serveErr:
		runErr = fmt.Errorf("proxy server stopped: %w", err)
		klog.ErrorS(err, "Proxy server stopped; removing nftables rules")
	}

	health.stopping.Store(true)
	// The reconciler must be stopped first, or it would repair the removal;
	// the prober too, or it would report the path it sees being taken down.
	stopLoops()
	loops.Wait()
	m.SetRulesPresent(false)
	return errors.Join(runErr, stopRedirecting(kernel, server, cfg.APIVIPs, cfg.ListenPort))
}

// stopRedirecting takes our redirect rules out of the kernel first, so that
// no new connection is sent to a port about to close, then drains the
// connections already redirected, then deletes the table. Until the drain is
// over the table holds rules.Draining, without which the kernel could stop
// rewriting the replies of those connections.
func stopRedirecting(kernel *rules.Kernel, server *proxy.Server, apiVIPs []netip.Addr, listenPort uint16) error {
	var errs []error
	if err := kernel.Apply(rules.Draining(apiVIPs, listenPort)); err != nil {
		klog.ErrorS(err, "Failed to remove nftables rules", "table", rules.TableName)
		errs = append(errs, err)
	} else {
		klog.InfoS("Removed nftables rules", "table", rules.TableName)
	}
	if err := drain(server); err != nil {
		errs = append(errs, err)
	}
	if err := kernel.Remove(); err != nil {
		klog.ErrorS(err, "Failed to delete nftables table", "table", rules.TableName)
		errs = append(errs, err)
	} else {
		klog.InfoS("Deleted nftables table", "table", rules.TableName)
	}
	return errors.Join(errs...)
}

// drain lets in-flight requests finish, up to drainTimeout, then closes what
// is left.
func drain(server *proxy.Server) error {
	ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
	defer cancel()
	if err := server.Shutdown(ctx); err != nil {
		klog.InfoS("Connections still open after the drain timeout; closing them", "timeout", drainTimeout)
		return server.Close()
	}
	klog.InfoS("Drained proxy connections")
	return nil
}

// auxServer is a server that runs beside the proxy: health or metrics.
type auxServer interface {
	Start() error
	Shutdown(context.Context) error
}

type auxServers []auxServer

// startAuxServers starts the health and metrics servers. A port that is
// taken fails start-up rather than leaving the daemon half-observable.
func startAuxServers(servers ...auxServer) (auxServers, error) {
	var started auxServers
	for _, s := range servers {
		if err := s.Start(); err != nil {
			started.shutdown()
			return nil, err
		}
		started = append(started, s)
	}
	return started, nil
}

func (s auxServers) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), auxShutdownTimeout)
	defer cancel()
	for _, server := range s {
		_ = server.Shutdown(ctx)
	}
}

// healthServer serves the kubelet's probes over plain HTTP on the node's
// loopback, where the kubelet probes a host-network pod.
type healthServer struct {
	address netip.AddrPort
	server  *http.Server
}

func newHealthServer(address netip.AddrPort, handler http.Handler) *healthServer {
	return &healthServer{address: address, server: &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: auxReadHeaderTimeout,
		ErrorLog:          klog.NewStandardLogger("WARNING"),
	}}
}

func (h *healthServer) Start() error {
	ln, err := net.Listen("tcp", h.address.String())
	if err != nil {
		return fmt.Errorf("listening for health on %s: %w", h.address, err)
	}
	go func() {
		if err := h.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			klog.ErrorS(err, "Health server stopped", "address", h.address)
		}
	}()
	return nil
}

func (h *healthServer) Shutdown(ctx context.Context) error { return h.server.Shutdown(ctx) }
