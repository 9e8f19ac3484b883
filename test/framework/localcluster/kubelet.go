package localcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
	"k8s.io/utils/ptr"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

const (
	// kubeletProbeInterval is how often readiness is probed. The kubelet
	// probes every periodSeconds (10s in our DaemonSet); probing every
	// second instead keeps the local cluster's rollouts quick without
	// changing what "ready" means.
	kubeletProbeInterval = time.Second
	// Restart back-off of a container that exited, doubling up to the
	// maximum, as the kubelet's CrashLoopBackOff does (which starts at 10s
	// and stops at 5m).
	initialRestartBackoff = time.Second
	maxRestartBackoff     = 30 * time.Second
	// volumeSyncInterval is how often the files of a running pod's
	// configMap and secret volumes are brought up to date (the kubelet
	// takes up to a minute).
	volumeSyncInterval = 2 * time.Second
	// defaultTerminationGrace is the pod default, used when a pod vanished
	// without a graceful deletion.
	defaultTerminationGrace = 30 * time.Second
)

// Kubelet stands in for the kubelets of some nodes, for the pods it selects
// (the operand namespace's on the control-plane nodes; cert-manager's
// HTTP-01 solvers on the workers): it runs each of their containers for
// real, as a process, probes it as the pod spec says, and reports the pod's
// status. kwok simulates every other pod.
//
// Only pods with one container are supported: the local cluster has no
// container runtime. A host-network pod runs in its node's network
// namespace; any other in a sandbox of the PodNetwork. The container's
// command is mapped to a local binary by its image (see Images and
// Entrypoints), and its user and capabilities are limited as its
// securityContext asks, with setpriv. Its configMap, secret and emptyDir
// volumes are local directories, kept up to date, and the paths under its
// mount paths in its arguments point there.
type Kubelet struct {
	Client kubernetes.Interface
	// Namespace is where the pods are; empty is every namespace.
	Namespace string
	// LabelSelector, if set, selects the pods among them.
	LabelSelector string
	// PodNetwork, if set, runs pods that are not on the host network.
	PodNetwork *PodNetwork
	// Entrypoints maps an image to the name of its entrypoint binary, for
	// containers without a command.
	Entrypoints map[string]string
	// Nodes are the nodes this kubelet runs pods for; each needs a netns.
	Nodes []Node
	// Images maps the containers' images to local binaries.
	Images Images
	// LogDir receives one log file per pod, <pod>.log.
	LogDir string
	// PodDir holds the pods' volumes, <pod UID>/volumes/<volume>.
	PodDir string
	// Ready, if set, is called once the kubelet watches its pods.
	Ready func()

	mu sync.Mutex
	// runners are the running pods, by UID.
	runners map[types.UID]*podRunner
	// uidByName tells a replaced pod (same name, new UID) from its
	// predecessor.
	uidByName map[string]types.UID
	wg        sync.WaitGroup
}

// Run runs the kubelet until ctx is done, then stops every container
// gracefully (SIGTERM, then SIGKILL after the pod's grace period) and
// returns. Pods are left as they are: a stopping kubelet does not delete
// them.
func (k *Kubelet) Run(ctx context.Context) error {
	k.runners = map[types.UID]*podRunner{}
	k.uidByName = map[string]types.UID{}
	factory := informers.NewSharedInformerFactoryWithOptions(k.Client, 0, informers.WithNamespace(k.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = k.LabelSelector }))
	pods := factory.Core().V1().Pods()
	queue := workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())
	enqueue := func(obj any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			queue.Add(key)
		}
	}
	if _, err := pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return err
	}
	factory.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), pods.Informer().HasSynced) {
		return ctx.Err()
	}
	klog.InfoS("Running pods", "namespace", k.Namespace, "selector", k.LabelSelector, "nodes", nodeNames(k.Nodes))
	if k.Ready != nil {
		k.Ready()
	}

	workerDone := make(chan struct{})
	go func() {
		defer close(workerDone)
		for {
			key, shutdown := queue.Get()
			if shutdown {
				return
			}
			if err := k.sync(ctx, pods.Lister(), key); err != nil {
				klog.ErrorS(err, "Syncing pod", "pod", key)
				queue.AddRateLimited(key)
			} else {
				queue.Forget(key)
			}
			queue.Done(key)
		}
	}()

	<-ctx.Done()
	queue.ShutDown()
	<-workerDone
	factory.Shutdown()
	k.mu.Lock()
	for _, r := range k.runners {
		r.requestStop(r.grace)
	}
	k.mu.Unlock()
	k.wg.Wait()
	klog.InfoS("Stopped every container")
	return nil
}

