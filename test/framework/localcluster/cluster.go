package localcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	configclient "github.com/openshift/client-go/config/clientset/versioned"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

const (
	// LocalReleaseVersion is the local cluster's OpenShift version: the
	// ClusterVersion's, and what the release tooling would write into the
	// manifests' RELEASE_VERSION placeholder.
	LocalReleaseVersion = "4.21.0-0.local"
	// OperatorBinary is the binary `make build` produces; the operator's
	// image is built from it.
	OperatorBinary = "cluster-http01-challenge-proxy-operator"
	// DaemonBinary is the daemon's own binary, which the DaemonSet runs,
	// from the same image.
	DaemonBinary = "http01-challenge-proxy-daemon"
	// operatorDeployment is the operator's Deployment in manifests/.
	operatorDeployment = "http01-challenge-proxy-operator"
)

// toolNames are the pinned tools a local cluster runs.
var toolNames = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kwok", "pebble", "pebble-challtestsrv",
	"cert-manager-controller", "cert-manager-acmesolver"}

// runtimeCommands are the container runtime's, from Debian's containerd,
// runc and containernetworking-plugins (hack/ensure-packages.sh).
var runtimeCommands = []string{"containerd", "containerd-shim-runc-v2", "ctr", "runc", "nsenter"}

// stopOrder is the order Down stops processes in: the operator first, so
// that it does not react to the rest going away, and the API server's
// storage last. The nodes' kubelets, containers and containerds are stopped
// before all of these, by stopNodeRuntime: the daemons remove their
// nftables tables on SIGTERM.
var stopOrder = []string{"operator", "cert-manager", "service-ca", "kwok", "kube-scheduler", "kube-controller-manager", "router", "pebble", "pebble-challtestsrv", "kube-apiserver", "node-egress", "etcd"}

// UpOptions configure Up.
type UpOptions struct {
	RepoRoot string
	Instance string
	Workers  int
	// Self is the local-cluster binary; Up starts its router, service-ca,
	// node-egress and forward-apiserver commands.
	Self string
	// Out receives progress lines.
	Out io.Writer
	// KeepOnFailure leaves a cluster that failed to come up in place, for
	// debugging, instead of removing it.
	KeepOnFailure bool
}

// AlreadyRunningError is returned by Up when the instance runs already.
type AlreadyRunningError struct {
	Instance   string
	Dir        string
	Kubeconfig string
	Alive      []string
}

func (e *AlreadyRunningError) Error() string {
	return fmt.Sprintf("local cluster %q is already running (%s; live: %s)", e.Instance, e.Dir, strings.Join(e.Alive, ", "))
}

