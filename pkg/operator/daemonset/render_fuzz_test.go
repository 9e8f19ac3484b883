package daemonset

import (
	"encoding/json"
	"slices"
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	appsv1 "k8s.io/api/apps/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate/gatefuzz"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/tlsprofile"
)

var apiServerSeeds = []string{
	`null`,
	`{"spec":{"tlsSecurityProfile":{"type":"Modern"}}}`,
	`{"spec":{"tlsSecurityProfile":{"type":"Custom","custom":{"minTLSVersion":"VersionTLS12","ciphers":["ECDHE-RSA-AES256-GCM-SHA384","DHE-RSA-AES128-GCM-SHA256"]}}}}`,
	`{"spec":{"tlsSecurityProfile":{"type":"Custom"}}}`,
}

var logLevelSeeds = []operatorv1.LogLevel{"", operatorv1.Normal, operatorv1.Debug, operatorv1.TraceAll, "Loud"}

// FuzzRender renders the DaemonSet for the gate's decision over arbitrary
// Infrastructure and config objects, an arbitrary image, log level and TLS
// profile. No input may panic; an enabled decision with an image always
// renders, to a DaemonSet that Serves the decision on its port.
func FuzzRender(f *testing.F) {
	for i, s := range gatefuzz.Seeds {
		f.Add([]byte(s.Infrastructure), []byte(s.Config), testImage, string(logLevelSeeds[i%len(logLevelSeeds)]), []byte(apiServerSeeds[i%len(apiServerSeeds)]))
	}
	f.Add([]byte(gatefuzz.Seeds[0].Infrastructure), []byte(gatefuzz.Seeds[0].Config), "", "Normal", []byte(`null`))
	f.Fuzz(func(t *testing.T, infraJSON, configJSON []byte, image, logLevel string, apiServerJSON []byte) {
		var apiServer *configv1.APIServer
		_ = json.Unmarshal(apiServerJSON, &apiServer)
		decision := gatefuzz.Decide(infraJSON, configJSON)

		ds, err := Render(decision, image, operatorv1.LogLevel(logLevel), tlsprofile.FromAPIServer(apiServer))

		if !decision.Enabled || image == "" {
			if err == nil {
				t.Fatalf("rendered a DaemonSet for a disabled proxy (%s) or an empty image %q", decision.Reason, image)
			}
			return
		}
		if err != nil {
			t.Fatalf("Render() of an enabled decision: %v", err)
		}
		if !Serves(ds, decision) {
			t.Errorf("the rendered DaemonSet does not serve its own decision %+v", decision)
		}
		container := findContainer(ds.Spec.Template.Spec.Containers, containerName)
		if port := findPort(container.Ports, proxyPortName); port.HostPort != decision.Port || port.ContainerPort != decision.Port {
			t.Errorf("proxy port %+v, want %d", port, decision.Port)
		}
		if container.Image != image {
			t.Errorf("image %q, want %q", container.Image, image)
		}
		if i := slices.IndexFunc(container.Args, func(a string) bool { return len(a) > 3 && a[:3] == "-v=" }); i < 0 {
			t.Errorf("no verbosity among %v", container.Args)
		}
	})
}

// FuzzServes asks Serves about arbitrary DaemonSets, as the cache may hold
// one edited by anyone.
func FuzzServes(f *testing.F) {
	f.Add([]byte(`{}`), []byte(gatefuzz.Seeds[0].Infrastructure), []byte(gatefuzz.Seeds[0].Config))
	f.Add([]byte(`{"spec":{"template":{"spec":{"containers":[{"name":"proxy","args":["--listen-port=8888"]}]}}}}`), []byte(gatefuzz.Seeds[0].Infrastructure), []byte(gatefuzz.Seeds[0].Config))
	f.Fuzz(func(t *testing.T, daemonSetJSON, infraJSON, configJSON []byte) {
		ds := &appsv1.DaemonSet{}
		_ = json.Unmarshal(daemonSetJSON, ds)
		Serves(ds, gatefuzz.Decide(infraJSON, configJSON))
	})
}