func nodeNames(nodes []Node) []string {
	var names []string
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	return names
}

func (k *Kubelet) node(name string) (Node, bool) {
	for _, n := range k.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// sync makes the processes match one pod.
func (k *Kubelet) sync(ctx context.Context, lister corev1listers.PodLister, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return err
	}
	pod, err := lister.Pods(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		// Gone without us finishing a graceful deletion (a forced
		// deletion): stop what still runs for it.
		k.mu.Lock()
		if uid, ok := k.uidByName[key]; ok {
			if r := k.runners[uid]; r != nil {
				r.requestStop(r.grace)
			}
			delete(k.uidByName, key)
		}
		k.mu.Unlock()
		return nil
	}
	if err != nil {
		return err
	}
	node, ours := k.node(pod.Spec.NodeName)
	if !ours {
		return nil // unscheduled, or on a node we do not run
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	if old, ok := k.uidByName[key]; ok && old != pod.UID {
		if r := k.runners[old]; r != nil {
			r.requestStop(r.grace)
		}
	}
	k.uidByName[key] = pod.UID
	r := k.runners[pod.UID]

	if pod.DeletionTimestamp != nil {
		grace := defaultTerminationGrace
		if pod.DeletionGracePeriodSeconds != nil {
			grace = time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
		}
		if r == nil {
			// Nothing runs for it: finish the deletion at once.
			return k.deletePod(ctx, pod)
		}
		if r.requestStop(grace) {
			go k.deleteWhenStopped(context.WithoutCancel(ctx), r, pod)
		}
		return nil
	}
	if r == nil {
		r = newPodRunner(k, pod, node)
		k.runners[pod.UID] = r
		k.wg.Add(1)
		go func() {
			defer k.wg.Done()
			r.run(ctx)
			k.mu.Lock()
			delete(k.runners, pod.UID)
			k.mu.Unlock()
		}()
	}
	return nil
}

// deleteWhenStopped finishes the graceful deletion of pod once its
// container has stopped, retrying for a while: no other event may come to
// trigger it again.
func (k *Kubelet) deleteWhenStopped(ctx context.Context, r *podRunner, pod *corev1.Pod) {
	<-r.done
	var err error
	for attempt := 0; attempt < 10; attempt++ {
		if err = k.deletePod(ctx, pod); err == nil {
			return
		}
		time.Sleep(time.Second)
	}
	klog.ErrorS(err, "Finishing the deletion of a pod", "pod", klog.KObj(pod))
}

// deletePod finishes a graceful deletion, as the kubelet does once the
// pod's containers have stopped.
func (k *Kubelet) deletePod(ctx context.Context, pod *corev1.Pod) error {
	err := k.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0),
		Preconditions:      &metav1.Preconditions{UID: &pod.UID},
	})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone already, or replaced by a pod of the same name
	}
	return err
}

// podRunner runs the container of one pod, restarting it when it exits.
type podRunner struct {
	k     *Kubelet
	pod   *corev1.Pod
	node  Node
	grace time.Duration
	// netns and podIPs are the node's for a host-network pod, its
	// sandbox's otherwise; set by run.
	netns  string
	podIPs []netip.Addr

	stopOnce sync.Once
	stop     chan time.Duration
	done     chan struct{}

	// status, owned by run's goroutine
	restarts    int32
	lastState   corev1.ContainerState
	everStarted bool
	// reported identifies the status last written, to skip identical
	// writes on every probe.
	reported string
}

func newPodRunner(k *Kubelet, pod *corev1.Pod, node Node) *podRunner {
	grace := defaultTerminationGrace
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		grace = time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return &podRunner{k: k, pod: pod.DeepCopy(), node: node, grace: grace, stop: make(chan time.Duration, 1), done: make(chan struct{})}
}

// requestStop asks the runner to stop its container within grace. It
// reports whether this call was the first request.
func (r *podRunner) requestStop(grace time.Duration) bool {
	first := false
	r.stopOnce.Do(func() {
		first = true
		r.stop <- grace
	})
	return first
}

func (r *podRunner) logf(format string, args ...any) {
	klog.InfoSDepth(1, fmt.Sprintf(format, args...), "pod", klog.KObj(r.pod), "node", r.node.Name)
}