// Up brings up a local cluster and returns its state. It refuses to touch
// an instance that runs already (*AlreadyRunningError), removes the remains
// of one that died, and removes what it created if it fails (unless
// KeepOnFailure).
func Up(ctx context.Context, opts UpOptions) (s *State, err error) {
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	progress := newProgress(out)
	dir := ClusterDir(opts.RepoRoot, opts.Instance)
	topology, err := NewTopology(opts.Instance, dir, opts.Workers)
	if err != nil {
		return nil, err
	}
	tools, err := lookupTools(opts.RepoRoot)
	if err != nil {
		return nil, err
	}
	unlock, err := lock(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	if alive, err := liveParts(dir); err != nil {
		return nil, err
	} else if len(alive) > 0 {
		return nil, &AlreadyRunningError{Instance: opts.Instance, Dir: dir, Kubeconfig: filepath.Join(dir, "kubeconfig"), Alive: alive}
	}
	if leftovers, err := existingNamespaces(NamespacePrefix(opts.Instance, dir)); err != nil {
		return nil, err
	} else if _, statErr := os.Stat(dir); statErr == nil || len(leftovers) > 0 {
		progress.step("Removing the remains of a previous %s cluster that is no longer running", opts.Instance)
		if _, err := down(dir, opts.Instance, io.Discard); err != nil {
			return nil, err
		}
	}

	defer func() {
		if err == nil || opts.KeepOnFailure {
			return
		}
		fmt.Fprintf(out, "Removing the half-started cluster (set KEEP_ON_FAILURE=1 to keep it for debugging)\n")
		if _, downErr := down(dir, opts.Instance, io.Discard); downErr != nil {
			fmt.Fprintf(out, "  cleanup failed too: %v\n", downErr)
		}
	}()

	for _, d := range []string{runDir, logDir, pkiDir, kubeconfigs, "kwok", "operator"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, err
		}
	}
	ports := map[string]int{}
	for _, component := range []string{"etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "operator"} {
		if ports[component], err = freePort(); err != nil {
			return nil, err
		}
	}
	manifestFiles, err := apiserver.ManifestFiles()
	if err != nil {
		return nil, err
	}
	manifests, err := ReadManifests(LocalReleaseVersion, manifestFiles...)
	if err != nil {
		return nil, err
	}
	if manifests, err = IncludedManifests(manifests, manifestFiles, LocalFeatureSet); err != nil {
		return nil, err
	}
	deploy, err := operatorDeploymentFrom(manifests)
	if err != nil {
		return nil, err
	}
	operandImage := envOf(deploy, names.OperandImageEnv)
	if operandImage == "" {
		return nil, fmt.Errorf("the operator Deployment in manifests/ sets no %s", names.OperandImageEnv)
	}
	binDir := filepath.Join(opts.RepoRoot, "_output", "bin")
	certManagerVersion, err := CertManagerVersion(opts.RepoRoot)
	if err != nil {
		return nil, err
	}
	s = &State{
		Instance:       opts.Instance,
		Dir:            dir,
		RepoRoot:       opts.RepoRoot,
		Kubeconfig:     filepath.Join(dir, "kubeconfig"),
		Topology:       topology,
		ReleaseVersion: LocalReleaseVersion,
		OperandImage:   operandImage,
		OperatorImage:  deploy.Spec.Template.Spec.Containers[0].Image,
		// The operator's image and the operand image are the same image
		// in the payload; both are the binary of `make build` here.
		Images:             Images{operandImage: binDir, deploy.Spec.Template.Spec.Containers[0].Image: binDir},
		CertManagerVersion: certManagerVersion,
		Ports:              ports,
		CreatedAt:          time.Now().UTC().Truncate(time.Second),
		CertificatesExpire: apiserver.CertificateExpiry().UTC().Truncate(time.Second),
	}

	if s.CgroupParent, err = currentCgroup(); err != nil {
		return nil, err
	}
	progress.step("Generating certificates and kubeconfigs")
	creds, err := newCredentials(dir, ports["kube-apiserver"], s.Kubeconfig, topology.NodesWithKubelet(), s.EgressSocket())
	if err != nil {
		return nil, err
	}
	if err := s.save(); err != nil {
		return nil, err
	}

	progress.step("Creating network namespaces: %d control-plane nodes, router, internet, on one bridge", ControlPlaneNodeCount)
	if err := createNetwork(topology); err != nil {
		return nil, err
	}

	b := &bringUp{ctx: ctx, s: s, creds: creds, tools: tools, out: out, progress: progress, self: opts.Self}
	// The container runtimes and then the kubelets come up while the rest
	// starts: importing the images takes seconds, and only the operator's
	// pods need them.
	var background sync.WaitGroup
	var runtimesErr, kubeletsErr error
	inBackground := func(err *error, phase func() error) func() error {
		return func() error {
			background.Add(1)
			go func() {
				defer background.Done()
				*err = phase()
			}()
			return nil
		}
	}
	waitBackground := func(err *error) func() error {
		return func() error {
			background.Wait()
			return *err
		}
	}
	for _, phase := range []func() error{
		inBackground(&runtimesErr, b.containerRuntimes),
		b.controlPlane,
		func() error { return b.openShiftAPIs(manifests) },
		b.nodes,
		waitBackground(&runtimesErr),
		inBackground(&kubeletsErr, b.kubelets),
		b.internet,
		b.router,
		b.serviceCA,
		b.certManager,
		waitBackground(&kubeletsErr),
		func() error { return b.operator(deploy, manifests) },
	} {
		if err := phase(); err != nil {
			// Nothing may still be starting while the cluster is removed.
			background.Wait()
			return nil, err
		}
	}
	return s, s.save()
}

