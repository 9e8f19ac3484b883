//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/rules"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/localcluster"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// The tests of this file look at the proxy's containers as the local
// cluster's real kubelets and containerd run them; TestHTTP01ChallengeProxy
// runs them only with the local harness.

// netAdminOnly is CAP_NET_ADMIN alone, as /proc/<pid>/status prints a set.
const netAdminOnly = "0000000000001000"

// testRunsAsRendered checks each proxy container against the DaemonSet's
// securityContext and volumes, from the host's side of the container.
func (c *cluster) testRunsAsRendered(t *testing.T) {
	ctx := ctxFor(t)
	pods := c.readyProxyPods(t, ctx)
	for _, pod := range pods {
		t.Run(pod.Spec.NodeName, func(t *testing.T) {
			pid := c.containerPID(t, ctx, pod)
			status := procStatus(t, pid)
			for field, want := range map[string]string{
				"CapEff": netAdminOnly, "CapPrm": netAdminOnly, "CapBnd": netAdminOnly, "CapAmb": "0000000000000000",
				"NoNewPrivs": "1", "Seccomp": "2", "Uid": "0\t0\t0\t0",
			} {
				if got := status[field]; got != want {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
			if opts := rootMountOptions(t, pid); !strings.HasPrefix(opts, "ro,") && opts != "ro" {
				t.Errorf("the root filesystem is mounted %q, want read-only", opts)
			}
			root := filepath.Join("/proc", fmt.Sprint(pid), "root")
			for file, want := range map[string]os.FileMode{
				"/var/run/secrets/metrics-serving-cert/tls.key":        0o400,
				"/var/run/secrets/metrics-serving-cert/tls.crt":        0o400,
				"/var/run/configmaps/metrics-client-ca/client-ca-file": 0o644,
			} {
				st, err := os.Stat(filepath.Join(root, file))
				if err != nil {
					t.Errorf("%s: %v", file, err)
				} else if st.Mode().Perm() != want {
					t.Errorf("%s has mode %v, want %v", file, st.Mode().Perm(), want)
				}
			}
			if _, err := os.Stat(filepath.Join(root, "/var/run/secrets/kubernetes.io/serviceaccount/token")); err == nil {
				t.Error("a ServiceAccount token is mounted; the daemon never calls the API")
			}
		})
	}
	t.Run("kubectl logs", func(t *testing.T) {
		logs, err := c.kube.CoreV1().Pods(names.OperandNamespace).GetLogs(pods[0].Name, &corev1.PodLogOptions{}).Do(ctx).Raw()
		if err != nil {
			t.Fatalf("the logs of %s: %v", pods[0].Name, err)
		}
		if !bytes.Contains(logs, []byte("Keeping nftables rules in place")) {
			t.Errorf("the logs of %s do not show the daemon starting:\n%s", pods[0].Name, logs)
		}
	})
	t.Run("kubectl exec", func(t *testing.T) {
		out, err := kubectl(ctx, "exec", "-n", names.OperandNamespace, pods[0].Name, "--", localcluster.DaemonBinary, "--help")
		if err != nil || !strings.Contains(out, "Runs on every control-plane node") {
			t.Errorf("kubectl exec %s -- %s --help: %v\n%s", pods[0].Name, localcluster.DaemonBinary, err, out)
		}
	})
}

// testProbes freezes the proxy of a node that does not hold the API VIP:
// its readiness probe fails, which the DaemonSet and the config's Ready
// condition report, then its liveness probe, and the kubelet restarts it.
func (c *cluster) testProbes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var pod corev1.Pod
	for _, p := range c.readyProxyPods(t, ctx) {
		if n, _ := c.harness.Topology.Node(p.Spec.NodeName); !c.holdsAPIVIP(t, n) {
			pod = p
			break
		}
	}
	if pod.Name == "" {
		t.Fatal("every control-plane node holds an API VIP")
	}
	pid := c.containerPID(t, ctx, pod)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// A restart ends the frozen process; if the test fails before, thaw it.
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	t.Logf("froze the proxy of %s (pid %d)", pod.Spec.NodeName, pid)
	start := time.Now()

	eventually(t, time.Minute, "the readiness probe fails and the DaemonSet counts one node less", func(ctx context.Context) error {
		ds, err := c.daemonSet(ctx)
		if err != nil {
			return err
		}
		if ds.Status.NumberReady != ds.Status.DesiredNumberScheduled-1 {
			return fmt.Errorf("%d of %d ready", ds.Status.NumberReady, ds.Status.DesiredNumberScheduled)
		}
		return nil
	})
	t.Logf("not ready after %v", time.Since(start).Round(time.Second))
	eventually(t, 30*time.Second, "the config's Ready condition says which nodes lack a ready proxy", func(ctx context.Context) error {
		cfg, err := c.configSingleton(ctx)
		if err != nil {
			return err
		}
		ready := meta.FindStatusCondition(cfg.Status.Conditions, "Ready")
		if ready == nil {
			return errors.New("no Ready condition")
		}
		if ready.Reason != "PodsNotReady" || !strings.Contains(ready.Message, "2/3 control-plane nodes ready") {
			return fmt.Errorf("Ready is %s %s: %s", ready.Status, ready.Reason, ready.Message)
		}
		return nil
	})

	// 6 failures 10 s apart, then the kill after the grace period.
	eventually(t, 3*time.Minute, "the liveness probe fails and the kubelet restarts the container", func(ctx context.Context) error {
		p, err := c.kube.CoreV1().Pods(names.OperandNamespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, s := range p.Status.ContainerStatuses {
			if s.RestartCount > 0 && s.Ready {
				return nil
			}
			return fmt.Errorf("restarts %d, ready %v", s.RestartCount, s.Ready)
		}
		return errors.New("no container status")
	})
	t.Logf("restarted and ready again after %v", time.Since(start).Round(time.Second))
	n, _ := c.harness.Topology.Node(pod.Spec.NodeName)
	if tables, err := localcluster.NftTables(n.Netns); err != nil || !slices.Contains(tables, "inet "+rules.TableName) {
		t.Errorf("%s's tables after the restart: %v, %v; want %s", n.Name, tables, err, rules.TableName)
	}
	eventually(t, time.Minute, "the DaemonSet is whole again", func(ctx context.Context) error {
		ds, err := c.daemonSet(ctx)
		if err != nil {
			return err
		}
		return rolledOut(ds)
	})
}

// rolloutWatch records, while a DaemonSet rolls out, how many nodes at
// once had no ready proxy.
type rolloutWatch struct {
	stop chan struct{}
	done chan int
}

// watchRollout polls the proxy pods until stopped.
func (c *cluster) watchRollout(ds *appsv1.DaemonSet) *rolloutWatch {
	w := &rolloutWatch{stop: make(chan struct{}), done: make(chan int, 1)}
	go func() {
		worst := 0
		for {
			select {
			case <-w.stop:
				w.done <- worst
				return
			case <-time.After(200 * time.Millisecond):
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			pods, err := c.proxyPods(ctx, ds)
			cancel()
			if err != nil {
				continue
			}
			readyOn := map[string]bool{}
			for _, p := range pods {
				if podReady(p) && p.DeletionTimestamp == nil {
					readyOn[p.Spec.NodeName] = true
				}
			}
			worst = max(worst, int(ds.Status.DesiredNumberScheduled)-len(readyOn))
		}
	}()
	return w
}

// maxUnready stops the watch and returns its finding.
func (w *rolloutWatch) maxUnready() int {
	close(w.stop)
	return <-w.done
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readyProxyPods waits for the DaemonSet to be rolled out and returns its
// pods.
func (c *cluster) readyProxyPods(t *testing.T, ctx context.Context) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	eventually(t, rolloutTimeout, "the proxy rolled out", func(ctx context.Context) error {
		ds, err := c.daemonSet(ctx)
		if err != nil || ds == nil {
			return fmt.Errorf("no DaemonSet: %v", err)
		}
		if err := rolledOut(ds); err != nil {
			return err
		}
		pods, err = c.proxyPods(ctx, ds)
		return err
	})
	if len(pods) == 0 {
		t.Fatal("the DaemonSet has no pods")
	}
	return pods
}

func (c *cluster) containerPID(t *testing.T, ctx context.Context, pod corev1.Pod) int {
	t.Helper()
	if len(pod.Status.ContainerStatuses) != 1 {
		t.Fatalf("pod %s has %d container statuses", pod.Name, len(pod.Status.ContainerStatuses))
	}
	pid, err := localcluster.ContainerPID(ctx, c.harness, pod.Spec.NodeName, pod.Status.ContainerStatuses[0].ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// procStatus reads /proc/<pid>/status into its fields.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			fields[k] = strings.TrimSpace(v)
		}
	}
	return fields
}

// rootMountOptions are the mount options of the process's root.
func rootMountOptions(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 5 && f[4] == "/" {
			return f[5]
		}
	}
	t.Fatalf("pid %d has no root mount", pid)
	return ""
}

func (c *cluster) holdsAPIVIP(t *testing.T, n localcluster.Node) bool {
	t.Helper()
	out := (&netns.Namespace{Name: n.Netns}).Exec(t, "ip", "-o", "addr")
	return strings.Contains(out, " "+c.harness.Topology.APIVIPs[0].String()+"/")
}

// kubectl runs the kubectl of the tools, or the one on PATH, with the
// suite's KUBECONFIG.
func kubectl(ctx context.Context, args ...string) (string, error) {
	path := os.Getenv("KUBECTL")
	if path == "" {
		path = "kubectl"
	}
	out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
	return string(out), err
}

// wantEveryNodeRedirectsTo checks that the table of every control-plane
// node redirects to port: the new pods reprogrammed them all.
func (c *cluster) wantEveryNodeRedirectsTo(t *testing.T, port int32) {
	t.Helper()
	for _, n := range c.harness.Topology.ControlPlane() {
		out := (&netns.Namespace{Name: n.Netns}).Exec(t, "nft", "list", "table", "inet", rules.TableName)
		if !strings.Contains(out, fmt.Sprintf("redirect to :%d", port)) {
			t.Errorf("%s does not redirect to port %d:\n%s", n.Name, port, out)
		}
	}
}

// testPodSecurity: Pod Security admission admits the proxy's pod in the
// operand namespace, labelled privileged, and only there: the same pod in
// the operator's namespace, labelled restricted, is refused. Dry runs, so
// nothing is created.
func (c *cluster) testPodSecurity(t *testing.T) {
	ctx := ctxFor(t)
	ds, err := c.daemonSet(ctx)
	if err != nil || ds == nil {
		t.Fatalf("reading the DaemonSet: %v", err)
	}
	pod := func(namespace string) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "pod-security-check-", Namespace: namespace, Labels: map[string]string{"e2e": "pod-security"}},
			Spec:       *ds.Spec.Template.Spec.DeepCopy(),
		}
		// Its ServiceAccount exists in the operand namespace only, and
		// Pod Security does not look at it.
		p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "", ""
		return p
	}
	dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	if _, err := c.kube.CoreV1().Pods(names.OperandNamespace).Create(ctx, pod(names.OperandNamespace), dryRun); err != nil {
		t.Errorf("the proxy's pod is not admitted in %s: %v", names.OperandNamespace, err)
	}
	_, err = c.kube.CoreV1().Pods(names.OperatorNamespace).Create(ctx, pod(names.OperatorNamespace), dryRun)
	switch {
	case err == nil:
		t.Errorf("the proxy's pod was admitted in %s, labelled restricted", names.OperatorNamespace)
	case !apierrors.IsForbidden(err):
		t.Errorf("in %s: want Forbidden, got %v", names.OperatorNamespace, err)
	case c.harness != nil && !strings.Contains(err.Error(), `violates PodSecurity "restricted:`):
		t.Errorf("in %s: want Pod Security admission's refusal, got %v", names.OperatorNamespace, err)
	default:
		t.Logf("refused in %s: %v", names.OperatorNamespace, err)
	}
}

