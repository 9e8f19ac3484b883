//go:build integration

// Package operator runs the operator in-process against a real etcd and
// kube-apiserver, with nothing else: no kubelet, no controller-manager. The
// tests stand in for the DaemonSet controller by writing the DaemonSet's
// status themselves.
package operator

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	routev1 "github.com/openshift/api/route/v1"
	configclient "github.com/openshift/client-go/config/clientset/versioned"
	operatorclient "github.com/openshift/client-go/operator/clientset/versioned"
	routeclient "github.com/openshift/client-go/route/clientset/versioned"
	"github.com/openshift/library-go/pkg/controller/controllercmd"
	"github.com/openshift/library-go/pkg/operator/events"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"sigs.k8s.io/yaml"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
	operatorv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/operator/v1alpha1"
	proxyclient "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/clientset/versioned"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/apihostclaim"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
)

const (
	// testAPIHost is the API host of the bare-metal Infrastructure.
	testAPIHost = "api.test.example.test"
	testImage   = "registry.test/http01-challenge-proxy@sha256:1111"
	// testImageV2 is the operand image of the next release.
	testImageV2 = "registry.test/http01-challenge-proxy@sha256:2222"
	// releaseV1 and releaseV2 are the RELEASE_VERSION of two releases.
	releaseV1 = "4.21.0-test"
	releaseV2 = "4.21.1-test"

	// waitTimeout bounds every wait for the operator to converge. The
	// operator reacts to watch events within milliseconds; the slack is for
	// a loaded 2-core machine.
	waitTimeout  = 30 * time.Second
	pollInterval = 100 * time.Millisecond
)

// env is one kube-apiserver with the namespaces and singletons the CVO would
// have created, and admin clients for the test to act as the cluster.
type env struct {
	t      *testing.T
	srv    *apiserver.Server
	kube   kubernetes.Interface
	config configclient.Interface
	proxy  proxyclient.Interface
	routes routeclient.Interface
	ops    operatorclient.Interface
}

type envOption func(*envSettings)

type envSettings struct {
	operatorResource bool
	// router is how the stand-in for the default router answers the
	// claim on the API host; nil admits it.
	router func(*routev1.Route) routev1.RouteIngressCondition
}

// withRouter has the stand-in router answer the claim Route with admit.
func withRouter(admit func(*routev1.Route) routev1.RouteIngressCondition) envOption {
	return func(s *envSettings) { s.router = admit }
}

// admitClaim is the default router's answer when no other namespace holds
// the API host.
func admitClaim(*routev1.Route) routev1.RouteIngressCondition {
	return routev1.RouteIngressCondition{Type: routev1.RouteAdmitted, Status: corev1.ConditionTrue}
}

// withoutOperatorResource leaves out the operator resource the CVO would
// have created.
func withoutOperatorResource() envOption {
	return func(s *envSettings) { s.operatorResource = false }
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	settings := &envSettings{operatorResource: true, router: admitClaim}
	for _, o := range opts {
		o(settings)
	}
	pinThread()
	srv := apiserver.Start(t)
	cfg := srv.RESTConfig()
	// Generous: kube-apiserver can stall for seconds on a loaded 2-core
	// machine, and a timed-out read fails the test for nothing.
	cfg.Timeout = 30 * time.Second
	e := &env{
		t:      t,
		srv:    srv,
		kube:   kubernetes.NewForConfigOrDie(cfg),
		config: configclient.NewForConfigOrDie(cfg),
		proxy:  proxyclient.NewForConfigOrDie(cfg),
		routes: routeclient.NewForConfigOrDie(cfg),
		ops:    operatorclient.NewForConfigOrDie(cfg),
	}
	for _, ns := range []string{names.OperatorNamespace, names.OperandNamespace, apihostclaim.Namespace, apihostclaim.IngressControllerNamespace} {
		if _, err := e.kube.CoreV1().Namespaces().Create(e.ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("creating namespace %s: %v", ns, err)
		}
	}
	if settings.operatorResource {
		e.createOperatorResource()
	}
	e.createDefaultIngressController()
	e.standInForTheRouter(settings.router)
	return e
}

// createDefaultIngressController creates the default IngressController as
// the ingress operator does: routeAdmission unset, which is Strict.
func (e *env) createDefaultIngressController() {
	e.t.Helper()
	ic := &operatorv1.IngressController{ObjectMeta: metav1.ObjectMeta{Namespace: apihostclaim.IngressControllerNamespace, Name: apihostclaim.IngressControllerName}}
	if _, err := e.ops.OperatorV1().IngressControllers(ic.Namespace).Create(e.ctx(), ic, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating the default IngressController: %v", err)
	}
}

