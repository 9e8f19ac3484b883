package manifests

import (
	"path/filepath"
	"slices"
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	cvomanifest "github.com/openshift/library-go/pkg/manifest"
)

const (
	featureSet = "release.openshift.io/feature-set"
	// techPreview are the feature sets that turn Tech Preview features on,
	// as OpenShift lists them on the manifests of a Tech Preview API: the
	// v1alpha1 API and everything around it ship nowhere else.
	techPreview = "CustomNoUpgrade,DevPreviewNoUpgrade,TechPreviewNoUpgrade"
	// baremetal is the only capability of the platform the proxy serves:
	// the installer refuses platform baremetal without it, so tying the
	// manifests to it costs no cluster where the proxy could run.
	baremetal = string(configv1.ClusterVersionCapabilityBaremetal)
)

func TestEveryManifestIsTechPreview(t *testing.T) {
	for _, m := range loadManifests(t) {
		if got := m.obj.GetAnnotations()[featureSet]; got != techPreview {
			t.Errorf("%s: %s is %q, want %q: a v1alpha1 API ships as Tech Preview only", m, featureSet, got, techPreview)
		}
	}
}

func TestEveryManifestNeedsTheBaremetalCapability(t *testing.T) {
	for _, m := range loadManifests(t) {
		if got := m.obj.GetAnnotations()[capability]; got != baremetal {
			t.Errorf("%s: %s is %q, want %q", m, capability, got, baremetal)
		}
	}
}

// TestWhatEachClusterGets runs the payload through the filter the CVO
// itself applies to every manifest (library-go's manifest.Include), for
// each feature set and with and without the baremetal capability.
func TestWhatEachClusterGets(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(manifestsDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := cvomanifest.ManifestsFromFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	if len(payload) != len(loadManifests(t)) {
		t.Fatalf("the CVO reads %d manifests, this package %d", len(payload), len(loadManifests(t)))
	}

	withoutBaremetal := slices.DeleteFunc(slices.Clone(configv1.KnownClusterVersionCapabilities), func(c configv1.ClusterVersionCapability) bool {
		return c == configv1.ClusterVersionCapabilityBaremetal
	})
	tests := []struct {
		name         string
		featureSet   configv1.FeatureSet
		capabilities []configv1.ClusterVersionCapability
		wantAll      bool
	}{
		{"Default feature set: nothing", configv1.Default, configv1.KnownClusterVersionCapabilities, false},
		{"TechPreviewNoUpgrade: everything", configv1.TechPreviewNoUpgrade, configv1.KnownClusterVersionCapabilities, true},
		{"DevPreviewNoUpgrade: everything", configv1.DevPreviewNoUpgrade, configv1.KnownClusterVersionCapabilities, true},
		{"CustomNoUpgrade: everything", configv1.CustomNoUpgrade, configv1.KnownClusterVersionCapabilities, true},
		{"TechPreviewNoUpgrade without the baremetal capability: nothing", configv1.TechPreviewNoUpgrade, withoutBaremetal, false},
	}
	profile := cvomanifest.DefaultClusterProfile
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			featureSet := string(tt.featureSet)
			caps := &configv1.ClusterVersionCapabilitiesStatus{
				EnabledCapabilities: tt.capabilities,
				KnownCapabilities:   configv1.KnownClusterVersionCapabilities,
			}
			var included, excluded []string
			for _, m := range payload {
				if err := m.Include(nil, &featureSet, &profile, caps, nil); err != nil {
					excluded = append(excluded, m.String()+": "+err.Error())
				} else {
					included = append(included, m.String())
				}
			}
			if tt.wantAll && len(excluded) > 0 {
				t.Errorf("the CVO would skip %d of %d manifests:\n%v", len(excluded), len(payload), excluded)
			}
			if !tt.wantAll && len(included) > 0 {
				t.Errorf("the CVO would apply %d of %d manifests:\n%v", len(included), len(payload), included)
			}
		})
	}
}
