package clientca

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

func TestPlan(t *testing.T) {
	enabled := gate.Decision{Enabled: true, Reason: gate.ReasonAsExpected}
	disabled := gate.Decision{Reason: gate.ReasonMissingVIPs}
	source := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: names.AuthenticationNamespace, Name: names.AuthenticationConfigMap},
		Data: map[string]string{
			names.MetricsClientCAKey:       "CA-1",
			"requestheader-client-ca-file": "FRONT-PROXY-CA",
			"requestheader-allowed-names":  `["front-proxy"]`,
		},
	}
	upToDate, err := Copy(source)
	if err != nil {
		t.Fatal(err)
	}
	stale := upToDate.DeepCopy()
	stale.Data[names.MetricsClientCAKey] = "CA-0"
	extraKey := upToDate.DeepCopy()
	extraKey.Data["requestheader-client-ca-file"] = "FRONT-PROXY-CA"
	binary := upToDate.DeepCopy()
	binary.BinaryData = map[string][]byte{"x": nil}
	unannotated := upToDate.DeepCopy()
	unannotated.Annotations = nil
	noBundle := source.DeepCopy()
	delete(noBundle.Data, names.MetricsClientCAKey)

	tests := []struct {
		name              string
		decision          gate.Decision
		source, current   *corev1.ConfigMap
		wantApply         bool
		wantRemove        bool
		wantErrContaining string
	}{
		{name: "enabled, no copy yet: apply", decision: enabled, source: source, wantApply: true},
		{name: "enabled, copy up to date: nothing", decision: enabled, source: source, current: upToDate},
		{name: "enabled, source rotated: apply", decision: enabled, source: source, current: stale, wantApply: true},
		{name: "enabled, copy edited to hold more: apply", decision: enabled, source: source, current: extraKey, wantApply: true},
		{name: "enabled, copy edited with binary data: apply", decision: enabled, source: source, current: binary, wantApply: true},
		{name: "enabled, annotation removed: apply", decision: enabled, source: source, current: unannotated, wantApply: true},
		{name: "enabled, no source: error, copy kept", decision: enabled, current: upToDate, wantErrContaining: Source + " has no client-ca-file"},
		{name: "enabled, source without a bundle: error, copy kept", decision: enabled, source: noBundle, current: upToDate, wantErrContaining: "kube-apiserver publishes it"},
		{name: "disabled with a copy: remove", decision: disabled, source: source, current: upToDate, wantRemove: true},
		{name: "disabled without a copy: nothing", decision: disabled, source: source},
		{name: "removed with a copy: remove", decision: gate.Removed(), current: stale, wantRemove: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			required, remove, err := Plan(tt.decision, tt.source, tt.current)
			if tt.wantErrContaining != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrContaining) {
					t.Fatalf("Plan() error = %v, want one containing %q", err, tt.wantErrContaining)
				}
				if required != nil || remove {
					t.Errorf("Plan() = %v, remove %v with an error; the copy must be left as it is", required, remove)
				}
				return
			}
			if err != nil {
				t.Fatalf("Plan() error = %v", err)
			}
			if remove != tt.wantRemove || (required != nil) != tt.wantApply {
				t.Fatalf("Plan() = apply %v, remove %v; want apply %v, remove %v", required != nil, remove, tt.wantApply, tt.wantRemove)
			}
		})
	}
}

// The copy carries the bundle alone: the DaemonSet mounts one key, and the
// front-proxy settings published beside it are not the daemon's.
func TestCopyHoldsTheBundleAlone(t *testing.T) {
	got, err := Copy(&corev1.ConfigMap{Data: map[string]string{names.MetricsClientCAKey: "CA", "requestheader-client-ca-file": "X"}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Namespace != names.OperandNamespace || got.Name != names.MetricsClientCAConfigMap {
		t.Errorf("Copy() is %s/%s", got.Namespace, got.Name)
	}
	if len(got.Data) != 1 || got.Data[names.MetricsClientCAKey] != "CA" {
		t.Errorf("Copy().Data = %v, want only %s", got.Data, names.MetricsClientCAKey)
	}
}