// bringUp is one run of Up, past its preparations: each method is a phase
// that starts processes and waits until they are ready.
type bringUp struct {
	ctx      context.Context
	s        *State
	creds    *credentials
	tools    map[string]string
	out      io.Writer
	progress *progress
	// self is the local-cluster binary, which runs the router, service-ca
	// and the tunnels.
	self string
	// admin is the admin client configuration, set by controlPlane.
	admin *rest.Config
	// mu guards the state's processes: the nodes start at once.
	mu sync.Mutex
}

// start starts a detached process and records it in the state file.
func (b *bringUp) start(spec processSpec) (ProcessRecord, error) {
	r, err := startDetached(spec, b.s.path(logDir, spec.name+".log"), b.s.path(runDir, spec.name+".pid"))
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.PID != 0 {
		b.s.Processes = append(b.s.Processes, r)
		if saveErr := b.s.save(); saveErr != nil && err == nil {
			err = saveErr
		}
	}
	return r, err
}

// controlPlane starts etcd and kube-apiserver.
func (b *bringUp) controlPlane() error {
	ports := b.s.Ports
	b.progress.step("Starting etcd")
	etcd, err := b.start(processSpec{name: "etcd", path: b.tools["etcd"], args: etcdArgs(b.s.Dir, ports["etcd"], ports["etcd-peer"])})
	if err != nil {
		return err
	}
	etcdURL := "http://" + net.JoinHostPort(loopback, strconv.Itoa(ports["etcd"]))
	if err := waitReady(b.ctx, "etcd", etcd, time.Minute, httpCheck(insecureLoopbackClient(), etcdURL+"/health", `"health":"true"`)); err != nil {
		return err
	}

	// The API server's way to the kubelets, which it dials when asked.
	if _, err := b.start(processSpec{name: "node-egress", path: b.self, args: []string{"node-egress", "--state=" + StatePath(b.s.Dir)}}); err != nil {
		return err
	}
	b.progress.step("Starting kube-apiserver")
	kas, err := b.start(processSpec{name: "kube-apiserver", path: b.tools["kube-apiserver"], args: kubeAPIServerArgs(b.creds, ports["etcd"], ports["kube-apiserver"])})
	if err != nil {
		return err
	}
	adminHTTP, err := rest.HTTPClientFor(b.creds.admin)
	if err != nil {
		return err
	}
	if err := waitReady(b.ctx, "kube-apiserver", kas, 3*time.Minute, apiServerReady(adminHTTP, b.creds.apiURL)); err != nil {
		return err
	}
	b.admin = rest.CopyConfig(b.creds.admin)
	b.admin.QPS, b.admin.Burst = 100, 200
	return nil
}

// openShiftAPIs installs what the rest of an OpenShift cluster would have
// installed (CRDs, config singletons), then applies manifests/.
func (b *bringUp) openShiftAPIs(manifests []Manifest) error {
	t := b.s.Topology
	b.progress.step("Installing the OpenShift CRDs, and stand-ins for prometheus-operator's that store ServiceMonitors, PodMonitors and PrometheusRules without validating them")
	crdFiles, err := apiserver.OpenShiftCRDFiles()
	if err != nil {
		return err
	}
	crds, err := apiserver.ReadCRDs(crdFiles...)
	if err != nil {
		return err
	}
	if err := apiserver.InstallCRDs(b.ctx, b.admin, append(crds, monitoringStandInCRDs()...)...); err != nil {
		return err
	}

	b.progress.step("Creating %d nodes and the Infrastructure (BareMetal, API VIPs %s, ingress VIPs %s), Ingress and ClusterVersion (%s)",
		len(t.Nodes), joinAddrs(t.APIVIPs), joinAddrs(t.IngressVIPs), b.s.ReleaseVersion)
	// The typed clients send fields of every feature set, such as the
	// ClusterVersion's signatureStores, and the Default CRDs warn about
	// each: noise about fixtures, not about what is being tested.
	quiet := rest.CopyConfig(b.admin)
	quiet.WarningHandler = rest.NoWarnings{}
	if err := createFixtures(b.ctx, quiet, t, b.s.ReleaseVersion); err != nil {
		return err
	}

	b.progress.step("Applying manifests/ in file order, as the cluster-version operator does for a %s cluster (%s)", LocalFeatureSet, manifestsDescription(manifests))
	return applyManifests(b.ctx, b.admin, manifests, operatorDeployment, func(format string, args ...any) {
		fmt.Fprintf(b.out, format+"\n", args...)
	})
}

