package staticresources

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/openshift/library-go/pkg/operator/resource/resourceread"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/bindata"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

func TestActions(t *testing.T) {
	enabled := gate.Decision{Enabled: true, Reason: gate.ReasonAsExpected}
	disabled := gate.Decision{Reason: gate.ReasonUnsupportedPlatform}
	unknown := errors.New("infrastructure not synced")

	tests := []struct {
		name       string
		decision   gate.Decision
		err        error
		present    bool
		wantCreate bool
		wantDelete bool
	}{
		{name: "enabled: create", decision: enabled, present: false, wantCreate: true},
		{name: "enabled and present: create (apply is idempotent)", decision: enabled, present: true, wantCreate: true},
		{name: "disabled with resources left: delete", decision: disabled, present: true, wantDelete: true},
		{name: "removed with resources left: delete", decision: gate.Removed(), present: true, wantDelete: true},
		{name: "unmanaged with resources left: nothing", err: gate.ErrUnmanaged, present: true},
		{name: "disabled and already gone: nothing", decision: disabled, present: false},
		{name: "unknown decision with resources present: nothing", err: unknown, present: true},
		{name: "unknown decision that looks disabled: nothing", decision: disabled, err: unknown, present: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			create, del := Actions(tt.decision, tt.err, func() bool { return tt.present })
			if create != tt.wantCreate || del != tt.wantDelete {
				t.Errorf("Actions() = create %v, delete %v; want create %v, delete %v", create, del, tt.wantCreate, tt.wantDelete)
			}
		})
	}
}

func TestFilesExist(t *testing.T) {
	for _, f := range Files {
		if _, err := bindata.Asset(f); err != nil {
			t.Errorf("Files lists %s: %v", f, err)
		}
	}
}

// The present functions only look for these names; if bindata drifted from
// them, a disabled proxy would leave its resources behind without an error.
func TestFilesMatchTheNamesLookedFor(t *testing.T) {
	want := map[string]bool{
		"*v1.ServiceAccount/" + names.OperandNamespace + "/" + names.OperandName: true,
		"*v1.Role/" + names.OperandNamespace + "/" + sccRBACName:                 true,
		"*v1.RoleBinding/" + names.OperandNamespace + "/" + sccRBACName:          true,
		"*v1.Service/" + names.OperandNamespace + "/" + names.MetricsService:     true,
	}
	got := map[string]bool{}
	for _, f := range Files {
		obj, err := resourceread.ReadGenericWithUnstructured(bindata.MustAsset(f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		switch o := obj.(type) {
		case *corev1.ServiceAccount:
			got[fmt.Sprintf("%T/%s/%s", o, o.Namespace, o.Name)] = true
		case *rbacv1.Role:
			got[fmt.Sprintf("%T/%s/%s", o, o.Namespace, o.Name)] = true
			if len(o.Rules) != 1 || !slices.Equal(o.Rules[0].ResourceNames, []string{names.SecurityContextConstraints}) || !slices.Equal(o.Rules[0].Verbs, []string{"use"}) {
				t.Errorf("%s grants %+v, want only use of SCC %s", f, o.Rules, names.SecurityContextConstraints)
			}
		case *rbacv1.RoleBinding:
			got[fmt.Sprintf("%T/%s/%s", o, o.Namespace, o.Name)] = true
			wantSubject := rbacv1.Subject{Kind: "ServiceAccount", Namespace: names.OperandNamespace, Name: names.OperandName}
			if o.RoleRef.Name != sccRBACName || len(o.Subjects) != 1 || o.Subjects[0] != wantSubject {
				t.Errorf("%s binds %+v to %+v, want %s to %+v", f, o.RoleRef, o.Subjects, sccRBACName, wantSubject)
			}
		case *corev1.Service:
			got[fmt.Sprintf("%T/%s/%s", o, o.Namespace, o.Name)] = true
		default:
			t.Errorf("%s holds an unexpected %T", f, obj)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("objects in bindata (-looked for +found):\n%s", diff)
	}
}

// The metrics Service is what the daemon's ServiceMonitor selects and what
// its serving certificate is issued for; the DaemonSet mounts that Secret.
func TestMetricsService(t *testing.T) {
	obj, err := resourceread.ReadGenericWithUnstructured(bindata.MustAsset("assets/metrics-service.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	svc := obj.(*corev1.Service)
	if got := svc.Annotations["service.beta.openshift.io/serving-cert-secret-name"]; got != names.MetricsServingCertSecret {
		t.Errorf("serving-cert-secret-name = %q, want %q, the Secret the DaemonSet mounts", got, names.MetricsServingCertSecret)
	}
	if svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("clusterIP = %q, want None: Prometheus scrapes the pods, nothing uses a virtual IP", svc.Spec.ClusterIP)
	}
	if diff := cmp.Diff(map[string]string{"app": names.OperandName}, svc.Spec.Selector); diff != "" {
		t.Errorf("selector (-want +got):\n%s", diff)
	}
	wantPorts := []corev1.ServicePort{{Name: "metrics", Port: names.DaemonMetricsPort, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP}}
	if diff := cmp.Diff(wantPorts, svc.Spec.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
}
