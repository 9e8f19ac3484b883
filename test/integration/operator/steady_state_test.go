//go:build integration

package operator

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	configv1 "github.com/openshift/api/config/v1"
	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
)

// idleWindow is how long a converged operator must make no writes. It spans
// the one-minute resync of the status and static resource controllers.
const idleWindow = 60 * time.Second

// restartWindow is how long a restarted operator is watched for changes:
// every controller's first sync and a retry.
const restartWindow = 5 * time.Second

// TestSteadyState converges the operator, restarts it, and leaves it idle:
// neither may change anything. Both converged states are covered, each on
// its own API server and in parallel, and in parallel with the other tests
// that mostly wait.
func TestSteadyState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		spec     configv1alpha1.HTTP01ChallengeProxySpec
		converge func(e *env)
		want     want
	}{
		{
			name: "enabled",
			spec: defaultDeployment,
			converge: func(e *env) {
				e.rollOutOnceCreated()
			},
			want: conditions("Available", "True", "Progressing", "False", "Degraded", "False", "Disabled", "False").withVersion(releaseV1),
		},
		{
			name:     "disabled",
			spec:     disabledSpec,
			converge: func(*env) {},
			want:     conditions("Available", "True", "Progressing", "False", "Degraded", "False", "Disabled", "True").withVersion(releaseV1),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.setInfrastructure(bareMetal())
			e.setConfig(tt.spec)
			first := e.startOperator()
			tt.converge(e)
			e.eventually("convergence", e.clusterOperatorIs(tt.want))
			e.waitQuiet(first)
			before := e.snapshot()

			first.stop()
			second := e.startOperator()

			t.Run("a restart rolls nothing and transitions nothing", func(t *testing.T) {
				// Long enough for every controller's first sync and a retry.
				time.Sleep(restartWindow)
				if err := second.exitedEarly(); err != nil {
					t.Fatal(err)
				}
				writes := second.writes.since(0)
				if len(writes) != 0 {
					t.Errorf("the restarted operator wrote:\n%v", writes)
				}
				after := e.snapshot()
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("state changed across the restart (-before +after):\n%s", diff)
				}
				t.Logf("restart: %d writes in the first %v; %s", len(writes), restartWindow, after)
			})

			t.Run("a converged operator makes no writes", func(t *testing.T) {
				n := second.writes.count()
				time.Sleep(idleWindow)
				writes := second.writes.since(n)
				if len(writes) != 0 {
					t.Errorf("%d writes in %s of idling:\n%v", len(writes), idleWindow, writes)
				}
				after := e.snapshot()
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("state changed while idle (-before +after):\n%s", diff)
				}
				t.Logf("idle: %d writes in %v; %s", len(writes), idleWindow, after)
			})
		})
	}
}

// waitQuiet waits until op has made no write for a few seconds, so that a
// measurement starts after convergence.
func (e *env) waitQuiet(op *runningOperator) {
	e.t.Helper()
	const quiet = 3 * time.Second
	last, since := op.writes.count(), time.Now()
	deadline := time.Now().Add(waitTimeout)
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			e.t.Fatalf("the operator kept writing: %v", op.writes.since(max(0, op.writes.count()-10)))
		}
		time.Sleep(200 * time.Millisecond)
		if n := op.writes.count(); n != last {
			last, since = n, time.Now()
		}
	}
}

// stateSnapshot is what a restart or idling must not change: the
// DaemonSet's generation (a new one is a rollout) and every condition's
// status and transition time.
type stateSnapshot struct {
	DaemonSetGeneration int64
	DaemonSetVersion    string
	ClusterOperator     map[configv1.ClusterStatusConditionType]string
	Versions            []configv1.OperandVersion
	Operator            map[string]string
	Config              map[string]string
}

func (e *env) snapshot() stateSnapshot {
	e.t.Helper()
	ds, err := e.daemonSet()
	if apierrors.IsNotFound(err) {
		ds = &appsv1.DaemonSet{}
	} else if err != nil {
		e.t.Fatal(err)
	}
	co, err := e.clusterOperator()
	if err != nil {
		e.t.Fatal(err)
	}
	s := stateSnapshot{
		DaemonSetGeneration: ds.Generation,
		DaemonSetVersion:    ds.ResourceVersion,
		ClusterOperator:     map[configv1.ClusterStatusConditionType]string{},
		Versions:            co.Status.Versions,
		Operator:            map[string]string{},
		Config:              map[string]string{},
	}
	for _, c := range co.Status.Conditions {
		s.ClusterOperator[c.Type] = transition(string(c.Status), c.LastTransitionTime)
	}
	for _, c := range e.operatorStatus().Conditions {
		s.Operator[c.Type] = transition(string(c.Status), c.LastTransitionTime)
	}
	for _, c := range e.configStatus().Conditions {
		s.Config[c.Type] = transition(string(c.Status), c.LastTransitionTime)
	}
	return s
}

// String is what the log says was measured: the DaemonSet's generation
// and resource version, and each condition with its last transition.
func (s stateSnapshot) String() string {
	return fmt.Sprintf("DaemonSet generation %d (resourceVersion %q); ClusterOperator %v; versions %v; operator resource %v; config %v",
		s.DaemonSetGeneration, s.DaemonSetVersion, s.ClusterOperator, s.Versions, s.Operator, s.Config)
}

func transition(status string, at metav1.Time) string {
	return fmt.Sprintf("%s since %s", status, at.UTC().Format(time.RFC3339))
}