// nodes starts the controllers and the scheduler, and kwok, which brings
// the nodes to life.
func (b *bringUp) nodes() error {
	b.progress.step("Starting kube-controller-manager, kube-scheduler and kwok")
	stages := b.s.path("kwok", "stages.yaml")
	if err := os.WriteFile(stages, []byte(kwokStages(names.OperandNamespace)), 0o644); err != nil {
		return err
	}
	healthz := func(component string) string {
		return "https://" + net.JoinHostPort(loopback, strconv.Itoa(b.s.Ports[component])) + "/healthz"
	}
	components := []struct {
		spec   processSpec
		health string
	}{
		{processSpec{name: "kube-controller-manager", path: b.tools["kube-controller-manager"], args: kubeControllerManagerArgs(b.creds, b.s.Ports["kube-controller-manager"])},
			healthz("kube-controller-manager")},
		{processSpec{name: "kube-scheduler", path: b.tools["kube-scheduler"], args: kubeSchedulerArgs(b.creds, b.s.Ports["kube-scheduler"])},
			healthz("kube-scheduler")},
		// kwok reads ~/.kwok/kwok.yaml if there is one; its own HOME keeps
		// a developer's configuration out.
		{processSpec{name: "kwok", path: b.tools["kwok"], args: kwokArgs(b.creds, stages), env: []string{"HOME=" + b.s.path("kwok")}}, ""},
	}
	var kwok ProcessRecord
	for _, c := range components {
		r, err := b.start(c.spec)
		if err != nil {
			return err
		}
		if c.spec.name == "kwok" {
			kwok = r
		}
		if c.health != "" {
			if err := waitReady(b.ctx, c.spec.name, r, 2*time.Minute, httpCheck(insecureLoopbackClient(), c.health, "ok")); err != nil {
				return err
			}
		}
	}
	kube, err := kubernetes.NewForConfig(b.admin)
	if err != nil {
		return err
	}
	return waitReady(b.ctx, "kwok's nodes", kwok, 3*time.Minute, nodesReady(kube, len(b.s.Topology.Nodes)-len(b.s.Topology.NodesWithKubelet())))
}

// internet starts Pebble and its DNS server, which resolves the API
// hostname to the API VIP.
func (b *bringUp) internet() error {
	b.progress.step("Starting Pebble (ACME CA) and its DNS server in the internet namespace")
	specs, endpoints, err := pebbleSpecs(b.s.Dir, b.s.Topology, b.tools)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.s.Pebble = endpoints
	b.mu.Unlock()
	internet := &netns.Namespace{Name: b.s.Topology.Internet.Netns}
	for _, spec := range specs {
		r, err := b.start(spec)
		if err != nil {
			return err
		}
		check := tcpCheck(internet, strings.TrimPrefix(endpoints.ChallengeTestServerURL, "http://"))
		if spec.name == "pebble" {
			if check, err = pebbleReady(b.s); err != nil {
				return err
			}
		}
		if err := waitReady(b.ctx, spec.name, r, time.Minute, check); err != nil {
			return err
		}
	}
	return SetChallengeDNS(b.ctx, b.s, APIHost, b.s.Topology.APIVIPs[:1])
}

// router starts the router, which serves the ingress VIPs in the router
// namespace.
func (b *bringUp) router() error {
	b.progress.step("Starting the router on the ingress VIPs, in the router namespace")
	t := b.s.Topology
	r, err := b.start(processSpec{name: "router", path: b.self, args: []string{"router", "--state=" + StatePath(b.s.Dir)}})
	if err != nil {
		return err
	}
	return waitReady(b.ctx, "the router", r, time.Minute, tcpCheck(&netns.Namespace{Name: t.Router.Netns}, routerAdminAddress))
}

// serviceCA starts the local service-ca, which issues the serving
// certificates that Services ask for.
func (b *bringUp) serviceCA() error {
	b.progress.step("Starting the local service-ca, which issues the serving certificates Services ask for")
	_, err := b.start(processSpec{name: "service-ca", path: b.self, args: []string{"service-ca", "--state=" + StatePath(b.s.Dir)}})
	return err
}

