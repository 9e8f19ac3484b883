package configstatus

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	operatorv1 "github.com/openshift/api/operator/v1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/daemonset"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/tlsprofile"
)

var enabled = gate.Decision{
	Enabled:     true,
	Reason:      gate.ReasonAsExpected,
	Message:     "Port 80 of API VIPs [192.0.2.5] is redirected.",
	APIVIPs:     []string{"192.0.2.5"},
	IngressVIPs: []string{"192.0.2.10"},
	Port:        8888,
}

// rendered is the DaemonSet for decision, at generation gen, with status
// counts observed at observed.
func rendered(t *testing.T, decision gate.Decision, gen, observed int64, desired, updated, ready int32) *appsv1.DaemonSet {
	t.Helper()
	ds, err := daemonset.Render(decision, "image", operatorv1.Normal, tlsprofile.FromAPIServer(nil))
	if err != nil {
		t.Fatal(err)
	}
	ds.Generation = gen
	ds.Status = appsv1.DaemonSetStatus{
		ObservedGeneration:     observed,
		DesiredNumberScheduled: desired,
		UpdatedNumberScheduled: updated,
		NumberReady:            ready,
		NumberAvailable:        ready,
	}
	return ds
}

func TestDesiredStatus(t *testing.T) {
	otherPort := enabled
	otherPort.Port = 18080

	tests := []struct {
		name       string
		decision   gate.Decision
		ds         func(t *testing.T) *appsv1.DaemonSet
		wantStatus metav1.ConditionStatus
		wantReason string
		wantMsg    []string
		wantNodes  [2]int32 // desired, ready
	}{
		{
			name:       "disabled by the admin: the gate's reason and what to do",
			decision:   gate.Decision{Reason: gate.ReasonDisabledByConfiguration, Message: "Set spec.mode to DefaultDeployment"},
			ds:         func(*testing.T) *appsv1.DaemonSet { return nil },
			wantStatus: metav1.ConditionFalse,
			wantReason: gate.ReasonDisabledByConfiguration,
			wantMsg:    []string{"Set spec.mode to DefaultDeployment"},
		},
		{
			name:       "removed: the gate's reason and what to do",
			decision:   gate.Removed(),
			ds:         func(*testing.T) *appsv1.DaemonSet { return nil },
			wantStatus: metav1.ConditionFalse,
			wantReason: gate.ReasonRemoved,
			wantMsg:    []string{"Set it to Managed"},
		},
		{
			name:       "missing VIPs: the gate's reason, and the DaemonSet left over is not counted",
			decision:   gate.Decision{Reason: gate.ReasonMissingVIPs, Message: "needs both API and ingress VIPs"},
			ds:         func(t *testing.T) *appsv1.DaemonSet { return rendered(t, enabled, 1, 1, 3, 3, 3) },
			wantStatus: metav1.ConditionFalse,
			wantReason: gate.ReasonMissingVIPs,
			wantMsg:    []string{"needs both API and ingress VIPs"},
		},
		{
			name:       "enabled, DaemonSet not created yet",
			decision:   enabled,
			ds:         func(*testing.T) *appsv1.DaemonSet { return nil },
			wantStatus: metav1.ConditionFalse,
			wantReason: ReasonRollingOut,
			wantMsg:    []string{"Applying", "port 8888"},
		},
		{
			name:       "enabled, cache still holds the DaemonSet of the previous port",
			decision:   otherPort,
			ds:         func(t *testing.T) *appsv1.DaemonSet { return rendered(t, enabled, 1, 1, 3, 3, 3) },
			wantStatus: metav1.ConditionFalse,
			wantReason: ReasonRollingOut,
			wantMsg:    []string{"port 18080"},
			wantNodes:  [2]int32{3, 3},
		},
		{
			name:       "rolling out: two of three updated",
			decision:   enabled,
			ds:         func(t *testing.T) *appsv1.DaemonSet { return rendered(t, enabled, 2, 2, 3, 2, 2) },
			wantStatus: metav1.ConditionFalse,
			wantReason: ReasonRollingOut,
			wantMsg:    []string{"2/3 control-plane nodes ready", "2/3 nodes updated"},
			wantNodes:  [2]int32{3, 2},
		},
		{
			name:       "new generation not observed yet",
			decision:   enabled,
			ds:         func(t *testing.T) *appsv1.DaemonSet { return rendered(t, enabled, 2, 1, 3, 3, 3) },
			wantStatus: metav1.ConditionFalse,
			wantReason: ReasonRollingOut,
			wantNodes:  [2]int32{3, 3},
		},
		{
			name:       "rolled out, one node not ready",
			decision:   enabled,
			ds:         func(t *testing.T) *appsv1.DaemonSet { return rendered(t, enabled, 1, 1, 3, 3, 2) },
			wantStatus: metav1.ConditionFalse,
			wantReason: ReasonPodsNotReady,
			wantMsg:    []string{"2/3 control-plane nodes ready", "check the pods"},
			wantNodes:  [2]int32{3, 2},
		},
		{
			name:       "no control-plane nodes",
			decision:   enabled,
			ds:         func(t *testing.T) *appsv1.DaemonSet { return rendered(t, enabled, 1, 1, 0, 0, 0) },
			wantStatus: metav1.ConditionFalse,
			wantReason: ReasonNoControlPlaneNodes,
			wantMsg:    []string{"node-role.kubernetes.io/master"},
		},
		{
			name:       "all ready",
			decision:   enabled,
			ds:         func(t *testing.T) *appsv1.DaemonSet { return rendered(t, enabled, 1, 1, 3, 3, 3) },
			wantStatus: metav1.ConditionTrue,
			wantReason: ReasonAsExpected,
			wantMsg:    []string{"3/3 control-plane nodes ready", enabled.Message},
			wantNodes:  [2]int32{3, 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DesiredStatus(7, tt.decision, tt.ds(t))

			if got.ObservedGeneration != 7 {
				t.Errorf("observedGeneration = %d, want 7", got.ObservedGeneration)
			}
			if len(got.Conditions) != 1 {
				t.Fatalf("conditions = %+v, want exactly Ready", got.Conditions)
			}
			ready := got.Conditions[0]
			if ready.Type != ConditionReady || ready.Status != tt.wantStatus || ready.Reason != tt.wantReason || ready.ObservedGeneration != 7 {
				t.Errorf("Ready = %s/%s (generation %d), want %s/%s (generation 7)", ready.Status, ready.Reason, ready.ObservedGeneration, tt.wantStatus, tt.wantReason)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(ready.Message, m) {
					t.Errorf("Ready message %q does not contain %q", ready.Message, m)
				}
			}
			if got.DesiredNodes != tt.wantNodes[0] || got.ReadyNodes != tt.wantNodes[1] {
				t.Errorf("nodes = %d desired, %d ready; want %d, %d", got.DesiredNodes, got.ReadyNodes, tt.wantNodes[0], tt.wantNodes[1])
			}

			if tt.decision.Enabled {
				if diff := cmp.Diff(tt.decision.APIVIPs, got.APIServerVIPs); diff != "" {
					t.Errorf("apiServerVIPs (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(tt.decision.IngressVIPs, got.IngressVIPs); diff != "" {
					t.Errorf("ingressVIPs (-want +got):\n%s", diff)
				}
				if got.InternalPort != tt.decision.Port {
					t.Errorf("internalPort = %d, want %d", got.InternalPort, tt.decision.Port)
				}
			} else if got.APIServerVIPs != nil || got.IngressVIPs != nil || got.InternalPort != 0 {
				t.Errorf("disabled status reports what it does not act on: %+v", got)
			}
		})
	}
}

func TestUnmanagedStatus(t *testing.T) {
	current := DesiredStatus(3, enabled, rendered(t, enabled, 1, 1, 3, 3, 3))
	got := UnmanagedStatus(4, current)

	if got.ObservedGeneration != 4 {
		t.Errorf("observedGeneration = %d, want the new generation 4", got.ObservedGeneration)
	}
	if len(got.Conditions) != 1 {
		t.Fatalf("conditions = %+v, want exactly Ready", got.Conditions)
	}
	ready := got.Conditions[0]
	if ready.Type != ConditionReady || ready.Status != metav1.ConditionUnknown || ready.Reason != ReasonUnmanaged || ready.ObservedGeneration != 4 {
		t.Errorf("Ready = %s/%s (generation %d), want Unknown/%s (generation 4)", ready.Status, ready.Reason, ready.ObservedGeneration, ReasonUnmanaged)
	}
	if !strings.Contains(ready.Message, "Set managementState to Managed") {
		t.Errorf("Ready message %q does not say how to get out of Unmanaged", ready.Message)
	}
	// What was last acted on stays.
	want := current.DeepCopy()
	want.ObservedGeneration, want.Conditions = got.ObservedGeneration, got.Conditions
	if diff := cmp.Diff(*want, got); diff != "" {
		t.Errorf("status (-last acted on +got):\n%s", diff)
	}
	// And the current status is not changed under the caller.
	if current.ObservedGeneration != 3 || current.Conditions[0].Reason != ReasonAsExpected {
		t.Errorf("UnmanagedStatus changed its input: %+v", current)
	}
}

func TestKeepTransitionTimes(t *testing.T) {
	then := metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	current := []metav1.Condition{{Type: ConditionReady, Status: metav1.ConditionFalse, LastTransitionTime: then}}

	same := []metav1.Condition{{Type: ConditionReady, Status: metav1.ConditionFalse, Reason: "Other"}}
	keepTransitionTimes(same, current, now)
	if !same[0].LastTransitionTime.Equal(&then) {
		t.Errorf("unchanged status: transition time %v, want the current %v", same[0].LastTransitionTime, then)
	}

	flipped := []metav1.Condition{{Type: ConditionReady, Status: metav1.ConditionTrue}}
	keepTransitionTimes(flipped, current, now)
	if !flipped[0].LastTransitionTime.Time.Equal(now) {
		t.Errorf("changed status: transition time %v, want now %v", flipped[0].LastTransitionTime, now)
	}

	fresh := []metav1.Condition{{Type: ConditionReady, Status: metav1.ConditionTrue}}
	keepTransitionTimes(fresh, nil, now)
	if !fresh[0].LastTransitionTime.Time.Equal(now) {
		t.Errorf("new condition: transition time %v, want now %v", fresh[0].LastTransitionTime, now)
	}
}