// standInForTheRouter writes the default router's answer into the status
// of the claim Route whenever it lacks one, until the test ends: there is
// no router here.
func (e *env) standInForTheRouter(answer func(*routev1.Route) routev1.RouteIngressCondition) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	e.t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		_ = wait.PollUntilContextCancel(ctx, pollInterval, true, func(ctx context.Context) (bool, error) {
			routes := e.routes.RouteV1().Routes(apihostclaim.Namespace)
			r, err := routes.Get(ctx, apihostclaim.RouteName, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			want := answer(r)
			for _, ingress := range r.Status.Ingress {
				if ingress.RouterName == apihostclaim.RouterName && ingress.Host == r.Spec.Host && len(ingress.Conditions) == 1 &&
					ingress.Conditions[0].Status == want.Status && ingress.Conditions[0].Reason == want.Reason {
					return false, nil
				}
			}
			r.Status.Ingress = []routev1.RouteIngress{{Host: r.Spec.Host, RouterName: apihostclaim.RouterName, Conditions: []routev1.RouteIngressCondition{want}}}
			_, _ = routes.UpdateStatus(ctx, r, metav1.UpdateOptions{})
			return false, nil
		})
	}()
}

// pinThread keeps the calling test's goroutine on its OS thread until the
// test has ended, cleanups included. The API server harness starts etcd and
// kube-apiserver with Pdeathsig, which the kernel sends when the *thread*
// that forked them exits, and netns.Do (the data plane of
// TestAPIServerOutage) ends the threads it runs on, on purpose. Without the
// pin, a thread that started some test's kube-apiserver could later run a
// netns.Do, in any test of this process, and take that kube-apiserver and
// its etcd down with it.
func pinThread() {
	runtime.LockOSThread()
}

// createOperatorResource creates the operator resource as manifests/ ships it.
func (e *env) createOperatorResource() {
	e.t.Helper()
	op := &operatorv1alpha1.HTTP01ChallengeProxy{ObjectMeta: metav1.ObjectMeta{Name: names.SingletonName}}
	op.Spec.ManagementState = operatorv1.Managed
	op.Spec.LogLevel = operatorv1.Normal
	if _, err := e.proxy.OperatorV1alpha1().HTTP01ChallengeProxies().Create(e.ctx(), op, metav1.CreateOptions{}); err != nil {
		e.t.Fatalf("creating the operator resource: %v", err)
	}
}

// ctx is for the test's own requests; the admin clients time out each
// request by themselves.
func (e *env) ctx() context.Context {
	return context.Background()
}

// --- the operator under test ---

// runningOperator is one in-process operator, as controllercmd would run it
// after winning leader election.
type runningOperator struct {
	writes *writeCounter
	cancel context.CancelFunc
	done   chan error
	events events.Recorder
}

type operatorOption func(*operatorSettings)

type operatorSettings struct {
	release string
	image   string
	config  *rest.Config
}

// withRelease sets the release version, as the CVO sets RELEASE_VERSION
// per release.
func withRelease(v string) operatorOption {
	return func(s *operatorSettings) { s.release = v }
}

// withImage sets the operand image, as the CVO sets OPERAND_IMAGE per
// release.
func withImage(image string) operatorOption {
	return func(s *operatorSettings) { s.image = image }
}

// asUser runs the operator with these credentials instead of the admin's.
func asUser(cfg *rest.Config) operatorOption {
	return func(s *operatorSettings) { s.config = cfg }
}

