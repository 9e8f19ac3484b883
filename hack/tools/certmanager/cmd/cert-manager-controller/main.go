// Command cert-manager-controller runs cert-manager's controller: upstream's
// default controller set, built from the pinned root module's exported
// pkg/controller with upstream's default options. Upstream's own main,
// cmd/controller, is a module of its own that the module proxy does not
// serve, so this thin main stands in for it.
//
// What differs from upstream's binary, and why:
//   - no Venafi issuer (see defaultControllers);
//   - no leader election: the local cluster runs one replica;
//   - no metrics, healthz or pprof servers: nothing here scrapes them;
//   - no config file: the options are set by the few flags below, named as
//     upstream names them, and otherwise are upstream's defaults
//     (internal/apis/config/controller/v1alpha1/defaults.go).
//
// The controller set and the defaults are upstream's; docs/demo.md lists
// them.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	cmapi "github.com/cert-manager/cert-manager/pkg/apis/certmanager"
	"github.com/cert-manager/cert-manager/pkg/controller"
	challengescontroller "github.com/cert-manager/cert-manager/pkg/controller/acmechallenges"
	orderscontroller "github.com/cert-manager/cert-manager/pkg/controller/acmeorders"
	shimingresscontroller "github.com/cert-manager/cert-manager/pkg/controller/certificate-shim/ingresses"
	cracmecontroller "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/acme"
	crapprovercontroller "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/approver"
	crcacontroller "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/ca"
	crselfsignedcontroller "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/selfsigned"
	crvaultcontroller "github.com/cert-manager/cert-manager/pkg/controller/certificaterequests/vault"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/issuing"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/keymanager"
	certificatesmetricscontroller "github.com/cert-manager/cert-manager/pkg/controller/certificates/metrics"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/readiness"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/requestmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/revisionmanager"
	"github.com/cert-manager/cert-manager/pkg/controller/certificates/trigger"
	clusterissuerscontroller "github.com/cert-manager/cert-manager/pkg/controller/clusterissuers"
	issuerscontroller "github.com/cert-manager/cert-manager/pkg/controller/issuers"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/acme"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/ca"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/selfsigned"
	_ "github.com/cert-manager/cert-manager/pkg/issuer/vault"
	logf "github.com/cert-manager/cert-manager/pkg/logs"
	"github.com/cert-manager/cert-manager/pkg/util"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/klog/v2"
)

// defaultControllers is upstream's DefaultEnabledControllers (everything
// but the Gateway API shim and the experimental CertificateSigningRequest
// controllers) less certificaterequests-issuer-venafi: the Venafi client
// that cert-manager v1.21.2 needs, github.com/Venafi/vcert/v5 v5.13.7, is
// refused by the module proxy, and v5.12.3, the newest it serves, lacks a
// package the client imports. Venafi issuers have nothing to do with ACME.
// run checks that each is registered.
var defaultControllers = []string{
	issuerscontroller.ControllerName,
	clusterissuerscontroller.ControllerName,
	certificatesmetricscontroller.ControllerName,
	shimingresscontroller.ControllerName,
	orderscontroller.ControllerName,
	challengescontroller.ControllerName,
	cracmecontroller.CRControllerName,
	crapprovercontroller.ControllerName,
	crcacontroller.CRControllerName,
	crselfsignedcontroller.CRControllerName,
	crvaultcontroller.CRControllerName,
	trigger.ControllerName,
	issuing.ControllerName,
	keymanager.ControllerName,
	requestmanager.ControllerName,
	readiness.ControllerName,
	revisionmanager.ControllerName,
}

// Upstream's defaults that are not a field's zero value.
const (
	defaultWorkers                 = 5
	defaultMaxConcurrentChallenges = 60
	defaultQPS                     = 20
	defaultBurst                   = 50
)

type flags struct {
	kubeconfig               string
	namespace                string
	clusterResourceNamespace string
	solverImage              string
	solverNameservers        string
}

