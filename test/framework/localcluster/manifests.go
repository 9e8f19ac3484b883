package localcluster

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
)

const (
	// manifestReleaseVersion is the placeholder the release tooling replaces
	// with the payload's version in every manifest.
	manifestReleaseVersion = "0.0.1-snapshot"
	// createOnlyAnnotation makes the CVO create an object once and never
	// update it: the admin owns it from then on.
	createOnlyAnnotation = "release.openshift.io/create-only"
	// cvoFieldManager is the field manager of what Up applies in the
	// CVO's name.
	cvoFieldManager = "cluster-version-operator"
)

// Manifest is one document of a file in manifests/.
type Manifest struct {
	File   string
	Object *unstructured.Unstructured
}

func (m Manifest) String() string {
	name := m.Object.GetName()
	if ns := m.Object.GetNamespace(); ns != "" {
		name = ns + "/" + name
	}
	return fmt.Sprintf("%s %s (%s)", m.Object.GetKind(), name, filepath.Base(m.File))
}

// ReadManifests reads every document of the given files, in order, with the
// release version placeholder replaced by releaseVersion, as the release
// tooling does when it builds a payload.
func ReadManifests(releaseVersion string, files ...string) ([]Manifest, error) {
	var out []Manifest
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		data = bytes.ReplaceAll(data, []byte(manifestReleaseVersion), []byte(releaseVersion))
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 0; ; i++ {
			doc, err := reader.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", file, i, err)
			}
			if len(bytes.TrimSpace(doc)) == 0 {
				continue
			}
			obj := &unstructured.Unstructured{}
			if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
				return nil, fmt.Errorf("%s: document %d: %w", file, i, err)
			}
			if len(obj.Object) == 0 {
				continue // only comments
			}
			if obj.GetKind() == "" || obj.GetAPIVersion() == "" {
				return nil, fmt.Errorf("%s: document %d has no kind or apiVersion", file, i)
			}
			out = append(out, Manifest{File: file, Object: obj})
		}
	}
	return out, nil
}

// FindManifest returns the first manifest of that kind and name.
func FindManifest(manifests []Manifest, kind, name string) (Manifest, bool) {
	for _, m := range manifests {
		if m.Object.GetKind() == kind && m.Object.GetName() == name {
			return m, true
		}
	}
	return Manifest{}, false
}

// manifestAction is what the local CVO does with one manifest.
type manifestAction int

const (
	actionApply manifestAction = iota
	// actionCreateOnly creates the object if it does not exist yet.
	actionCreateOnly
	// actionCreateClusterOperator creates the ClusterOperator with only
	// the manifest's relatedObjects in its status, as the CVO pre-creates
	// it so that must-gather finds the operator's objects early.
	actionCreateClusterOperator
	// actionRunLocally skips the operator's Deployment: the operator runs
	// as a local process with the Deployment's command line instead.
	actionRunLocally
)

// actionFor decides what to do with a manifest; operatorDeployment names
// the operator's Deployment.
func actionFor(m Manifest, operatorDeployment string) manifestAction {
	gvk := m.Object.GroupVersionKind()
	switch {
	case gvk.Group == "apps" && gvk.Kind == "Deployment" && m.Object.GetName() == operatorDeployment:
		return actionRunLocally
	case gvk.Group == "config.openshift.io" && gvk.Kind == "ClusterOperator":
		return actionCreateClusterOperator
	case m.Object.GetAnnotations()[createOnlyAnnotation] == "true":
		return actionCreateOnly
	default:
		return actionApply
	}
}