// operator starts the operator and waits until it reports.
func (b *bringUp) operator(deploy *appsv1.Deployment, manifests []Manifest) error {
	b.progress.step("Starting the operator with its Deployment's command line, as its ServiceAccount")
	spec, err := operatorSpec(b.s, deploy, manifests, b.creds)
	if err != nil {
		return err
	}
	operator, err := b.start(spec)
	if err != nil {
		return err
	}
	config, err := configclient.NewForConfig(b.admin)
	if err != nil {
		return err
	}
	return waitReady(b.ctx, "the operator", operator, 2*time.Minute, clusterOperatorReported(config))
}

// lookupTools finds the pinned tools and the operator binary, naming what
// to run when one is missing.
func lookupTools(repoRoot string) (map[string]string, error) {
	binDir, err := apiserver.ToolsBinDir()
	if err != nil {
		return nil, err
	}
	tools := map[string]string{}
	var missing []string
	for _, name := range toolNames {
		path := filepath.Join(binDir, name)
		if st, err := os.Stat(path); err != nil || st.Mode()&0o111 == 0 {
			missing = append(missing, name)
			continue
		}
		tools[name] = path
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing tools in %s: %s; build them with: hack/build-tools.sh", binDir, strings.Join(missing, " "))
	}
	if _, err := apiserver.OpenShiftCRDFiles(); err != nil {
		return nil, err
	}
	for _, binary := range []string{OperatorBinary, DaemonBinary} {
		if _, err := os.Stat(filepath.Join(repoRoot, "_output", "bin", binary)); err != nil {
			return nil, fmt.Errorf("the binary %s is missing (%v); build it with: make build", binary, err)
		}
	}
	if _, err := os.Stat(filepath.Join(repoRoot, "_output", "bin", PauseBinary)); err != nil {
		return nil, fmt.Errorf("the sandbox binary %s is missing (%v); build it with: go build -o _output/bin/%s ./test/images/pause", PauseBinary, err, PauseBinary)
	}
	for _, cmd := range runtimeCommands {
		path, err := exec.LookPath(cmd)
		if err != nil {
			return nil, fmt.Errorf("%s is not installed (Debian's containerd, runc and util-linux; run hack/ensure-packages.sh)", cmd)
		}
		tools[cmd] = path
	}
	if _, err := os.Stat("/usr/lib/cni/bridge"); err != nil {
		return nil, fmt.Errorf("the CNI plugins are not installed (Debian's containernetworking-plugins; run hack/ensure-packages.sh): %w", err)
	}
	for _, cmd := range []string{"ip", "nft"} {
		if _, err := exec.LookPath(cmd); err != nil {
			return nil, fmt.Errorf("%s is not installed (iproute2, nftables)", cmd)
		}
	}
	return tools, nil
}

func operatorDeploymentFrom(manifests []Manifest) (*appsv1.Deployment, error) {
	m, ok := FindManifest(manifests, "Deployment", operatorDeployment)
	if !ok {
		return nil, fmt.Errorf("manifests/ has no Deployment %s", operatorDeployment)
	}
	deploy := &appsv1.Deployment{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m.Object.Object, deploy); err != nil {
		return nil, fmt.Errorf("%s: %w", m, err)
	}
	if len(deploy.Spec.Template.Spec.Containers) == 0 {
		return nil, fmt.Errorf("%s has no container", m)
	}
	return deploy, nil
}

