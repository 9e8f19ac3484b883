//go:build integration

package operator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

const (
	// apiServerOutage is how long kube-apiserver stays down: what OpenShift
	// asks every component to ride out without a restart, and what
	// library-go's leader election durations are chosen for.
	apiServerOutage = 60 * time.Second
	// recoveryTimeout bounds the waits after the outage. client-go's
	// informers back off up to 30 s between attempts while the server is
	// down, and the leader renews its lease every 26 s.
	recoveryTimeout = 2 * time.Minute
	// leaseName is library-go's leader election lock: the component name
	// and "-lock".
	leaseName = names.OperatorName + "-lock"
)

// TestAPIServerOutage stops kube-apiserver for a minute under the real
// operator binary, with leader election, and a real daemon started with the
// arguments the operator rendered. Neither may crash, the data plane keeps
// serving challenges throughout, nothing the operator deployed is deleted,
// and the operator acts on the first change made after the outage.
func TestAPIServerOutage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.setInfrastructure(bareMetal(withVIPs(dataPlaneAPIVIPs, dataPlaneIngressVIPs)))
	e.setConfig(defaultDeployment)
	op := e.startOperatorProcess()

	e.rollOutOnceCreated()
	e.eventually("convergence", e.clusterOperatorIs(
		conditions("Available", "True", "Progressing", "False", "Degraded", "False", "Disabled", "False").withVersion(releaseV1)))
	e.eventually("the operand resources", e.operandResourcesAre(true))
	t.Logf("leader election: %s", op.logLine("The leader election gives"))
	before := e.operandIdentities()
	leaderBefore := e.lease()

	ds, err := e.daemonSet()
	if err != nil {
		t.Fatal(err)
	}
	dp := startDataPlane(t, ds)
	dataPlaneServes := func(when string) {
		t.Run("the data plane serves challenges "+when, func(t *testing.T) {
			if dp == nil {
				t.Skip("needs root: network namespaces and nftables (CI runs as root)")
			}
			dp.challengeReachesRouter(t)
		})
	}
	dataPlaneServes("before the outage")

	// kube-apiserver stops answering at once on SIGTERM, and takes a while
	// to drain and exit; the outage counts from the first request it
	// fails.
	stopped := make(chan error, 1)
	go func() { stopped <- e.srv.StopAPIServer() }()
	e.eventually("kube-apiserver to stop answering", e.apiServerDown)
	down := time.Now()
	dataPlaneServes("right after kube-apiserver stopped answering")
	if err := <-stopped; err != nil {
		t.Fatalf("stopping kube-apiserver: %v", err)
	}
	t.Logf("kube-apiserver exited %v after it stopped answering", time.Since(down).Round(time.Millisecond))
	// The outage is the fault being injected, not a wait for a result.
	time.Sleep(apiServerOutage - time.Since(down))
	if err := op.exited(); err != nil {
		t.Fatalf("during the outage: %v", err)
	}
	dataPlaneServes(fmt.Sprintf("after %v without kube-apiserver", apiServerOutage))

	starting := time.Now()
	if err := e.srv.StartAPIServer(); err != nil {
		t.Fatalf("starting kube-apiserver again: %v", err)
	}
	back := time.Now()
	t.Logf("kube-apiserver answered no request for %v (%v stopped, then started until ready)", back.Sub(down).Round(time.Millisecond), apiServerOutage)

	t.Run("the operator keeps its leadership and runs on", func(t *testing.T) {
		var renewed time.Time
		e.eventuallyWithin(recoveryTimeout, "the leader to renew its lease", func() error {
			if err := op.exited(); err != nil {
				return stop(err)
			}
			l := e.lease()
			if l.holder != leaderBefore.holder {
				return stop(fmt.Errorf("the lease moved from %s to %s", leaderBefore.holder, l.holder))
			}
			// No renewal can succeed before kube-apiserver starts again.
			if !l.renewed.After(starting) {
				return fmt.Errorf("last renewed at %v, before kube-apiserver was started again", l.renewed)
			}
			renewed = l.renewed
			return nil
		})
		t.Logf("recovery: the leader renewed its lease %v after kube-apiserver was ready again, and kept it", renewed.Sub(back).Round(time.Millisecond))
		if err := op.exited(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a change after the outage is acted on", func(t *testing.T) {
		changed := time.Now()
		e.setConfig(customPort(18080))
		e.eventuallyWithin(recoveryTimeout, "the DaemonSet to listen on 18080", func() error {
			ds, err := e.daemonSet()
			if err != nil {
				return err
			}
			if !slices.Contains(proxyArgs(ds), "--listen-port=18080") {
				return fmt.Errorf("args %v", proxyArgs(ds))
			}
			return nil
		})
		applied := time.Now()
		e.rollOut(3, 3, 3)
		e.eventuallyWithin(recoveryTimeout, "the rollout to be reported", e.clusterOperatorIs(
			conditions("Available", "True", "Progressing", "False", "Degraded", "False", "Disabled", "False")))
		t.Logf("recovery: a change made %v after kube-apiserver was ready again was applied %v later; converged %v after kube-apiserver was ready again",
			changed.Sub(back).Round(time.Millisecond), applied.Sub(changed).Round(time.Millisecond), time.Since(back).Round(time.Millisecond))
		if err := op.exited(); err != nil {
			t.Fatal(err)
		}
	})

	// Checked once the operator has acted on the change, so that its caches
	// are known to be fresh again: only the change's new DaemonSet
	// generation differs.
	t.Run("nothing was deleted or recreated", func(t *testing.T) {
		want := maps.Clone(before)
		ds := want[daemonSetName]
		ds.Generation++
		want[daemonSetName] = ds
		if diff := cmp.Diff(want, e.operandIdentities()); diff != "" {
			t.Errorf("operand objects across the outage (-expected +now):\n%s", diff)
		}
		t.Logf("same UIDs, and generations, for %v", sortedNames(before))
	})
}