// run is the life of the pod's container on this node.
func (r *podRunner) run(ctx context.Context) {
	defer close(r.done)
	release, err := r.sandbox()
	if err != nil {
		r.logf("Cannot create the pod's sandbox: %v", err)
		r.report(ctx, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating", Message: err.Error()}}, false)
		<-r.stop
		return
	}
	defer release()
	c, binary, args, vols, err := r.prepare()
	if vols != nil {
		defer func() {
			if err := vols.remove(); err != nil {
				r.logf("Removing the pod's volumes: %v", err)
			}
		}()
	}
	if err != nil {
		r.logf("Cannot run the pod: %v", err)
		r.report(ctx, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: err.Error()}}, false)
		<-r.stop
		return
	}
	backoff := initialRestartBackoff
	for {
		if err := vols.sync(ctx); err != nil {
			// As the kubelet, wait for a missing ConfigMap or Secret.
			reason := "CreateContainerError"
			if errors.Is(err, errVolumeNotReady) {
				reason = "ContainerCreating"
			}
			r.logf("Cannot mount the volumes: %v", err)
			r.report(ctx, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: err.Error()}}, false)
		} else if proc, err := r.start(c, binary, args); err != nil {
			r.logf("Starting the container failed: %v", err)
			r.report(ctx, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "RunContainerError", Message: err.Error()}}, false)
		} else {
			r.everStarted = true
			started := metav1.Now()
			r.logf("Started %s (pid %d)", c.Name, proc.pid())
			running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: started}}
			r.report(ctx, running, false)
			exitCode, stopped := r.supervise(ctx, c, proc, vols, running)
			if stopped {
				r.logf("Stopped %s (exit code %d)", c.Name, exitCode)
				return
			}
			r.restarts++
			r.lastState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: int32(exitCode), Reason: exitReason(exitCode), StartedAt: started, FinishedAt: metav1.Now(),
			}}
			r.logf("Container %s exited with code %d; restarting in %v", c.Name, exitCode, backoff)
			r.report(ctx, corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason: "CrashLoopBackOff", Message: fmt.Sprintf("back-off %v restarting failed container %s", backoff, c.Name),
			}}, false)
		}
		select {
		case <-r.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxRestartBackoff)
	}
}

// sandbox gives the pod its network: the node's for a host-network pod, a
// namespace of the pod network otherwise. release tears it down.
func (r *podRunner) sandbox() (release func(), err error) {
	if r.pod.Spec.HostNetwork {
		r.netns, r.podIPs = r.node.Netns, r.node.Addresses
		return func() {}, nil
	}
	if r.k.PodNetwork == nil {
		return nil, errors.New("only host-network pods can run on this node (it has no pod network)")
	}
	sb, err := r.k.PodNetwork.Add()
	if err != nil {
		return nil, err
	}
	r.netns, r.podIPs = sb.Netns, []netip.Addr{sb.IP}
	r.logf("Sandbox %s, pod IP %s", sb.Netns, sb.IP)
	return func() {
		if err := r.k.PodNetwork.Remove(sb); err != nil {
			r.logf("Removing the pod's sandbox: %v", err)
		}
	}, nil
}

// prepare resolves the container's binary and arguments and creates its
// volumes. The paths under the container's mount paths in its arguments
// are rewritten to the volumes' local directories, as for the operator.
func (r *podRunner) prepare() (corev1.Container, string, []string, *podVolumes, error) {
	c, binary, args, err := r.resolve()
	if err != nil {
		return c, "", nil, nil, err
	}
	vols, err := newPodVolumes(r.k.Client, r.pod, filepath.Join(r.k.PodDir, string(r.pod.UID), "volumes"))
	if err != nil {
		return c, "", nil, vols, err
	}
	mounts, err := vols.mountPaths(c)
	if err != nil {
		return c, "", nil, vols, err
	}
	rewrite := mountPathRewriter(mounts)
	for i := range args {
		args[i] = rewrite(args[i])
	}
	return c, binary, args, vols, nil
}

func exitReason(code int) string {
	if code == 0 {
		return "Completed"
	}
	return "Error"
}

// resolve checks that the pod can run here and finds its binary.
func (r *podRunner) resolve() (corev1.Container, string, []string, error) {
	spec := r.pod.Spec
	if len(spec.Containers) != 1 || len(spec.InitContainers) != 0 {
		return corev1.Container{}, "", nil, errors.New("only pods with exactly one container and no init containers are supported")
	}
	c := spec.Containers[0]
	if len(c.Command) == 0 {
		if entrypoint, ok := r.k.Entrypoints[c.Image]; ok {
			// The image's entrypoint, which the pod's args follow.
			c.Command = []string{entrypoint}
		}
	}
	binary, args, err := r.k.Images.LocalBinary(c)
	return c, binary, args, err
}

