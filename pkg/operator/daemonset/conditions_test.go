package daemonset

import (
	"strings"
	"testing"

	operatorv1 "github.com/openshift/api/operator/v1"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
)

// dsStatus is a DaemonSet at generation gen with the given status counts.
func dsStatus(gen, observed int64, desired, updated, available int32) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Generation: gen},
		Status: appsv1.DaemonSetStatus{
			ObservedGeneration:     observed,
			DesiredNumberScheduled: desired,
			CurrentNumberScheduled: desired,
			UpdatedNumberScheduled: updated,
			NumberReady:            available,
			NumberAvailable:        available,
			NumberUnavailable:      desired - available,
		},
	}
}

// want is a compact expectation: "True/Reason" per condition type.
type want struct{ available, progressing, degraded, upgradeable string }

func summarize(conds []operatorv1.OperatorCondition) want {
	get := func(t string) string {
		for _, c := range conds {
			if c.Type == t {
				return string(c.Status) + "/" + c.Reason
			}
		}
		return "missing"
	}
	return want{get(ConditionAvailable), get(ConditionProgressing), get(ConditionDegraded), get(ConditionUpgradeable)}
}

// isAbnormal is what an admin would ask about: not available, progressing,
// degraded or not upgradeable.
func isAbnormal(c operatorv1.OperatorCondition) bool {
	good := operatorv1.ConditionFalse
	if c.Type == ConditionAvailable || c.Type == ConditionUpgradeable {
		good = operatorv1.ConditionTrue
	}
	return c.Status != good
}

func TestEnabledConditions(t *testing.T) {
	tests := []struct {
		name   string
		ds     *appsv1.DaemonSet
		want   want
		rolled bool
	}{
		{
			name: "just created, not yet observed",
			ds:   dsStatus(1, 0, 0, 0, 0),
			want: want{"True/AsExpected", "True/RollingOut", "False/AsExpected", "True/AsExpected"},
		},
		{
			name: "observed, pods scheduled, none ready (or every proxy fails): degraded, never unavailable",
			ds:   dsStatus(1, 1, 3, 3, 0),
			want: want{"True/AsExpected", "False/AsExpected", "True/NoPodsAvailable", "True/AsExpected"},
			// Every pod runs the current template: readiness is Degraded's.
			rolled: true,
		},
		{
			name:   "first pod ready",
			ds:     dsStatus(1, 1, 3, 3, 1),
			want:   want{"True/AsExpected", "False/AsExpected", "True/PodsUnavailable", "True/AsExpected"},
			rolled: true,
		},
		{
			name:   "all ready: rolled out",
			ds:     dsStatus(1, 1, 3, 3, 3),
			want:   want{"True/AsExpected", "False/AsExpected", "False/AsExpected", "True/AsExpected"},
			rolled: true,
		},
		{
			name:   "a node reboots: not progressing, still available",
			ds:     dsStatus(1, 1, 3, 3, 2),
			want:   want{"True/AsExpected", "False/AsExpected", "True/PodsUnavailable", "True/AsExpected"},
			rolled: true,
		},
		{
			name:   "a node reboots on a single-node cluster: degraded, still available",
			ds:     dsStatus(1, 1, 1, 1, 0),
			want:   want{"True/AsExpected", "False/AsExpected", "True/NoPodsAvailable", "True/AsExpected"},
			rolled: true,
		},
		{
			name: "no control-plane node to run on",
			ds:   dsStatus(1, 1, 0, 0, 0),
			want: want{"True/AsExpected", "False/AsExpected", "True/NoControlPlaneNodes", "True/AsExpected"},
			// Nothing to roll out to is rolled out: the version must not
			// wait forever on a cluster whose nodes are all being replaced.
			rolled: true,
		},
		{
			name: "new generation applied, not yet observed",
			ds:   dsStatus(2, 1, 3, 3, 3),
			want: want{"True/AsExpected", "True/RollingOut", "False/AsExpected", "True/AsExpected"},
		},
		{
			name: "new generation applied while a node is down: still degraded, so the inertia carries on",
			ds:   dsStatus(2, 1, 3, 3, 2),
			want: want{"True/AsExpected", "True/RollingOut", "True/PodsUnavailable", "True/AsExpected"},
		},
		{
			name: "new generation rolling: one node updated and restarting",
			ds:   dsStatus(2, 2, 3, 1, 2),
			want: want{"True/AsExpected", "True/RollingOut", "True/PodsUnavailable", "True/AsExpected"},
		},
		{
			name: "new generation on every node, one master down for repair: rolled out, degraded",
			ds:   dsStatus(2, 2, 3, 3, 2),
			want: want{"True/AsExpected", "False/AsExpected", "True/PodsUnavailable", "True/AsExpected"},
			// The version is reported; one broken node does not hold the upgrade.
			rolled: true,
		},
		{
			name: "a control-plane node is added: rolling out to it",
			ds:   dsStatus(1, 1, 4, 3, 3),
			want: want{"True/AsExpected", "True/RollingOut", "True/PodsUnavailable", "True/AsExpected"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conds := EnabledConditions(tt.ds)
			if got := summarize(conds); got != tt.want {
				t.Errorf("conditions = %+v, want %+v", got, tt.want)
			}
			for _, c := range conds {
				if isAbnormal(c) && c.Message == "" {
					t.Errorf("%s=%s has no message; say what is happening", c.Type, c.Status)
				}
			}
			if got := RolledOut(tt.ds); got != tt.rolled {
				t.Errorf("RolledOut() = %v, want %v", got, tt.rolled)
			}
		})
	}
}

