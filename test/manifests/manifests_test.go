// Package manifests checks the CVO manifests for the conventions that the
// cluster-version operator and OpenShift reviewers rely on. A mistake here
// does not fail a build: the CVO silently skips or misorders the manifest on
// a real cluster, so the rules are enforced as a unit test.
package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	configv1 "github.com/openshift/api/config/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/metrics"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator"
)

const (
	manifestsDir      = "../../manifests"
	profileAnnotation = "include.release.openshift.io/self-managed-high-availability"
	createOnly        = "release.openshift.io/create-only"
	capability        = "capability.openshift.io/name"
)

// manifest is one YAML document, with its position in CVO apply order.
type manifest struct {
	file  string
	index int
	obj   *unstructured.Unstructured
}

func (m manifest) String() string {
	return m.file + ":" + m.obj.GetKind() + "/" + m.obj.GetName()
}

func loadManifests(t *testing.T) []manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(manifestsDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The CVO applies manifests in lexical file order.
	sort.Strings(files)
	var all []manifest
	for _, file := range files {
		docs, err := readDocuments(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, obj := range docs {
			all = append(all, manifest{file: filepath.Base(file), index: len(all), obj: obj})
		}
	}
	if len(all) == 0 {
		t.Fatal("no manifests found")
	}
	return all
}

func readDocuments(file string) ([]*unstructured.Unstructured, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []*unstructured.Unstructured
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, err
		}
		if obj.Object == nil {
			continue // a document of comments only
		}
		if obj.GetKind() == "" || obj.GetAPIVersion() == "" {
			return nil, errors.New("a document without kind or apiVersion")
		}
		objs = append(objs, obj)
	}
}

func TestEveryManifestHasTheProfileAnnotation(t *testing.T) {
	for _, m := range loadManifests(t) {
		if m.obj.GetAnnotations()[profileAnnotation] != "true" {
			t.Errorf("%s: missing %s: \"true\"; without it the CVO ignores the manifest", m, profileAnnotation)
		}
		for key := range m.obj.GetAnnotations() {
			if strings.Contains(key, "hypershift") || strings.HasSuffix(key, "ibm-cloud-managed") {
				t.Errorf("%s: %s: this operator has no hosted-control-plane profile", m, key)
			}
		}
	}
}

func TestCapabilitiesExist(t *testing.T) {
	known := map[string]bool{}
	for _, c := range configv1.KnownClusterVersionCapabilities {
		known[string(c)] = true
	}
	for _, m := range loadManifests(t) {
		if name, ok := m.obj.GetAnnotations()[capability]; ok && !known[name] {
			t.Errorf("%s: capability %q does not exist; the CVO would drop the manifest", m, name)
		}
	}
}

func TestSingletonsAreCreateOnly(t *testing.T) {
	found := 0
	for _, m := range loadManifests(t) {
		if m.obj.GetKind() != "HTTP01ChallengeProxy" {
			continue
		}
		found++
		if m.obj.GetName() != "cluster" {
			t.Errorf("%s: the singleton must be named cluster", m)
		}
		if m.obj.GetAnnotations()[createOnly] != "true" {
			t.Errorf("%s: missing %s: \"true\"; the CVO would revert the admin's edits", m, createOnly)
		}
	}
	if found != 2 {
		t.Errorf("want the config and the operator singleton, found %d", found)
	}
}

func TestConfigSingletonShipsDisabled(t *testing.T) {
	for _, m := range loadManifests(t) {
		if m.obj.GetKind() == "HTTP01ChallengeProxy" && m.obj.GroupVersionKind().Group == "config.openshift.io" {
			if mode, _, _ := unstructured.NestedString(m.obj.Object, "spec", "mode"); mode != "" {
				t.Errorf("%s: spec.mode is %q; the proxy must be off until an admin enables it", m, mode)
			}
		}
	}
}

func TestCustomResourcesSortAfterTheirCRD(t *testing.T) {
	all := loadManifests(t)
	crdAt := map[string]int{} // group/kind -> index
	for _, m := range all {
		if m.obj.GetKind() == "CustomResourceDefinition" {
			group, _, _ := unstructured.NestedString(m.obj.Object, "spec", "group")
			kind, _, _ := unstructured.NestedString(m.obj.Object, "spec", "names", "kind")
			crdAt[group+"/"+kind] = m.index
		}
	}
	for _, m := range all {
		at, ours := crdAt[m.obj.GroupVersionKind().Group+"/"+m.obj.GetKind()]
		if ours && m.index < at {
			t.Errorf("%s sorts before its CustomResourceDefinition", m)
		}
	}
}

