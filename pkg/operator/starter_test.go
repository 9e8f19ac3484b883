package operator

import (
	"testing"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
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