// testWithoutNetAdmin runs the proxy's pod, as the DaemonSet renders it,
// with NET_ADMIN taken away and its ports moved off the running proxy's:
// the container fails at once, and its status and log say what is missing.
func (c *cluster) testWithoutNetAdmin(t *testing.T) {
	ctx := ctxFor(t)
	ds, err := c.daemonSet(ctx)
	if err != nil || ds == nil {
		t.Fatalf("reading the DaemonSet: %v", err)
	}
	spec := *ds.Spec.Template.Spec.DeepCopy()
	spec.NodeName = c.harness.Topology.ControlPlane()[len(c.harness.Topology.ControlPlane())-1].Name
	spec.RestartPolicy = corev1.RestartPolicyNever
	ctr := &spec.Containers[0]
	ctr.SecurityContext.Capabilities.Add = nil
	ctr.Ports, ctr.ReadinessProbe, ctr.LivenessProbe = nil, nil, nil
	for i, arg := range ctr.Args {
		switch {
		case strings.HasPrefix(arg, "--listen-port="):
			ctr.Args[i] = "--listen-port=18889"
		case strings.HasPrefix(arg, "--health-listen-address="):
			ctr.Args[i] = "--health-listen-address=127.0.0.1:29449"
		case strings.HasPrefix(arg, "--metrics-listen-address="):
			ctr.Args[i] = "--metrics-listen-address=127.0.0.1:19451"
		}
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "proxy-without-net-admin", Namespace: names.OperandNamespace}, Spec: spec}
	pods := c.kube.CoreV1().Pods(names.OperandNamespace)
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pods.Delete(context.Background(), pod.Name, metav1.DeleteOptions{}) })
	var message string
	eventually(t, time.Minute, "the container fails", func(ctx context.Context) error {
		p, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, s := range p.Status.ContainerStatuses {
			if term := s.State.Terminated; term != nil {
				if term.ExitCode == 0 {
					return fmt.Errorf("exited 0")
				}
				message = term.Message
				return nil
			}
		}
		return fmt.Errorf("phase %s", p.Status.Phase)
	})
	if !strings.Contains(message, "lacks CAP_NET_ADMIN") || !strings.Contains(message, "securityContext.capabilities") {
		t.Errorf("the container's termination message does not name the missing capability and its fix:\n%s", message)
	}
	logs, err := pods.GetLogs(pod.Name, &corev1.PodLogOptions{}).Do(ctx).Raw()
	if err != nil || !bytes.Contains(logs, []byte("lacks CAP_NET_ADMIN")) {
		t.Errorf("kubectl logs: %v\n%s", err, logs)
	}
	n, _ := c.harness.Topology.Node(spec.NodeName)
	out := (&netns.Namespace{Name: n.Netns}).Exec(t, "nft", "list", "table", "inet", rules.TableName)
	if !strings.Contains(out, "redirect to :") {
		t.Errorf("the running proxy's table on %s was touched:\n%s", n.Name, out)
	}
}