func envOf(deploy *appsv1.Deployment, name string) string {
	for _, c := range deploy.Spec.Template.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

// operatorSpec turns the operator's Deployment into a local process: the
// ConfigMaps of manifests/ and the serving certificates the service-ca
// operator would create become local files.
func operatorSpec(s *State, deploy *appsv1.Deployment, manifests []Manifest, creds *credentials) (processSpec, error) {
	serviceCA, err := LoadServiceCA(s)
	if err != nil {
		return processSpec{}, err
	}
	configMaps := map[string]*corev1.ConfigMap{}
	secrets := map[string]map[string][]byte{}
	for _, m := range manifests {
		if m.Object.GetNamespace() != deploy.Namespace {
			continue
		}
		switch m.Object.GetKind() {
		case "ConfigMap":
			cm := &corev1.ConfigMap{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m.Object.Object, cm); err != nil {
				return processSpec{}, fmt.Errorf("%s: %w", m, err)
			}
			configMaps[cm.Name] = cm
		case "Service":
			secret := m.Object.GetAnnotations()[servingCertAnnotation]
			if secret == "" {
				continue
			}
			files, err := serviceServingCert(serviceCA, m.Object.GetName(), m.Object.GetNamespace())
			if err != nil {
				return processSpec{}, err
			}
			secrets[secret] = files
		}
	}
	op, err := LocalOperatorCommand(deploy, LocalOperatorOptions{
		Images:     s.Images,
		VolumeRoot: s.path("operator", "volumes"),
		ConfigMaps: configMaps,
		Secrets:    secrets,
		PodName:    deploy.Name + "-local",
		ExtraArgs: []string{
			"--kubeconfig=" + creds.kubeconfig["operator"],
			"--namespace=" + deploy.Namespace,
			// The pod's own network namespace becomes a loopback port.
			"--listen=" + net.JoinHostPort(loopback, strconv.Itoa(s.Ports["operator"])),
		},
	})
	if err != nil {
		return processSpec{}, err
	}
	for _, d := range op.Dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return processSpec{}, err
		}
	}
	for path, content := range op.Files {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			return processSpec{}, err
		}
	}
	return processSpec{name: "operator", path: op.Path, args: op.Args, env: op.Env}, nil
}

func apiServerReady(client interface {
	Get(string) (*http.Response, error)
}, host string) readinessCheck {
	return func(ctx context.Context) error {
		for _, path := range []string{"/readyz", "/api/v1/namespaces/default"} {
			resp, err := client.Get(host + path)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("%s: %s", path, resp.Status)
			}
		}
		return nil
	}
}