// startOperator runs the operator until the test ends or stop is called.
func (e *env) startOperator(opts ...operatorOption) *runningOperator {
	e.t.Helper()
	s := &operatorSettings{release: releaseV1, image: testImage, config: e.srv.RESTConfig()}
	for _, o := range opts {
		o(s)
	}

	writes := &writeCounter{}
	cfg := rest.CopyConfig(s.config)
	cfg.WrapTransport = writes.wrap
	protoCfg := rest.CopyConfig(cfg)
	protoCfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	protoCfg.ContentType = "application/vnd.kubernetes.protobuf"

	// Events go through the counted client too: an event is a write.
	recorder := events.NewKubeRecorder(kubernetes.NewForConfigOrDie(cfg).CoreV1().Events(names.OperatorNamespace),
		names.OperatorName,
		&corev1.ObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Namespace: names.OperatorNamespace, Name: names.OperatorName},
		clock.RealClock{})

	ctx, cancel := context.WithCancel(context.Background())
	op := &runningOperator{writes: writes, cancel: cancel, done: make(chan error, 1), events: recorder}
	go func() {
		op.done <- operator.Run(ctx, &controllercmd.ControllerContext{
			KubeConfig:        cfg,
			ProtoKubeConfig:   protoCfg,
			EventRecorder:     recorder,
			OperatorNamespace: names.OperatorNamespace,
			Clock:             clock.RealClock{},
		}, operator.Settings{OperandImage: s.image, ReleaseVersion: s.release})
	}()
	e.t.Cleanup(op.stop)
	return op
}

// stop cancels the operator and waits until all its controllers returned.
func (op *runningOperator) stop() {
	if op.cancel == nil {
		return
	}
	op.cancel()
	op.cancel = nil
	<-op.done
	op.events.Shutdown()
}

// exitedEarly reports an operator that stopped without being asked to.
func (op *runningOperator) exitedEarly() error {
	select {
	case err := <-op.done:
		op.done <- err // keep it for stop
		return fmt.Errorf("RunOperator returned on its own: %v", err)
	default:
		return nil
	}
}

// writeCounter counts the requests that change something: anything but
// GET, which is also what LIST and WATCH are on the wire.
type writeCounter struct {
	mu       sync.Mutex
	requests []string
}

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet {
			w.mu.Lock()
			w.requests = append(w.requests, req.Method+" "+req.URL.Path)
			w.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

// since returns the writes after the first n.
func (w *writeCounter) since(n int) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.requests[n:]...)
}

func (w *writeCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.requests)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// --- the cluster state the tests control ---

type infraOption func(*configv1.InfrastructureStatus)

// bareMetal is the status of a dual-stack bare-metal Infrastructure.
func bareMetal(opts ...infraOption) configv1.InfrastructureStatus {
	s := configv1.InfrastructureStatus{
		InfrastructureName:     "test-x7k2p",
		APIServerURL:           "https://" + testAPIHost + ":6443",
		Platform:               configv1.BareMetalPlatformType,
		ControlPlaneTopology:   configv1.HighlyAvailableTopologyMode,
		InfrastructureTopology: configv1.HighlyAvailableTopologyMode,
		PlatformStatus: &configv1.PlatformStatus{
			Type: configv1.BareMetalPlatformType,
			BareMetal: &configv1.BareMetalPlatformStatus{
				APIServerInternalIPs: []string{"192.0.2.5", "fd00::5"},
				IngressIPs:           []string{"192.0.2.10", "fd00::10"},
			},
		},
	}
	for _, o := range opts {
		o(&s)
	}
	return s
}

func withVIPs(api, ingress []string) infraOption {
	return func(s *configv1.InfrastructureStatus) {
		s.PlatformStatus.BareMetal.APIServerInternalIPs = api
		s.PlatformStatus.BareMetal.IngressIPs = ingress
	}
}

func aws() configv1.InfrastructureStatus {
	return configv1.InfrastructureStatus{
		InfrastructureName:     "test-x7k2p",
		Platform:               configv1.AWSPlatformType,
		ControlPlaneTopology:   configv1.HighlyAvailableTopologyMode,
		InfrastructureTopology: configv1.HighlyAvailableTopologyMode,
		PlatformStatus: &configv1.PlatformStatus{
			Type: configv1.AWSPlatformType,
			AWS:  &configv1.AWSPlatformStatus{Region: "us-east-1"},
		},
	}
}

// setInfrastructure creates or updates Infrastructure/cluster with status.
func (e *env) setInfrastructure(status configv1.InfrastructureStatus) {
	e.t.Helper()
	infras := e.config.ConfigV1().Infrastructures()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current, err := infras.Get(e.ctx(), names.SingletonName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			current, err = infras.Create(e.ctx(), &configv1.Infrastructure{ObjectMeta: metav1.ObjectMeta{Name: names.SingletonName}}, metav1.CreateOptions{})
		}
		if err != nil {
			return err
		}
		current.Status = status
		_, err = infras.UpdateStatus(e.ctx(), current, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		e.t.Fatalf("setting the Infrastructure status: %v", err)
	}
}