func TestApplyOrder(t *testing.T) {
	first := map[string]int{}
	last := map[string]int{}
	for _, m := range loadManifests(t) {
		kind := m.obj.GetKind()
		if _, seen := first[kind]; !seen {
			first[kind] = m.index
		}
		last[kind] = m.index
	}
	mustPrecede := []struct{ before, after, why string }{
		{"Namespace", "CustomResourceDefinition", "namespaces come first"},
		{"CustomResourceDefinition", "HTTP01ChallengeProxy", "instances need their CRD"},
		{"ServiceAccount", "Deployment", "the Deployment runs as the ServiceAccount"},
		{"ClusterRoleBinding", "Deployment", "the operator needs its RBAC when it starts"},
		{"SecurityContextConstraints", "Deployment", "the operand Role refers to the SCC"},
		{"NetworkPolicy", "Deployment", "the operator's pod never runs without its NetworkPolicies"},
		{"Deployment", "ClusterOperator", "the ClusterOperator comes last, after the operator Deployment"},
	}
	for _, rule := range mustPrecede {
		b, okB := last[rule.before]
		a, okA := first[rule.after]
		if !okB || !okA {
			t.Errorf("missing %s or %s in manifests/", rule.before, rule.after)
			continue
		}
		if b > a {
			t.Errorf("%s must sort before %s: %s", rule.before, rule.after, rule.why)
		}
	}
}

func TestNamespaces(t *testing.T) {
	for _, m := range loadManifests(t) {
		if m.obj.GetKind() != "Namespace" {
			continue
		}
		labels := m.obj.GetLabels()
		if labels["openshift.io/cluster-monitoring"] != "true" {
			t.Errorf("%s: missing openshift.io/cluster-monitoring: \"true\"; platform monitoring would not scrape it", m)
		}
		if labels["pod-security.kubernetes.io/enforce"] == "" {
			t.Errorf("%s: missing a pod-security enforce label", m)
		}
		if m.obj.GetAnnotations()["workload.openshift.io/allowed"] != "management" {
			t.Errorf("%s: missing workload.openshift.io/allowed: management", m)
		}
	}
}

func TestOperatorDeployment(t *testing.T) {
	var deployment *unstructured.Unstructured
	for _, m := range loadManifests(t) {
		if m.obj.GetKind() == "Deployment" {
			deployment = m.obj
		}
	}
	if deployment == nil {
		t.Fatal("no operator Deployment")
	}
	spec, _, _ := unstructured.NestedMap(deployment.Object, "spec", "template", "spec")
	if spec["priorityClassName"] != "system-cluster-critical" {
		t.Errorf("priorityClassName = %v, want system-cluster-critical", spec["priorityClassName"])
	}
	if p, _, _ := unstructured.NestedString(spec, "securityContext", "seccompProfile", "type"); p != "RuntimeDefault" {
		t.Errorf("pod seccompProfile = %q, want RuntimeDefault", p)
	}
	containers, _, _ := unstructured.NestedSlice(spec, "containers")
	if len(containers) != 1 {
		t.Fatalf("want one container, got %d", len(containers))
	}
	container := containers[0].(map[string]interface{})
	drop, _, _ := unstructured.NestedStringSlice(container, "securityContext", "capabilities", "drop")
	if strings.Join(drop, ",") != "ALL" {
		t.Errorf("capabilities.drop = %v, want [ALL]", drop)
	}
	env := map[string]string{}
	envs, _, _ := unstructured.NestedSlice(container, "env")
	for _, e := range envs {
		entry := e.(map[string]interface{})
		value, _ := entry["value"].(string)
		env[entry["name"].(string)] = value
	}
	for _, name := range []string{"OPERAND_IMAGE", "RELEASE_VERSION"} {
		if env[name] == "" {
			t.Errorf("env %s is not set", name)
		}
	}
	if image := container["image"]; image != env["OPERAND_IMAGE"] {
		t.Errorf("the operand is the operator's own image, but OPERAND_IMAGE=%q and image=%v", env["OPERAND_IMAGE"], image)
	}
	assertImageReferenced(t, env["OPERAND_IMAGE"])
}