// applyManifests applies the manifests in order, as the cluster-version
// operator would, and reports on each with note. A manifest whose kind the
// cluster does not serve is skipped with a note naming what would be
// missing, rather than failing: manifests/ may grow kinds (ServiceMonitor,
// PrometheusRule, ...) whose CRDs the local cluster does not install.
func applyManifests(ctx context.Context, cfg *rest.Config, manifests []Manifest, operatorDeployment string, note func(format string, args ...any)) error {
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	discoveryClient, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discoveryClient))

	for _, m := range manifests {
		action := actionFor(m, operatorDeployment)
		if action == actionRunLocally {
			note("  skipped %s: the operator runs as a local process with its command line", m)
			continue
		}
		gvk := m.Object.GroupVersionKind()
		if gvk.Group == apiextensionsv1.GroupName && gvk.Kind == "CustomResourceDefinition" {
			if err := applyCRD(ctx, cfg, m); err != nil {
				return err
			}
			// The new kind must be found by the next manifests.
			mapper.Reset()
			note("  applied %s", m)
			continue
		}
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if meta.IsNoMatchError(err) {
			note("  skipped %s: the local cluster has no CRD for %s%s", m, gvk.GroupKind(), crdHint(gvk))
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		resource := resourceFor(client, mapping, m.Object.GetNamespace())
		switch action {
		case actionCreateOnly:
			created, err := createIfAbsent(ctx, resource, m.Object)
			if err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
			if created {
				note("  created %s (create-only)", m)
			} else {
				note("  kept %s (create-only, exists)", m)
			}
		case actionCreateClusterOperator:
			if err := createClusterOperator(ctx, resource, m.Object); err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
			note("  pre-created %s with its relatedObjects", m)
		default:
			obj := m.Object.DeepCopy()
			if _, err := resource.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: cvoFieldManager, Force: true}); err != nil {
				return fmt.Errorf("%s: %w", m, err)
			}
			note("  applied %s", m)
		}
	}
	return nil
}

// crdHint names where the CRD of well-known kinds comes from.
func crdHint(gvk schema.GroupVersionKind) string {
	if gvk.Group == "monitoring.coreos.com" {
		return " (prometheus-operator's: there is no monitoring stack)"
	}
	return ""
}

func resourceFor(client dynamic.Interface, mapping *meta.RESTMapping, namespace string) dynamic.ResourceInterface {
	if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
		return client.Resource(mapping.Resource).Namespace(namespace)
	}
	return client.Resource(mapping.Resource)
}

func applyCRD(ctx context.Context, cfg *rest.Config, m Manifest) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m.Object.Object, crd); err != nil {
		return fmt.Errorf("%s: %w", m, err)
	}
	if err := apiserver.InstallCRDs(ctx, cfg, crd); err != nil {
		return fmt.Errorf("%s: %w", m, err)
	}
	return nil
}

func createIfAbsent(ctx context.Context, resource dynamic.ResourceInterface, obj *unstructured.Unstructured) (bool, error) {
	_, err := resource.Create(ctx, obj.DeepCopy(), metav1.CreateOptions{FieldManager: cvoFieldManager})
	if apierrors.IsAlreadyExists(err) {
		return false, nil
	}
	return err == nil, err
}

// createClusterOperator creates the ClusterOperator unless it exists, then
// writes the manifest's status.relatedObjects through the status
// subresource. The manifest's status.versions are what the CVO waits for the
// operator to report, not something it writes.
func createClusterOperator(ctx context.Context, resource dynamic.ResourceInterface, manifest *unstructured.Unstructured) error {
	obj := manifest.DeepCopy()
	related, _, err := unstructured.NestedSlice(obj.Object, "status", "relatedObjects")
	if err != nil {
		return err
	}
	unstructured.RemoveNestedField(obj.Object, "status")
	created, err := resource.Create(ctx, obj, metav1.CreateOptions{FieldManager: cvoFieldManager})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(related) == 0 {
		return nil
	}
	if err := unstructured.SetNestedSlice(created.Object, related, "status", "relatedObjects"); err != nil {
		return err
	}
	_, err = resource.UpdateStatus(ctx, created, metav1.UpdateOptions{FieldManager: cvoFieldManager})
	return err
}

// manifestsDescription is a one-line summary for progress output.
func manifestsDescription(manifests []Manifest) string {
	files := map[string]bool{}
	for _, m := range manifests {
		files[m.File] = true
	}
	return fmt.Sprintf("%d objects from %d files", len(manifests), len(files))
}