// setTLSProfile creates or updates apiservers.config.openshift.io/cluster
// with the given TLS security profile.
func (e *env) setTLSProfile(profile *configv1.TLSSecurityProfile) {
	e.t.Helper()
	apiServers := e.config.ConfigV1().APIServers()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current, err := apiServers.Get(e.ctx(), names.SingletonName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = apiServers.Create(e.ctx(), &configv1.APIServer{
				ObjectMeta: metav1.ObjectMeta{Name: names.SingletonName},
				Spec:       configv1.APIServerSpec{TLSSecurityProfile: profile},
			}, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		current.Spec.TLSSecurityProfile = profile
		_, err = apiServers.Update(e.ctx(), current, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		e.t.Fatalf("setting the APIServer's TLS security profile: %v", err)
	}
}

func (e *env) deleteInfrastructure() {
	e.t.Helper()
	if err := e.config.ConfigV1().Infrastructures().Delete(e.ctx(), names.SingletonName, metav1.DeleteOptions{}); err != nil {
		e.t.Fatalf("deleting the Infrastructure: %v", err)
	}
}

// setConfig creates or updates the config singleton's spec.
func (e *env) setConfig(spec configv1alpha1.HTTP01ChallengeProxySpec) {
	e.t.Helper()
	configs := e.proxy.ConfigV1alpha1().HTTP01ChallengeProxies()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		current, err := configs.Get(e.ctx(), names.SingletonName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = configs.Create(e.ctx(), &configv1alpha1.HTTP01ChallengeProxy{ObjectMeta: metav1.ObjectMeta{Name: names.SingletonName}, Spec: spec}, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		current.Spec = spec
		_, err = configs.Update(e.ctx(), current, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		e.t.Fatalf("setting the config spec: %v", err)
	}
}

var (
	defaultDeployment = configv1alpha1.HTTP01ChallengeProxySpec{Mode: configv1alpha1.DefaultDeploymentMode}
	disabledSpec      = configv1alpha1.HTTP01ChallengeProxySpec{}
)

func customPort(port int32) configv1alpha1.HTTP01ChallengeProxySpec {
	return configv1alpha1.HTTP01ChallengeProxySpec{
		Mode:             configv1alpha1.CustomDeploymentMode,
		CustomDeployment: &configv1alpha1.CustomDeploymentSpec{InternalPort: port},
	}
}

// --- standing in for the DaemonSet controller ---

// rollOutOnceCreated waits for the operator to create the DaemonSet, then
// rolls it out completely on the three control-plane nodes.
func (e *env) rollOutOnceCreated() {
	e.t.Helper()
	e.eventually("the DaemonSet", func() error { _, err := e.daemonSet(); return err })
	e.rollOut(3, 3, 3)
}

// rollOut writes the DaemonSet status of a controller that observed the
// current generation, scheduled desired pods and has updated and ready of
// them on the current generation.
func (e *env) rollOut(desired, updated, ready int32) {
	e.t.Helper()
	daemonSets := e.kube.AppsV1().DaemonSets(names.OperandNamespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ds, err := daemonSets.Get(e.ctx(), names.OperandName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ds.Status = appsv1.DaemonSetStatus{
			ObservedGeneration:     ds.Generation,
			DesiredNumberScheduled: desired,
			CurrentNumberScheduled: desired,
			UpdatedNumberScheduled: updated,
			NumberReady:            ready,
			NumberAvailable:        ready,
			NumberUnavailable:      desired - ready,
		}
		_, err = daemonSets.UpdateStatus(e.ctx(), ds, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		e.t.Fatalf("writing the DaemonSet status: %v", err)
	}
}

// --- reading what the operator did ---

// eventually polls check until it returns nil, and fails the test with its
// last error after waitTimeout.
func (e *env) eventually(what string, check func() error) {
	e.t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), pollInterval, waitTimeout, true, func(context.Context) (bool, error) {
		last = check()
		return last == nil, nil
	})
	if err != nil {
		e.t.Fatalf("waiting for %s: %v", what, last)
	}
}

func (e *env) daemonSet() (*appsv1.DaemonSet, error) {
	return e.kube.AppsV1().DaemonSets(names.OperandNamespace).Get(e.ctx(), names.OperandName, metav1.GetOptions{})
}

func (e *env) clusterOperator() (*configv1.ClusterOperator, error) {
	return e.config.ConfigV1().ClusterOperators().Get(e.ctx(), names.ClusterOperator, metav1.GetOptions{})
}

func (e *env) configStatus() configv1alpha1.HTTP01ChallengeProxyStatus {
	e.t.Helper()
	cfg, err := e.proxy.ConfigV1alpha1().HTTP01ChallengeProxies().Get(e.ctx(), names.SingletonName, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("reading the config singleton: %v", err)
	}
	return cfg.Status
}

func (e *env) operatorStatus() operatorv1.OperatorStatus {
	e.t.Helper()
	op, err := e.proxy.OperatorV1alpha1().HTTP01ChallengeProxies().Get(e.ctx(), names.SingletonName, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("reading the operator resource: %v", err)
	}
	return op.Status.OperatorStatus
}

// operatorConditionIs checks one condition of the operator resource.
func (e *env) operatorConditionIs(condType string, status operatorv1.ConditionStatus) func() error {
	return func() error {
		for _, c := range e.operatorStatus().Conditions {
			if c.Type == condType {
				if c.Status != status {
					return fmt.Errorf("%s is %s (%s: %s), want %s", condType, c.Status, c.Reason, c.Message, status)
				}
				return nil
			}
		}
		return fmt.Errorf("no %s condition", condType)
	}
}

// want is a ClusterOperator state: condition type -> "Status/Reason" or
// just "Status", and the operator version ("" for "not reported").
type want struct {
	conditions map[configv1.ClusterStatusConditionType]string
	version    *string
}

func conditions(pairs ...string) want {
	w := want{conditions: map[configv1.ClusterStatusConditionType]string{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		w.conditions[configv1.ClusterStatusConditionType(pairs[i])] = pairs[i+1]
	}
	return w
}

func (w want) withVersion(v string) want {
	w.version = &v
	return w
}

// clusterOperatorIs checks the ClusterOperator against w.
func (e *env) clusterOperatorIs(w want) func() error {
	return func() error {
		co, err := e.clusterOperator()
		if err != nil {
			return err
		}
		var problems []string
		for condType, expected := range w.conditions {
			got := "missing"
			for _, c := range co.Status.Conditions {
				if c.Type == condType {
					got = string(c.Status) + "/" + c.Reason
					if !strings.Contains(expected, "/") {
						got = string(c.Status)
					}
				}
			}
			if got != expected {
				problems = append(problems, fmt.Sprintf("%s is %s, want %s", condType, got, expected))
			}
		}
		if w.version != nil {
			got := ""
			for _, v := range co.Status.Versions {
				if v.Name == names.OperatorVersionName {
					got = v.Version
				}
			}
			if got != *w.version {
				problems = append(problems, fmt.Sprintf("version %q, want %q", got, *w.version))
			}
		}
		if len(problems) > 0 {
			return errors.New(strings.Join(problems, "; "))
		}
		return nil
	}
}

// logClusterOperator logs the ClusterOperator as `oc get` and `-o yaml`
// would show it, for the record of what admins see.
func (e *env) logClusterOperator(title string) {
	e.t.Helper()
	co, err := e.clusterOperator()
	if err != nil {
		e.t.Fatalf("reading the ClusterOperator: %v", err)
	}
	status := func(t configv1.ClusterStatusConditionType) string {
		for _, c := range co.Status.Conditions {
			if c.Type == t {
				return string(c.Status)
			}
		}
		return ""
	}
	version := ""
	for _, v := range co.Status.Versions {
		if v.Name == names.OperatorVersionName {
			version = v.Version
		}
	}
	co.ManagedFields = nil
	out, _ := yaml.Marshal(co)
	e.t.Logf("%s:\nNAME                     VERSION       AVAILABLE   PROGRESSING   DEGRADED   SINCE\n%-24s %-13s %-11s %-13s %-10s %s\n\n%s",
		title, co.Name, version, status(configv1.OperatorAvailable), status(configv1.OperatorProgressing), status(configv1.OperatorDegraded),
		time.Since(co.CreationTimestamp.Time).Round(time.Second), out)
}

func daemonSetGone(e *env) func() error {
	return func() error {
		_, err := e.daemonSet()
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		return errors.New("the DaemonSet still exists")
	}
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func proxyArgs(ds *appsv1.DaemonSet) []string {
	for _, c := range ds.Spec.Template.Spec.Containers {
		if c.Name == "proxy" {
			return c.Args
		}
	}
	return nil
}