// assertImageReferenced checks that the CVO will substitute the image: it
// replaces only pull specs listed in image-references.
func assertImageReferenced(t *testing.T, image string) {
	data, err := os.ReadFile(filepath.Join(manifestsDir, "image-references"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "name: "+image) {
		t.Errorf("image-references does not list %s", image)
	}
}

func TestRBACHasNoWildcardsAndNoClusterAdmin(t *testing.T) {
	for _, m := range loadManifests(t) {
		switch m.obj.GetKind() {
		case "ClusterRole", "Role":
			rules, _, _ := unstructured.NestedSlice(m.obj.Object, "rules")
			for i, r := range rules {
				rule := r.(map[string]interface{})
				for _, field := range []string{"apiGroups", "resources", "verbs", "resourceNames"} {
					values, _, _ := unstructured.NestedStringSlice(rule, field)
					for _, v := range values {
						if strings.Contains(v, "*") {
							t.Errorf("%s: rule %d has a wildcard in %s", m, i, field)
						}
					}
				}
			}
		case "ClusterRoleBinding", "RoleBinding":
			if name, _, _ := unstructured.NestedString(m.obj.Object, "roleRef", "name"); name == "cluster-admin" || name == "admin" {
				t.Errorf("%s: binds %s", m, name)
			}
		}
	}
}

// The ClusterOperator shipped in manifests/ lists what the operator lists
// once it runs, so that must-gather collects the same before and after.
func TestClusterOperatorListsRelatedObjects(t *testing.T) {
	for _, m := range loadManifests(t) {
		if m.obj.GetKind() != "ClusterOperator" {
			continue
		}
		if m.obj.GetName() != "http01-challenge-proxy" {
			t.Errorf("%s: want ClusterOperator http01-challenge-proxy", m)
		}
		co := &configv1.ClusterOperator{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m.obj.Object, co); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		if diff := cmp.Diff(operator.RelatedObjects(), co.Status.RelatedObjects); diff != "" {
			t.Errorf("%s: relatedObjects differ from the operator's (-operator +manifest):\n%s", m, diff)
		}
		return
	}
	t.Error("no ClusterOperator manifest")
}

// Every related object that manifests/ or the operator (bindata/assets)
// creates must exist there under that name: a typo would silently drop it
// from must-gather.
func TestRelatedObjectsExist(t *testing.T) {
	kinds := map[string]string{
		"namespaces":                 "Namespace",
		"serviceaccounts":            "ServiceAccount",
		"http01challengeproxies":     "HTTP01ChallengeProxy",
		"securitycontextconstraints": "SecurityContextConstraints",
		"clusterroles":               "ClusterRole",
		"clusterrolebindings":        "ClusterRoleBinding",
		"roles":                      "Role",
		"rolebindings":               "RoleBinding",
		"networkpolicies":            "NetworkPolicy",
		"servicemonitors":            "ServiceMonitor",
		"prometheusrules":            "PrometheusRule",
	}
	shipped := map[string]bool{}
	for _, m := range loadManifests(t) {
		shipped[m.obj.GroupVersionKind().Group+"/"+m.obj.GetKind()+"/"+m.obj.GetNamespace()+"/"+m.obj.GetName()] = true
	}
	assets, err := filepath.Glob("../../bindata/assets/*.yaml")
	if err != nil || len(assets) == 0 {
		t.Fatalf("no bindata assets: %v", err)
	}
	for _, file := range assets {
		docs, err := readDocuments(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, obj := range docs {
			shipped[obj.GroupVersionKind().Group+"/"+obj.GetKind()+"/"+obj.GetNamespace()+"/"+obj.GetName()] = true
		}
	}
	for _, ref := range operator.RelatedObjects() {
		kind, ok := kinds[ref.Resource]
		if !ok {
			continue // created at run time, e.g. the DaemonSet
		}
		if key := ref.Group + "/" + kind + "/" + ref.Namespace + "/" + ref.Name; !shipped[key] {
			t.Errorf("related object %+v is neither in manifests/ nor in bindata/assets (looked for %s)", ref, key)
		}
	}
}

// The operator's own serving endpoint (library-go's) has the Intermediate
// profile's version and TLS 1.2 suites, the same the daemons default to.
func TestOperatorServingTLSIsIntermediate(t *testing.T) {
	var config string
	for _, m := range loadManifests(t) {
		if m.obj.GetKind() == "ConfigMap" && m.obj.GetName() == "http01-challenge-proxy-operator-config" {
			config, _, _ = unstructured.NestedString(m.obj.Object, "data", "config.yaml")
		}
	}
	var parsed struct {
		ServingInfo struct {
			MinTLSVersion string   `json:"minTLSVersion"`
			CipherSuites  []string `json:"cipherSuites"`
		} `json:"servingInfo"`
	}
	if err := yaml.Unmarshal([]byte(config), &parsed); err != nil {
		t.Fatalf("the operator's config.yaml: %v", err)
	}
	want := metrics.DefaultCipherSuites
	var got []uint16
	for _, name := range parsed.ServingInfo.CipherSuites {
		id, ok := metrics.ParseCipherSuite(name)
		if !ok {
			t.Errorf("servingInfo.cipherSuites: %q is not a TLS 1.2 suite", name)
		}
		got = append(got, id)
	}
	if parsed.ServingInfo.MinTLSVersion != "VersionTLS12" || !slices.Equal(got, want) {
		t.Errorf("servingInfo: minTLSVersion %q, cipherSuites %v; want VersionTLS12 and %v",
			parsed.ServingInfo.MinTLSVersion, parsed.ServingInfo.CipherSuites, want)
	}
}
