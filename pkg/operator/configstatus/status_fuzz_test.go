package configstatus

import (
	"encoding/json"
	"regexp"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate/gatefuzz"
)

// conditionReason is what the API server accepts as a condition's reason.
var conditionReason = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`)

// daemonSetSeeds: absent, rolled out, rolling out, and one that runs nowhere.
var daemonSetSeeds = []string{
	`null`,
	`{"metadata":{"generation":2},"spec":{"template":{"spec":{"containers":[{"name":"proxy","args":["--api-vips=192.0.2.5,2001:db8::5","--ingress-vips=192.0.2.10,2001:db8::10","--listen-port=8888"]}]}}},` +
		`"status":{"observedGeneration":2,"desiredNumberScheduled":3,"updatedNumberScheduled":3,"numberReady":3}}`,
	`{"metadata":{"generation":3},"status":{"observedGeneration":2,"desiredNumberScheduled":3,"updatedNumberScheduled":1,"numberReady":2}}`,
	`{"spec":{"template":{"spec":{"containers":[{"name":"proxy"}]}}},"status":{"desiredNumberScheduled":0}}`,
}

// FuzzDesiredStatus feeds the config status the gate's decision for arbitrary
// Infrastructure and config objects and an arbitrary DaemonSet. No input may
// panic, and the status must be one the API server accepts.
func FuzzDesiredStatus(f *testing.F) {
	for i, s := range gatefuzz.Seeds {
		f.Add([]byte(s.Infrastructure), []byte(s.Config), []byte(daemonSetSeeds[i%len(daemonSetSeeds)]), int64(i))
	}
	f.Fuzz(func(t *testing.T, infraJSON, configJSON, daemonSetJSON []byte, generation int64) {
		var ds *appsv1.DaemonSet
		_ = json.Unmarshal(daemonSetJSON, &ds)
		decision := gatefuzz.Decide(infraJSON, configJSON)

		status := DesiredStatus(generation, decision, ds)

		ready := onlyReady(t, status, generation)
		if (ready.Status == metav1.ConditionTrue) != (ready.Reason == ReasonAsExpected) {
			t.Errorf("Ready=%s with reason %s", ready.Status, ready.Reason)
		}
		if !decision.Enabled && ready.Reason != decision.Reason {
			t.Errorf("a disabled proxy's Ready reason is %s, not the gate's %s", ready.Reason, decision.Reason)
		}
	})
}

// FuzzUnmanagedStatus: whatever the current status holds, the Unmanaged one
// keeps it and says Unknown.
func FuzzUnmanagedStatus(f *testing.F) {
	f.Add([]byte(`{}`), int64(1))
	f.Add([]byte(`{"conditions":[{"type":"Ready","status":"True","reason":"AsExpected"}],"apiServerVIPs":["192.0.2.5"],"internalPort":8888,"readyNodes":3}`), int64(4))
	f.Fuzz(func(t *testing.T, currentJSON []byte, generation int64) {
		var current configv1alpha1.HTTP01ChallengeProxyStatus
		_ = json.Unmarshal(currentJSON, &current)

		status := UnmanagedStatus(generation, current)

		if ready := onlyReady(t, status, generation); ready.Status != metav1.ConditionUnknown {
			t.Errorf("Unmanaged Ready=%s, want Unknown", ready.Status)
		}
		if status.InternalPort != current.InternalPort || len(status.APIServerVIPs) != len(current.APIServerVIPs) {
			t.Errorf("Unmanaged status dropped what the operator last acted on: %+v, was %+v", status, current)
		}
	})
}

func onlyReady(t *testing.T, status configv1alpha1.HTTP01ChallengeProxyStatus, generation int64) metav1.Condition {
	t.Helper()
	if status.ObservedGeneration != generation {
		t.Errorf("observedGeneration %d, want %d", status.ObservedGeneration, generation)
	}
	if len(status.Conditions) != 1 || status.Conditions[0].Type != ConditionReady {
		t.Fatalf("want exactly the Ready condition, got %+v", status.Conditions)
	}
	ready := status.Conditions[0]
	if !conditionReason.MatchString(ready.Reason) || ready.Message == "" || ready.ObservedGeneration != generation {
		t.Errorf("Ready condition the API server would refuse or that says nothing: %+v", ready)
	}
	return ready
}
