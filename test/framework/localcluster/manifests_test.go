package localcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestReadManifests(t *testing.T) {
	file := filepath.Join(t.TempDir(), "0000_50_x.yaml")
	content := `# a comment-only document
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: versions
data:
  version: "0.0.1-snapshot"
---
---
apiVersion: v1
kind: Namespace
metadata:
  name: ns
`
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	manifests, err := ReadManifests("4.99.0", file)
	if err != nil {
		t.Fatal(err)
	}
	if len(manifests) != 2 || manifests[0].Object.GetKind() != "ConfigMap" || manifests[1].Object.GetKind() != "Namespace" {
		t.Fatalf("want the ConfigMap then the Namespace, got %v", manifests)
	}
	if v, _, _ := unstructured.NestedString(manifests[0].Object.Object, "data", "version"); v != "4.99.0" {
		t.Errorf("the release version placeholder became %q, want 4.99.0", v)
	}

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("metadata:\n  name: x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadManifests("4.99.0", bad); err == nil {
		t.Error("a document without kind was accepted")
	}
}

func TestActionFor(t *testing.T) {
	for _, tc := range []struct {
		manifest string
		want     manifestAction
	}{
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: op, namespace: ns}", actionRunLocally},
		{"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: other, namespace: ns}", actionApply},
		{"apiVersion: config.openshift.io/v1\nkind: ClusterOperator\nmetadata: {name: op}", actionCreateClusterOperator},
		{"apiVersion: config.openshift.io/v1alpha1\nkind: HTTP01ChallengeProxy\nmetadata: {name: cluster, annotations: {release.openshift.io/create-only: \"true\"}}", actionCreateOnly},
		{"apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}", actionApply},
	} {
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal([]byte(tc.manifest), &obj.Object); err != nil {
			t.Fatal(err)
		}
		if got := actionFor(Manifest{File: "f", Object: obj}, "op"); got != tc.want {
			t.Errorf("%s: action %v, want %v", tc.manifest, got, tc.want)
		}
	}
}

// TestKwokStages checks that the stages parse and that both exclude the
// namespace whose pods a real kubelet runs: kwok and the kubelet must
// never both write one pod's status.
func TestKwokStages(t *testing.T) {
	docs := splitYAML(t, kwokStages("real-ns"))
	if len(docs) != 2 {
		t.Fatalf("%d stages, want 2", len(docs))
	}
	for _, doc := range docs {
		exprs, _, _ := unstructured.NestedSlice(doc, "spec", "selector", "matchExpressions")
		excluded := false
		for _, e := range exprs {
			m := e.(map[string]any)
			values, _ := m["values"].([]any)
			if m["key"] == ".metadata.namespace" && m["operator"] == "NotIn" && len(values) == 1 && values[0] == "real-ns" {
				excluded = true
			}
		}
		if !excluded {
			t.Errorf("stage %v does not exclude namespace real-ns", doc["metadata"])
		}
	}
}

func splitYAML(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, part := range strings.Split(s, "\n---\n") {
		doc := map[string]any{}
		if err := yaml.Unmarshal([]byte(part), &doc); err != nil {
			t.Fatalf("%v in\n%s", err, part)
		}
		if len(doc) > 0 {
			out = append(out, doc)
		}
	}
	return out
}