// supervise probes the container until it exits or the pod is stopped. It
// returns the exit code, and whether the pod was stopped (rather than the
// container exiting or failing its liveness probe).
func (r *podRunner) supervise(ctx context.Context, c corev1.Container, proc *process, vols *podVolumes, running corev1.ContainerState) (int, bool) {
	readiness := newProbeState(c.ReadinessProbe, true)
	liveness := newProbeState(c.LivenessProbe, false)
	started := time.Now()
	lastVolumeSync := started
	ticker := time.NewTicker(kubeletProbeInterval)
	defer ticker.Stop()
	for {
		select {
		case grace := <-r.stop:
			return proc.terminate(grace), true
		case <-proc.done:
			return proc.exitCode(), false
		case <-ticker.C:
		}
		now := time.Now()
		if now.Sub(lastVolumeSync) >= volumeSyncInterval {
			lastVolumeSync = now
			if err := vols.sync(ctx); err != nil {
				r.logf("Updating the volumes: %v", err)
			}
		}
		if readiness.due(now, started, kubeletProbeInterval) {
			if changed := readiness.record(r.probe(c, c.ReadinessProbe)); changed {
				r.logf("Readiness of %s: %v", c.Name, readiness.healthy)
			}
			r.report(ctx, running, readiness.healthy)
		}
		if liveness.due(now, started, 0) {
			if liveness.record(r.probe(c, c.LivenessProbe)) && !liveness.healthy {
				r.logf("Liveness probe of %s failed %d times; restarting it", c.Name, liveness.failures)
				return proc.terminate(r.grace), false
			}
		}
	}
}

// start starts the container's command inside the node's namespace, its
// output appended to the pod's log file.
func (r *podRunner) start(c corev1.Container, binary string, args []string) (*process, error) {
	var env []string
	for _, e := range c.Env {
		value, err := envValue(e, r.pod.Namespace, r.pod.Name)
		if err != nil {
			return nil, err
		}
		env = append(env, e.Name+"="+value)
	}
	argv := append([]string{"ip", "netns", "exec", r.netns}, setprivArgs(c.SecurityContext, r.pod.Spec.SecurityContext)...)
	argv = append(append(argv, binary), args...)
	return startProcess(argv, env, r.logPath())
}

// logPath is the pod's log file: <pod>.log, or <namespace>_<pod>.log for a
// kubelet of every namespace.
func (r *podRunner) logPath() string {
	name := r.pod.Name
	if r.k.Namespace == "" {
		name = r.pod.Namespace + "_" + name
	}
	return filepath.Join(r.k.LogDir, name+".log")
}

// nonRootUser is the user a container runs as when it must not run as root
// and names no user: the user that images built on distroless "nonroot"
// declare, as cert-manager's do.
const nonRootUser = 65532

// setprivArgs limits the container's user and capabilities as its
// securityContext says: runAsUser, or runAsNonRoot without one, switches
// users; with `drop: [ALL]`, the process keeps only the added capabilities
// (root gets nothing else at exec), and allowPrivilegeEscalation: false is
// no_new_privs.
func setprivArgs(sc *corev1.SecurityContext, podSC *corev1.PodSecurityContext) []string {
	args := []string{"setpriv"}
	if uid, ok := runAsUser(sc, podSC); ok && uid != 0 {
		id := strconv.FormatInt(uid, 10)
		args = append(args, "--reuid="+id, "--regid="+id, "--clear-groups")
	}
	if sc != nil && sc.Capabilities != nil && slices.Contains(sc.Capabilities.Drop, "ALL") {
		caps := "-all"
		for _, c := range sc.Capabilities.Add {
			caps += ",+" + strings.ToLower(strings.TrimPrefix(string(c), "CAP_"))
		}
		args = append(args, "--bounding-set="+caps, "--inh-caps="+caps)
	}
	if sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		args = append(args, "--no-new-privs")
	}
	return append(args, "--")
}