func main() {
	var f flags
	flag.StringVar(&f.kubeconfig, "kubeconfig", "", "path to a kubeconfig")
	flag.StringVar(&f.namespace, "namespace", "", "namespace to watch; empty watches all")
	flag.StringVar(&f.clusterResourceNamespace, "cluster-resource-namespace", "kube-system",
		"namespace of the Secrets that ClusterIssuers refer to; the Helm chart sets its release namespace")
	flag.StringVar(&f.solverImage, "acme-http01-solver-image", "quay.io/jetstack/cert-manager-acmesolver:"+util.AppVersion,
		"image of the HTTP-01 solver Pods")
	flag.StringVar(&f.solverNameservers, "acme-http01-solver-nameservers", "",
		"comma-separated host:port of the DNS servers of the HTTP-01 self-check; empty uses the system's")
	klog.InitFlags(flag.CommandLine)
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	logger := klog.Background().WithName("cert-manager-controller")
	logf.Log = logger
	ctx = logf.NewContext(ctx, logger)
	if err := run(ctx, f); err != nil {
		logger.Error(err, "exiting")
		os.Exit(1)
	}
}

func run(ctx context.Context, f flags) error {
	for _, name := range defaultControllers {
		if _, ok := controller.Known()[name]; !ok {
			return fmt.Errorf("controller %q of upstream's default set is not registered in this build", name)
		}
	}
	factory, err := controller.NewContextFactory(ctx, options(f))
	if err != nil {
		return err
	}

	var wg sync.WaitGroup
	for _, name := range defaultControllers {
		c, err := controller.Known()[name](factory)
		if err != nil {
			return fmt.Errorf("building controller %q: %w", name, err)
		}
		wg.Go(func() {
			if err := c.Run(defaultWorkers, ctx); err != nil {
				klog.ErrorS(err, "controller stopped", "controller", name)
			}
		})
	}
	klog.InfoS("started cert-manager's default controllers", "version", util.AppVersion,
		"controllers", strings.Join(defaultControllers, ","), "notStarted", strings.Join(notStarted(), ","))

	// The controllers registered their informers while being built; start
	// what they registered, as upstream does.
	shared, err := factory.Build()
	if err != nil {
		return err
	}
	shared.KubeSharedInformerFactory.Start(ctx.Done())
	shared.SharedInformerFactory.Start(ctx.Done())
	shared.HTTP01ResourceMetadataInformersFactory.Start(ctx.Done())

	<-ctx.Done()
	wg.Wait()
	return nil
}

// options are upstream's defaults with the flags applied.
func options(f flags) controller.ContextOptions {
	var nameservers []string
	if f.solverNameservers != "" {
		nameservers = strings.Split(f.solverNameservers, ",")
	}
	return controller.ContextOptions{
		Kubeconfig:         f.kubeconfig,
		KubernetesAPIQPS:   defaultQPS,
		KubernetesAPIBurst: defaultBurst,
		Namespace:          f.namespace,
		IssuerOptions: controller.IssuerOptions{
			ClusterResourceNamespace:        f.clusterResourceNamespace,
			ClusterIssuerAmbientCredentials: true,
		},
		ACMEOptions: controller.ACMEOptions{
			HTTP01SolverImage:                 f.solverImage,
			HTTP01SolverResourceRequestCPU:    resource.MustParse("10m"),
			HTTP01SolverResourceRequestMemory: resource.MustParse("64Mi"),
			HTTP01SolverResourceLimitsCPU:     resource.MustParse("100m"),
			HTTP01SolverResourceLimitsMemory:  resource.MustParse("64Mi"),
			ACMEHTTP01SolverRunAsNonRoot:      true,
			HTTP01SolverNameservers:           nameservers,
			DNS01CheckAuthoritative:           true,
			DNS01CheckRetryPeriod:             10 * time.Second,
		},
		IngressShimOptions: controller.IngressShimOptions{
			DefaultIssuerKind:                 "Issuer",
			DefaultIssuerGroup:                cmapi.GroupName,
			DefaultAutoCertificateAnnotations: []string{"kubernetes.io/tls-acme"},
		},
		CertificateOptions: controller.CertificateOptions{
			CopiedAnnotationPrefixes:                 []string{"*", "-kubectl.kubernetes.io/", "-fluxcd.io/", "-argocd.argoproj.io/"},
			CertificateRequestMinimumBackoffDuration: time.Hour,
			CertificateRequestMaximumBackoffDuration: 32 * time.Hour,
		},
		SchedulerOptions: controller.SchedulerOptions{MaxConcurrentChallenges: defaultMaxConcurrentChallenges},
	}
}

// notStarted are the registered controllers outside the default set.
func notStarted() []string {
	var names []string
	for name := range controller.Known() {
		if !slices.Contains(defaultControllers, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
