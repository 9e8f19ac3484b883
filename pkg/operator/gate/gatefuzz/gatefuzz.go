// Package gatefuzz turns fuzzed bytes into the gate's inputs, so that the
// fuzz targets of the gate and of everything downstream of its decision
// share one decoding and one seed corpus.
package gatefuzz

import (
	"encoding/json"

	configv1 "github.com/openshift/api/config/v1"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
)

// Seed is one Infrastructure and one config singleton, as JSON.
type Seed struct {
	Infrastructure string
	Config         string
}

const (
	bareMetalVIPs = `{"status":{"platform":"BareMetal","controlPlaneTopology":"HighlyAvailable","platformStatus":{"type":"BareMetal","baremetal":{` +
		`"apiServerInternalIP":"192.0.2.5","apiServerInternalIPs":["192.0.2.5","2001:db8::5"],"ingressIP":"192.0.2.10","ingressIPs":["192.0.2.10","2001:db8::10"]}}}}`
	defaultMode = `{"spec":{"mode":"DefaultDeployment"}}`
	customMode  = `{"spec":{"mode":"CustomDeployment","customDeployment":{"internalPort":8443}}}`
)

// Seeds cover every branch of gate.Decide, including the shapes that have
// crashed it before.
var Seeds = []Seed{
	{bareMetalVIPs, defaultMode},
	{bareMetalVIPs, customMode},
	{bareMetalVIPs, `{"spec":{"mode":"CustomDeployment"}}`},
	{bareMetalVIPs, `{"spec":{"mode":"Unknown"}}`},
	{bareMetalVIPs, `{}`},
	{bareMetalVIPs, `null`},
	// Before 4.2 an Infrastructure carried only status.platform: a nil
	// platformStatus once panicked in Decide.
	{`{"status":{"platform":"BareMetal"}}`, defaultMode},
	{`{"status":{"platformStatus":{"type":"BareMetal"}}}`, defaultMode},
	{`{"status":{"platformStatus":{"type":"AWS"}}}`, defaultMode},
	{`{"status":{"platform":"BareMetal","controlPlaneTopology":"External","platformStatus":{"type":"BareMetal"}}}`, defaultMode},
	{`{"status":{"platformStatus":{"type":"BareMetal","baremetal":{"apiServerInternalIPs":["192.0.2.5"],"ingressIPs":["192.0.2.10"],"loadBalancer":{"type":"UserManaged"}}}}}`, defaultMode},
	{`{"status":{"platformStatus":{"type":"BareMetal","baremetal":{"apiServerInternalIPs":["api"],"ingressIPs":["192.0.2.10"]}}}}`, defaultMode},
	{`{"status":{"platformStatus":{"type":"BareMetal","baremetal":{"apiServerInternalIPs":["192.0.2.5"],"ingressIPs":["::ffff:192.0.2.5"]}}}}`, defaultMode},
	{`{"status":{"platformStatus":{"type":"BareMetal","baremetal":{"apiServerInternalIP":"192.0.2.5","ingressIP":"192.0.2.10"}}}}`, customMode},
	{`{}`, `{}`},
	{`null`, `null`},
}

// Add adds Seeds to a fuzz target that takes the two JSON documents.
func Add(f interface{ Add(...any) }) {
	for _, s := range Seeds {
		f.Add([]byte(s.Infrastructure), []byte(s.Config))
	}
}

// Inputs decodes fuzzed bytes into the gate's inputs. What does not decode
// stays as far as it got: a partial object is as good an input as any. The
// Infrastructure is never nil, because a missing one never reaches Decide;
// the config is nil for "null", as when the singleton is absent.
func Inputs(infraJSON, configJSON []byte) (*configv1.Infrastructure, *configv1alpha1.HTTP01ChallengeProxy) {
	infra := &configv1.Infrastructure{}
	_ = json.Unmarshal(infraJSON, infra)
	cfg := &configv1alpha1.HTTP01ChallengeProxy{}
	_ = json.Unmarshal(configJSON, &cfg)
	return infra, cfg
}

// Decide is gate.Decide over fuzzed bytes.
func Decide(infraJSON, configJSON []byte) gate.Decision {
	return gate.Decide(Inputs(infraJSON, configJSON))
}