// runAsUser is the user the container runs as, if it is not the image's
// (root here): the container's runAsUser, else the pod's, else nonRootUser
// when either asks for a non-root user.
func runAsUser(sc *corev1.SecurityContext, podSC *corev1.PodSecurityContext) (int64, bool) {
	switch {
	case sc != nil && sc.RunAsUser != nil:
		return *sc.RunAsUser, true
	case podSC != nil && podSC.RunAsUser != nil:
		return *podSC.RunAsUser, true
	case sc != nil && ptr.Deref(sc.RunAsNonRoot, false), podSC != nil && ptr.Deref(podSC.RunAsNonRoot, false):
		return nonRootUser, true
	}
	return 0, false
}

// probe runs one HTTP GET probe inside the pod's network namespace. Only httpGet
// probes are supported; a pod without a probe is always healthy.
func (r *podRunner) probe(c corev1.Container, p *corev1.Probe) error {
	if p == nil {
		return nil
	}
	get := p.HTTPGet
	if get == nil {
		return errors.New("only httpGet probes are supported locally")
	}
	port, err := probePort(c, get.Port)
	if err != nil {
		return err
	}
	host := get.Host
	if host == "" {
		host = r.podIPs[0].String()
	}
	scheme := strings.ToLower(string(get.Scheme))
	if scheme == "" {
		scheme = "http"
	}
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	ns := &netns.Namespace{Name: r.netns}
	req, err := http.NewRequest(http.MethodGet, scheme+"://"+net.JoinHostPort(host, strconv.Itoa(port))+get.Path, nil)
	if err != nil {
		return err
	}
	for _, h := range get.HTTPHeaders {
		req.Header.Add(h.Name, h.Value)
	}
	resp, err := ns.HTTPClient(timeout).Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("%s: HTTP %d", req.URL, resp.StatusCode)
	}
	return nil
}

func probePort(c corev1.Container, port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range c.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("probe port %q is not a port of container %s", port.StrVal, c.Name)
}

// probeState applies a probe's thresholds to its results, as the kubelet
// does: healthy flips after successThreshold successes in a row, unhealthy
// after failureThreshold failures in a row.
type probeState struct {
	probe     *corev1.Probe
	healthy   bool
	successes int32
	failures  int32
	last      time.Time
}

func newProbeState(p *corev1.Probe, readiness bool) *probeState {
	// Readiness starts false and liveness true, as in the kubelet; a
	// container without a readiness probe is ready once it runs.
	return &probeState{probe: p, healthy: !readiness || p == nil}
}

// due reports whether the probe should run now. A non-zero interval
// overrides the probe's periodSeconds.
func (s *probeState) due(now, started time.Time, interval time.Duration) bool {
	if s.probe == nil {
		return interval != 0 // a readiness without probe still reports
	}
	if now.Sub(started) < time.Duration(s.probe.InitialDelaySeconds)*time.Second {
		return false
	}
	if interval == 0 {
		interval = time.Duration(max(s.probe.PeriodSeconds, 1)) * time.Second
	}
	if !s.last.IsZero() && now.Sub(s.last) < interval {
		return false
	}
	s.last = now
	return true
}

// record records a result and reports whether healthy changed.
func (s *probeState) record(err error) bool {
	if s.probe == nil {
		return false
	}
	before := s.healthy
	if err == nil {
		s.failures = 0
		s.successes++
		if s.successes >= max(s.probe.SuccessThreshold, 1) {
			s.healthy = true
		}
	} else {
		s.successes = 0
		s.failures++
		if s.failures >= max(s.probe.FailureThreshold, 1) {
			s.healthy = false
		}
	}
	return s.healthy != before
}

// report writes the pod's status for the container's state, skipping the
// write when readiness and state are what was last reported.
func (r *podRunner) report(ctx context.Context, state corev1.ContainerState, ready bool) {
	key := fmt.Sprintf("%v/%d/%t", stateKey(state), r.restarts, ready)
	if key == r.reported {
		return
	}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		pod, err := r.k.Client.CoreV1().Pods(r.pod.Namespace).Get(ctx, r.pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if pod.UID != r.pod.UID || pod.DeletionTimestamp != nil {
			return nil // replaced or being deleted: its status no longer matters
		}
		setPodStatus(pod, r.node.Addresses, r.podIPs, r.pod.Spec.Containers[0], state, r.lastState, r.restarts, ready, r.everStarted)
		_, err = r.k.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		if !apierrors.IsNotFound(err) && ctx.Err() == nil {
			klog.ErrorS(err, "Updating pod status", "pod", klog.KObj(r.pod))
		}
		return
	}
	r.reported = key
}

