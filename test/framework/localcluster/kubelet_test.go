package localcluster

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestSetprivArgs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sc    *corev1.SecurityContext
		podSC *corev1.PodSecurityContext
		want  []string
	}{
		{"no security context", nil, nil, []string{"setpriv", "--"}},
		{"drop ALL, add NET_ADMIN, no escalation", &corev1.SecurityContext{
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}, Add: []corev1.Capability{"NET_ADMIN", "CAP_NET_RAW"}},
			AllowPrivilegeEscalation: ptr.To(false),
		}, nil, []string{"setpriv", "--bounding-set=-all,+net_admin,+net_raw", "--inh-caps=-all,+net_admin,+net_raw", "--no-new-privs", "--"}},
		// Without drop ALL the container keeps the runtime's default set,
		// which the local cluster does not model: root keeps its own.
		{"add without drop ALL", &corev1.SecurityContext{
			Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}},
		}, nil, []string{"setpriv", "--"}},
		{"runAsUser 0, as the proxy's DaemonSet says", &corev1.SecurityContext{RunAsUser: ptr.To[int64](0)}, nil, []string{"setpriv", "--"}},
		// cert-manager's solver pod: runAsNonRoot on the pod, no user.
		{"runAsNonRoot without a user", &corev1.SecurityContext{
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			AllowPrivilegeEscalation: ptr.To(false),
		}, &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			[]string{"setpriv", "--reuid=65532", "--regid=65532", "--clear-groups", "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--"}},
		{"the container's user wins over the pod's", &corev1.SecurityContext{RunAsUser: ptr.To[int64](1001)},
			&corev1.PodSecurityContext{RunAsUser: ptr.To[int64](1000)}, []string{"setpriv", "--reuid=1001", "--regid=1001", "--clear-groups", "--"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := setprivArgs(tc.sc, tc.podSC); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestProbeState(t *testing.T) {
	p := &corev1.Probe{SuccessThreshold: 1, FailureThreshold: 3, PeriodSeconds: 10, InitialDelaySeconds: 5}
	readiness := newProbeState(p, true)
	if readiness.healthy {
		t.Fatal("readiness starts healthy")
	}
	fail := errors.New("refused")
	steps := []struct {
		result      error
		wantHealthy bool
		wantChanged bool
	}{
		{nil, true, true},
		{fail, true, false},
		{fail, true, false},
		{fail, false, true}, // the third failure in a row
		{fail, false, false},
		{nil, true, true},
	}
	for i, s := range steps {
		changed := readiness.record(s.result)
		if readiness.healthy != s.wantHealthy || changed != s.wantChanged {
			t.Errorf("step %d: healthy %v changed %v, want %v %v", i, readiness.healthy, changed, s.wantHealthy, s.wantChanged)
		}
	}

	liveness := newProbeState(p, false)
	start := time.Unix(1000, 0)
	if !liveness.healthy {
		t.Error("liveness starts unhealthy")
	}
	if liveness.due(start.Add(4*time.Second), start, 0) {
		t.Error("due before initialDelaySeconds")
	}
	if !liveness.due(start.Add(5*time.Second), start, 0) {
		t.Error("not due at initialDelaySeconds")
	}
	if liveness.due(start.Add(14*time.Second), start, 0) {
		t.Error("due again before periodSeconds")
	}
	if !liveness.due(start.Add(15*time.Second), start, 0) {
		t.Error("not due after periodSeconds")
	}

	none := newProbeState(nil, true)
	if !none.healthy || none.record(fail) {
		t.Error("a container without a readiness probe must be ready, whatever happens")
	}
}

func TestProbePort(t *testing.T) {
	c := corev1.Container{Ports: []corev1.ContainerPort{{Name: "health", ContainerPort: 9448}}}
	if p, err := probePort(c, intstr.FromString("health")); err != nil || p != 9448 {
		t.Errorf("named port: %d %v", p, err)
	}
	if p, err := probePort(c, intstr.FromInt32(1234)); err != nil || p != 1234 {
		t.Errorf("numbered port: %d %v", p, err)
	}
	if _, err := probePort(c, intstr.FromString("metrics")); err == nil {
		t.Error("an unknown port name was accepted")
	}
}

func TestSetPodStatus(t *testing.T) {
	node := Node{Name: "master-0", Addresses: []netip.Addr{netip.MustParseAddr("192.0.2.11"), netip.MustParseAddr("2001:db8::11")}}
	c := corev1.Container{Name: "proxy", Image: testImage}
	pod := &corev1.Pod{Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}}}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}

	setPodStatus(pod, node.Addresses, node.Addresses, c, running, corev1.ContainerState{}, 0, false, true)
	if pod.Status.Phase != corev1.PodRunning || condition(pod, corev1.PodReady) != corev1.ConditionFalse {
		t.Errorf("running, not ready: phase %s, Ready %s", pod.Status.Phase, condition(pod, corev1.PodReady))
	}
	if pod.Status.PodIP != "192.0.2.11" || len(pod.Status.PodIPs) != 2 || pod.Status.HostIP != "192.0.2.11" {
		t.Errorf("a host-network pod has its node's IPs: %+v", pod.Status)
	}

	setPodStatus(pod, node.Addresses, node.Addresses, c, running, corev1.ContainerState{}, 0, true, true)
	if condition(pod, corev1.PodReady) != corev1.ConditionTrue || condition(pod, corev1.ContainersReady) != corev1.ConditionTrue || !pod.Status.ContainerStatuses[0].Ready {
		t.Errorf("ready: %+v", pod.Status)
	}
	if condition(pod, corev1.PodScheduled) != corev1.ConditionTrue {
		t.Error("the scheduler's condition was lost")
	}
	since := conditionSince(pod, corev1.PodReady)
	// metav1.Now keeps nanoseconds in memory: a rewrite would show.
	setPodStatus(pod, node.Addresses, node.Addresses, c, running, corev1.ContainerState{}, 0, true, true)
	if got := conditionSince(pod, corev1.PodReady); !got.Equal(since) {
		t.Errorf("Ready's lastTransitionTime moved from %v to %v without a transition", since, got)
	}

	waiting := corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}}
	setPodStatus(pod, node.Addresses, node.Addresses, c, waiting, running, 1, true, true)
	if condition(pod, corev1.PodReady) != corev1.ConditionFalse || pod.Status.ContainerStatuses[0].RestartCount != 1 {
		t.Errorf("a waiting container is never ready: %+v", pod.Status)
	}

	fresh := &corev1.Pod{}
	setPodStatus(fresh, node.Addresses, node.Addresses, c, waiting, corev1.ContainerState{}, 0, false, false)
	if fresh.Status.Phase != corev1.PodPending {
		t.Errorf("a pod whose container never started is %s, want Pending", fresh.Status.Phase)
	}
}

func conditionSince(pod *corev1.Pod, t corev1.PodConditionType) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}

func condition(pod *corev1.Pod, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range pod.Status.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}
