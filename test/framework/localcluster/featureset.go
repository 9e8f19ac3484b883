package localcluster

import (
	"fmt"

	configv1 "github.com/openshift/api/config/v1"
	cvomanifest "github.com/openshift/library-go/pkg/manifest"
)

// LocalFeatureSet is the feature set the local cluster is installed as:
// the operator's API is v1alpha1, which ships as Tech Preview
// (docs/payload.md).
var LocalFeatureSet = configv1.TechPreviewNoUpgrade

// IncludedManifests keeps the manifests the cluster-version operator would
// apply to a cluster of featureSet with every known capability enabled, by
// the CVO's own filter (library-go's manifest.Include), in file order.
func IncludedManifests(manifests []Manifest, files []string, featureSet configv1.FeatureSet) ([]Manifest, error) {
	payload, err := cvomanifest.ManifestsFromFiles(files)
	if err != nil {
		return nil, err
	}
	set := string(featureSet)
	profile := cvomanifest.DefaultClusterProfile
	caps := &configv1.ClusterVersionCapabilitiesStatus{
		EnabledCapabilities: configv1.KnownClusterVersionCapabilities,
		KnownCapabilities:   configv1.KnownClusterVersionCapabilities,
	}
	included := map[string]bool{}
	for _, m := range payload {
		if m.Include(nil, &set, &profile, caps, nil) == nil {
			included[manifestKey(m.GVK.Kind, m.Obj.GetNamespace(), m.Obj.GetName())] = true
		}
	}
	var out []Manifest
	for _, m := range manifests {
		if included[manifestKey(m.Object.GetKind(), m.Object.GetNamespace(), m.Object.GetName())] {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("a %s cluster gets none of the %d manifests", featureSet, len(manifests))
	}
	return out, nil
}

func manifestKey(kind, namespace, name string) string {
	return kind + "/" + namespace + "/" + name
}