func TestEnabledConditionMessagesCountNodes(t *testing.T) {
	conds := EnabledConditions(dsStatus(2, 2, 3, 1, 2))
	for _, c := range conds {
		switch c.Type {
		case ConditionAvailable:
			if !strings.Contains(c.Message, "2 of 3") {
				t.Errorf("Available message %q does not count ready nodes", c.Message)
			}
		case ConditionProgressing:
			if !strings.Contains(c.Message, "1 of 3") {
				t.Errorf("Progressing message %q does not count updated nodes", c.Message)
			}
		case ConditionDegraded:
			if !strings.Contains(c.Message, "1 of 3") || !strings.Contains(c.Message, "openshift-http01-challenge-proxy/http01-challenge-proxy") {
				t.Errorf("Degraded message %q does not say how many nodes and where to look", c.Message)
			}
		}
	}
}

func TestDisabledConditions(t *testing.T) {
	tests := []struct {
		name     string
		decision gate.Decision
		want     want
	}{
		{
			name:     "off by the gate",
			decision: gate.Decision{Reason: gate.ReasonUnsupportedPlatform, Message: "not bare metal"},
			want:     want{"True/Disabled", "False/Disabled", "False/Disabled", "True/AsExpected"},
		},
		{
			name:     "removed by the admin",
			decision: gate.Removed(),
			want:     want{"True/Removed", "False/Removed", "False/Removed", "True/AsExpected"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conds := DisabledConditions(tt.decision)
			if got := summarize(conds); got != tt.want {
				t.Errorf("conditions = %+v, want %+v", got, tt.want)
			}
			if conds[0].Message != tt.decision.Message {
				t.Errorf("Available message = %q, want the gate's %q", conds[0].Message, tt.decision.Message)
			}
		})
	}
}

func TestRolledOutWaitsForTheController(t *testing.T) {
	if RolledOut(dsStatus(1, 0, 0, 0, 0)) {
		t.Errorf("RolledOut() = true for a DaemonSet the controller has not observed")
	}
	if RolledOut(dsStatus(2, 1, 3, 3, 3)) {
		t.Errorf("RolledOut() = true with counts of the previous generation")
	}
}
