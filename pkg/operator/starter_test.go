package operator

import (
	"strings"
	"testing"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	"github.com/openshift/library-go/pkg/operator/status"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/bindata"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/daemonset"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/staticresources"
)

func TestSettingsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		image   string
		release string
		wantErr bool
	}{
		{name: "both set", image: "registry/proxy@sha256:1", release: "4.21.0"},
		{name: "no release version: runs, reports no version", image: "registry/proxy@sha256:1"},
		{name: "no image: refuses to start", release: "4.21.0", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(names.OperandImageEnv, tt.image)
			t.Setenv(names.ReleaseVersionEnv, tt.release)
			got, err := SettingsFromEnv()
			if (err != nil) != tt.wantErr {
				t.Fatalf("SettingsFromEnv() error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (got.OperandImage != tt.image || got.ReleaseVersion != tt.release) {
				t.Errorf("SettingsFromEnv() = %+v", got)
			}
		})
	}
}

// TestDegradedInertia runs the operator's inertia through library-go's own
// union of conditions, as the ClusterOperator status controller does.
func TestDegradedInertia(t *testing.T) {
	since := func(d time.Duration) metav1.Time { return metav1.NewTime(time.Now().Add(-d)) }
	tests := []struct {
		name      string
		condition string
		since     time.Duration
		want      configv1.ConditionStatus
	}{
		{"a proxy down for a reboot does not degrade", daemonset.ConditionDegraded, 10 * time.Minute, configv1.ConditionFalse},
		{"a proxy down for longer than a reboot degrades", daemonset.ConditionDegraded, daemonset.DegradedInertia + time.Minute, configv1.ConditionTrue},
		{"a failing sync degrades after library-go's two minutes", daemonset.ControllerName + "Degraded", 3 * time.Minute, configv1.ConditionTrue},
		{"a failing sync is given two minutes", daemonset.ControllerName + "Degraded", time.Minute, configv1.ConditionFalse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := status.UnionClusterCondition(configv1.OperatorDegraded, operatorv1.ConditionFalse, degradedInertia(),
				operatorv1.OperatorCondition{Type: tt.condition, Status: operatorv1.ConditionTrue, Reason: "Test", LastTransitionTime: since(tt.since)})
			if got.Status != tt.want {
				t.Errorf("ClusterOperator Degraded = %s (%s), want %s", got.Status, got.Reason, tt.want)
			}
		})
	}
}

// TestRelatedObjectsNameWhatTheOperatorCreatesAndReads: must-gather must
// collect every object the operator creates at run time that inspecting its
// namespace skips (the SCC Role and RoleBinding among them), and the inputs
// it decides on.
func TestRelatedObjectsNameWhatTheOperatorCreatesAndReads(t *testing.T) {
	listed := map[configv1.ObjectReference]bool{}
	for _, ref := range RelatedObjects() {
		listed[ref] = true
	}
	// What `oc adm inspect namespace` collects by itself.
	collectedWithTheNamespace := map[string]bool{"Service": true, "ConfigMap": true}
	for _, file := range append([]string{"assets/daemonset.yaml"}, staticresources.Files...) {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(bindata.MustAsset(file), &obj.Object); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if collectedWithTheNamespace[obj.GetKind()] {
			continue
		}
		resource := strings.ToLower(obj.GetKind()) + "s"
		ref := configv1.ObjectReference{Group: obj.GroupVersionKind().Group, Resource: resource, Namespace: obj.GetNamespace(), Name: obj.GetName()}
		if !listed[ref] {
			t.Errorf("%s: %+v is not a related object", file, ref)
		}
	}
	for _, input := range []configv1.ObjectReference{
		{Group: "config.openshift.io", Resource: "infrastructures", Name: names.SingletonName},
		{Group: "config.openshift.io", Resource: "apiservers", Name: names.SingletonName},
	} {
		if !listed[input] {
			t.Errorf("input %+v is not a related object", input)
		}
	}
}