// readyCondition is the node's Ready condition, nil before it reports one.
func readyCondition(n corev1.Node) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == corev1.NodeReady {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// nodesReady succeeds when want nodes report Ready.
func nodesReady(kube kubernetes.Interface, want int) readinessCheck {
	return func(ctx context.Context) error {
		nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		ready := 0
		for _, n := range nodes.Items {
			if c := readyCondition(n); c != nil && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
		if ready < want {
			return fmt.Errorf("%d of %d nodes Ready", ready, want)
		}
		return nil
	}
}

// clusterOperatorReported succeeds once the operator has written an
// Available condition on its ClusterOperator, which the CVO pre-created
// without conditions.
func clusterOperatorReported(config configclient.Interface) readinessCheck {
	return func(ctx context.Context) error {
		co, err := config.ConfigV1().ClusterOperators().Get(ctx, names.ClusterOperator, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range co.Status.Conditions {
			if c.Type == "Available" {
				return nil
			}
		}
		return fmt.Errorf("ClusterOperator %s has no Available condition yet", names.ClusterOperator)
	}
}

func fileCheck(path string) readinessCheck {
	return func(context.Context) error {
		_, err := os.Stat(path)
		return err
	}
}

func joinAddrs(addrs []netip.Addr) string { return strings.Join(addrStrings(addrs), ",") }

// DownReport says what Down removed.
type DownReport struct {
	Found      bool
	Stopped    []string
	Killed     []int
	Namespaces []string
	// LeftoverTables are nftables tables found in a control-plane node's
	// namespace after its daemon stopped: the daemon failed to remove them.
	LeftoverTables []string
}

// Down stops every process of the instance, deletes its namespaces and
// removes its directory. Down of an instance that does not exist reports
// Found false and succeeds.
func Down(repoRoot, instance string, out io.Writer) (DownReport, error) {
	dir := ClusterDir(repoRoot, instance)
	unlock, err := lock(dir)
	if err != nil {
		return DownReport{}, err
	}
	defer unlock()
	report, err := down(dir, instance, out)
	if err == nil {
		// The lock file is the last thing of the instance.
		_ = os.Remove(lockPath(dir))
		_ = os.Remove(filepath.Dir(dir)) // only if empty
	}
	return report, err
}

func down(dir, instance string, out io.Writer) (DownReport, error) {
	var report DownReport
	records, err := pidFiles(dir)
	if err != nil {
		return report, err
	}
	var errs []error
	if s, err := LoadState(StatePath(dir)); err == nil {
		ctr, _ := exec.LookPath("ctr")
		for _, n := range s.Topology.NodesWithKubelet() {
			fmt.Fprintf(out, "  stopping the kubelet, the containers and containerd of %s\n", n.Name)
			if err := stopNodeRuntime(newNodeRuntime(s, n), records, ctr); err != nil {
				errs = append(errs, err)
			}
		}
		removeFixedRuntimePaths()
	}
	for _, r := range records {
		report.Found = true
		grace := 10 * time.Second
		switch r.Name {
		case "kube-apiserver":
			grace = 30 * time.Second
		}
		if r.Alive() {
			fmt.Fprintf(out, "  stopping %s (pid %d)\n", r.Name, r.PID)
			if err := r.Stop(grace); err != nil {
				errs = append(errs, err)
			}
			report.Stopped = append(report.Stopped, r.Name)
		}
	}

	namespaces, err := existingNamespaces(NamespacePrefix(instance, dir))
	if err != nil {
		return report, err
	}
	// Switch last, so that the others' veth peers go with their namespaces.
	sort.SliceStable(namespaces, func(i, j int) bool {
		return !strings.HasSuffix(namespaces[i], "-switch") && strings.HasSuffix(namespaces[j], "-switch")
	})
	for _, ns := range namespaces {
		report.Found = true
		if tables, err := NftTables(ns); err == nil {
			for _, t := range tables {
				report.LeftoverTables = append(report.LeftoverTables, ns+": "+t)
			}
		}
		killed, err := deleteNamespace(ns)
		report.Killed = append(report.Killed, killed...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		report.Namespaces = append(report.Namespaces, ns)
	}
	if _, err := os.Stat(dir); err == nil {
		report.Found = true
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, err)
		}
	}
	return report, errors.Join(errs...)
}

// pidFiles reads the pid files of dir, in stop order.
func pidFiles(dir string) ([]ProcessRecord, error) {
	paths, err := filepath.Glob(filepath.Join(dir, runDir, "*.pid"))
	if err != nil {
		return nil, err
	}
	var records []ProcessRecord
	for _, p := range paths {
		r, err := readPIDFile(p)
		if err != nil {
			return nil, err
		}
		records = append(records, r)
	}
	rank := func(name string) int {
		if i := slices.Index(stopOrder, name); i >= 0 {
			return i
		}
		return -1 // unknown processes first: nothing depends on them
	}
	sort.SliceStable(records, func(i, j int) bool { return rank(records[i].Name) < rank(records[j].Name) })
	return records, nil
}

// liveParts lists what of the instance still runs: live processes and
// existing namespaces.
func liveParts(dir string) ([]string, error) {
	records, err := pidFiles(dir)
	if err != nil {
		return nil, err
	}
	var alive []string
	for _, r := range records {
		if r.Alive() {
			alive = append(alive, fmt.Sprintf("%s (pid %d)", r.Name, r.PID))
		}
	}
	return alive, nil
}

// Status reports which processes of the instance are alive and which are
// not, and whether it exists at all.
func Status(repoRoot, instance string) (alive, dead []string, exists bool, err error) {
	dir := ClusterDir(repoRoot, instance)
	records, err := pidFiles(dir)
	if err != nil {
		return nil, nil, false, err
	}
	for _, r := range records {
		if r.Alive() {
			alive = append(alive, r.Name)
		} else {
			dead = append(dead, r.Name)
		}
	}
	_, statErr := os.Stat(dir)
	return alive, dead, statErr == nil, nil
}

func lockPath(dir string) string { return dir + ".lock" }

// lock takes the instance's lock, so that two Up or Down of one instance
// never interleave. It fails at once if someone else holds it.
func lock(dir string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(lockPath(dir), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another local-cluster command is working on %s right now (%s is locked)", dir, lockPath(dir))
	}
	return func() { f.Close() }, nil
}

// progress prints numbered steps with the time the previous one took.
type progress struct {
	// mu orders the lines of phases that run at once.
	mu    sync.Mutex
	out   io.Writer
	start time.Time
	last  time.Time
	n     int
}

func newProgress(out io.Writer) *progress {
	now := time.Now()
	return &progress{out: out, start: now, last: now}
}

func (p *progress) step(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	now := time.Now()
	fmt.Fprintf(p.out, "[%3ds] %s\n", int(now.Sub(p.start).Seconds()), fmt.Sprintf(format, args...))
	p.last = now
}