// stateKey tells container states apart for report.
func stateKey(s corev1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running@" + s.Running.StartedAt.String()
	case s.Waiting != nil:
		return "waiting:" + s.Waiting.Reason
	case s.Terminated != nil:
		return "terminated"
	}
	return ""
}

// setPodStatus writes the status of a pod with one container, on a node
// with hostIPs, into pod.
func setPodStatus(pod *corev1.Pod, hostIPs, podIPs []netip.Addr, c corev1.Container, state, lastState corev1.ContainerState, restarts int32, ready, everStarted bool) {
	now := metav1.Now()
	status := &pod.Status
	status.Phase = corev1.PodPending
	if everStarted {
		status.Phase = corev1.PodRunning
	}
	status.HostIP, status.PodIP = hostIPs[0].String(), podIPs[0].String()
	status.HostIPs, status.PodIPs = nil, nil
	for _, a := range hostIPs {
		status.HostIPs = append(status.HostIPs, corev1.HostIP{IP: a.String()})
	}
	for _, a := range podIPs {
		status.PodIPs = append(status.PodIPs, corev1.PodIP{IP: a.String()})
	}
	if status.StartTime == nil {
		status.StartTime = &now
	}
	status.ContainerStatuses = []corev1.ContainerStatus{{
		Name:                 c.Name,
		Image:                c.Image,
		ImageID:              c.Image,
		ContainerID:          "local://" + pod.Name + "/" + c.Name,
		State:                state,
		LastTerminationState: lastState,
		Ready:                ready && state.Running != nil,
		Started:              ptr.To(state.Running != nil),
		RestartCount:         restarts,
	}}
	containersReady := corev1.ConditionFalse
	if ready && state.Running != nil {
		containersReady = corev1.ConditionTrue
	}
	setPodCondition(status, corev1.PodInitialized, corev1.ConditionTrue, now)
	setPodCondition(status, corev1.ContainersReady, containersReady, now)
	setPodCondition(status, corev1.PodReady, containersReady, now)
}

func setPodCondition(status *corev1.PodStatus, t corev1.PodConditionType, s corev1.ConditionStatus, now metav1.Time) {
	for i := range status.Conditions {
		c := &status.Conditions[i]
		if c.Type == t {
			if c.Status != s {
				c.Status, c.LastTransitionTime = s, now
			}
			c.LastProbeTime = metav1.Time{}
			return
		}
	}
	status.Conditions = append(status.Conditions, corev1.PodCondition{Type: t, Status: s, LastTransitionTime: now})
}

// process is a container's process, started on a locked OS thread so that
// its parent-death signal fires only when this kubelet dies: a process
// whose kubelet is gone stops (SIGTERM) and removes what it set up.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func startProcess(argv, env []string, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(logFile, "=== %s: starting %s\n", time.Now().Format(time.RFC3339), strings.Join(argv, " "))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	p := &process{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the forking thread exits; this one stays
		// locked, and so alive, until the child has exited.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			_ = cmd.Wait()
			fmt.Fprintf(logFile, "=== %s: exited: %v\n", time.Now().Format(time.RFC3339), cmd.ProcessState)
		}
		logFile.Close()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// exitCode is the process's exit code, or 128 + the signal that killed it,
// as container runtimes report it.
func (p *process) exitCode() int {
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return p.cmd.ProcessState.ExitCode()
}

// terminate sends SIGTERM to the process group and SIGKILL after grace,
// and returns the exit code.
func (p *process) terminate(grace time.Duration) int {
	_ = syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
	return p.exitCode()
}

// RunKubelets runs the local cluster's stand-in kubelets until ctx is
// done: one for cert-manager's solver pods, on the pod network of the
// workers (the control-plane nodes have real kubelets). ready is called
// once they watch their pods.
func RunKubelets(ctx context.Context, s *State, client kubernetes.Interface, ready func()) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		wg.Wait()
		if ctx.Err() == nil {
			ready()
		}
	}()
	kubelets := []*Kubelet{
		{Client: client, LabelSelector: SolverPodLabel + "=true", Nodes: s.Topology.Workers(), PodNetwork: &PodNetwork{Topology: s.Topology}},
	}
	errs := make(chan error, len(kubelets))
	for _, k := range kubelets {
		k.Images, k.Entrypoints, k.LogDir, k.PodDir, k.Ready = s.Images, s.Entrypoints, s.PodLogDir(), s.KubeletPodDir(), wg.Done
		go func() { errs <- k.Run(ctx) }()
	}
	var err error
	for range kubelets {
		err = errors.Join(err, <-errs)
	}
	return err
}
