package localcluster

import (
	"bufio"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// The demo and the e2e suite apply the README's ClusterIssuer and
// Certificate as an admin would copy them: the README must keep them
// parseable, and as the journey needs them.
func TestReadmeJourney(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	issuer, cert, err := ReadmeJourney(filepath.Join(filepath.Dir(file), "..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	solvers, _, _ := unstructured.NestedSlice(issuer.Object, "spec", "acme", "solvers")
	if len(solvers) != 1 {
		t.Fatalf("the README's ClusterIssuer has %d solvers, want one HTTP-01 solver", len(solvers))
	}
	got, _, _ := unstructured.NestedString(solvers[0].(map[string]any), "http01", "ingress", "ingressClassName")
	if got != IngressClass {
		t.Errorf("the README's solver uses ingress class %q; the router serves %q", got, IngressClass)
	}
	if cert.GetNamespace() != openShiftConfigNamespace || cert.GetName() != readmeCertificateName {
		t.Errorf("the README's Certificate is %s/%s, want %s/%s, where the API server reads named certificates",
			cert.GetNamespace(), cert.GetName(), openShiftConfigNamespace, readmeCertificateName)
	}
	ref, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
	if ref["kind"] != "ClusterIssuer" || ref["name"] != issuer.GetName() {
		t.Errorf("the README's Certificate refers to %v, not to its ClusterIssuer %s", ref, issuer.GetName())
	}
}

func TestYAMLBlocksAreDedented(t *testing.T) {
	md := "text\n1. step\n   ```yaml\n   kind: A\n   spec:\n     x: 1\n   ```\n```sh\nnot yaml\n```\n```yaml\nkind: B\n```\n"
	blocks, err := yamlBlocks(bufio.NewScanner(strings.NewReader(md)))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"kind: A\nspec:\n  x: 1\n", "kind: B\n"}
	if !slices.Equal(blocks, want) {
		t.Errorf("yamlBlocks = %q, want %q", blocks, want)
	}
}
