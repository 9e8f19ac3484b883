package localcluster

import (
	"testing"

	configv1 "github.com/openshift/api/config/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
)

// The local cluster installs what a Tech Preview cluster gets (all of it),
// and a Default cluster would get nothing.
func TestIncludedManifests(t *testing.T) {
	files, err := apiserver.ManifestFiles()
	if err != nil {
		t.Fatal(err)
	}
	manifests, err := ReadManifests(LocalReleaseVersion, files...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := IncludedManifests(manifests, files, LocalFeatureSet)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(manifests) {
		t.Errorf("a %s cluster gets %d of %d manifests", LocalFeatureSet, len(got), len(manifests))
	}
	if got, err := IncludedManifests(manifests, files, configv1.Default); err == nil {
		t.Errorf("a Default cluster gets %d manifests, want none", len(got))
	}
}