// TestVIPsRemovedWhileEnabled edits the Infrastructure of a cluster running
// the proxy so that it has no VIPs any more. The proxy must end up cleanly
// disabled: the DaemonSet and every operand resource gone, none left
// half-deleted, and MissingVIPs on the ClusterOperator and the config status.
func TestVIPsRemovedWhileEnabled(t *testing.T) {
	e := newEnv(t)
	e.setInfrastructure(bareMetal())
	e.setConfig(defaultDeployment)
	op := e.startOperator()
	e.rollOutOnceCreated()
	e.eventually("the proxy to run", e.clusterOperatorIs(conditions("Disabled", "False", "Available", "True", "Progressing", "False")))
	e.eventually("the operand resources", e.operandResourcesAre(true))

	e.setInfrastructure(bareMetal(withVIPs(nil, nil)))
	recovered := e.eventuallyWithin(waitTimeout, "a clean disabled state", func() error {
		if err := daemonSetGone(e)(); err != nil {
			return err
		}
		if err := e.operandResourcesAre(false)(); err != nil {
			return err
		}
		if err := e.clusterOperatorIs(conditions(
			"Disabled", "True/"+gate.ReasonMissingVIPs, "Available", "True", "Progressing", "False", "Degraded", "False"))(); err != nil {
			return err
		}
		s := e.configStatus()
		ready := findCondition(s.Conditions, "Ready")
		if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != gate.ReasonMissingVIPs {
			return fmt.Errorf("config Ready = %+v, want False/%s", ready, gate.ReasonMissingVIPs)
		}
		if len(s.APIServerVIPs)+len(s.IngressVIPs) != 0 || s.InternalPort != 0 || s.DesiredNodes != 0 {
			return fmt.Errorf("the config status still reports a deployment: %+v", s)
		}
		return nil
	})
	t.Logf("recovery: clean disabled state (DaemonSet and %d operand objects gone, MissingVIPs reported) %v after the Infrastructure lost its VIPs",
		len(operandObjects), recovered.Round(time.Millisecond))

	// The final state, once more, after the operator has stopped writing:
	// still nothing left, nothing recreated.
	e.waitQuiet(op)
	if err := daemonSetGone(e)(); err != nil {
		t.Errorf("final state: %v", err)
	}
	if err := e.operandResourcesAre(false)(); err != nil {
		t.Errorf("final state: %v", err)
	}
	ready := findCondition(e.configStatus().Conditions, "Ready")
	t.Logf("config status Ready=%s/%s: %s", ready.Status, ready.Reason, ready.Message)
	e.logClusterOperator("the Infrastructure lost its VIPs")
}

// eventuallyWithin is eventually with its own timeout, for waits that are
// slower by design. It returns how long the check took to pass. A check
// that returns stop(err) fails the test at once.
func (e *env) eventuallyWithin(timeout time.Duration, what string, check func() error) time.Duration {
	e.t.Helper()
	start := time.Now()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), pollInterval, timeout, true, func(context.Context) (bool, error) {
		last = check()
		var fatal stopError
		if errors.As(last, &fatal) {
			return false, last
		}
		return last == nil, nil
	})
	if err != nil {
		e.t.Fatalf("waiting for %s: %v", what, last)
	}
	return time.Since(start)
}

// stopError is a check's error that no amount of waiting can fix.
type stopError struct{ error }

func stop(err error) error { return stopError{err} }

// apiServerDown is a check for eventually: nil once a request to
// kube-apiserver fails.
func (e *env) apiServerDown() error {
	cfg := e.srv.RESTConfig()
	cfg.Timeout = 2 * time.Second
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return stop(err)
	}
	if err := client.Discovery().RESTClient().Get().AbsPath("/readyz").Do(e.ctx()).Error(); err != nil {
		return nil
	}
	return errors.New("kube-apiserver still answers")
}

// leaseState is the leader election lock as the API server has it.
type leaseState struct {
	holder  string
	renewed time.Time
}

func (e *env) lease() leaseState {
	e.t.Helper()
	l, err := e.kube.CoordinationV1().Leases(names.OperatorNamespace).Get(e.ctx(), leaseName, metav1.GetOptions{})
	if err != nil {
		e.t.Fatalf("reading lease %s: %v", leaseName, err)
	}
	s := leaseState{}
	if l.Spec.HolderIdentity != nil {
		s.holder = *l.Spec.HolderIdentity
	}
	if l.Spec.RenewTime != nil {
		s.renewed = l.Spec.RenewTime.Time
	}
	return s
}
