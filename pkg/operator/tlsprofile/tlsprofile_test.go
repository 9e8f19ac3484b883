package tlsprofile

import (
	"slices"
	"testing"

	configv1 "github.com/openshift/api/config/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/metrics"
)

func TestFromAPIServer(t *testing.T) {
	intermediate := []string{
		"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
		"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	}
	withProfile := func(p *configv1.TLSSecurityProfile) *configv1.APIServer {
		return &configv1.APIServer{Spec: configv1.APIServerSpec{TLSSecurityProfile: p}}
	}
	custom := func(minVersion configv1.TLSProtocolVersion, ciphers ...string) *configv1.APIServer {
		return withProfile(&configv1.TLSSecurityProfile{Type: configv1.TLSProfileCustomType, Custom: &configv1.CustomTLSProfile{
			TLSProfileSpec: configv1.TLSProfileSpec{MinTLSVersion: minVersion, Ciphers: ciphers},
		}})
	}
	tests := []struct {
		name      string
		apiServer *configv1.APIServer
		expect    Profile
		args      []string
	}{
		{name: "no APIServer object", expect: Profile{"VersionTLS12", intermediate}},
		{name: "no profile set", apiServer: withProfile(nil), expect: Profile{"VersionTLS12", intermediate}},
		{
			name:      "Intermediate",
			apiServer: withProfile(&configv1.TLSSecurityProfile{Type: configv1.TLSProfileIntermediateType}),
			expect:    Profile{"VersionTLS12", intermediate},
			args: []string{"--metrics-tls-min-version=VersionTLS12", "--metrics-tls-cipher-suites=" +
				"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256," +
				"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384," +
				"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
		},
		{
			name:      "Modern: TLS 1.3 only, no configurable suite",
			apiServer: withProfile(&configv1.TLSSecurityProfile{Type: configv1.TLSProfileModernType}),
			expect:    Profile{MinVersion: "VersionTLS13"},
			args:      []string{"--metrics-tls-min-version=VersionTLS13"},
		},
		{
			name:      "Custom, in the profile's order, without the DHE and TLS 1.3 names",
			apiServer: custom(configv1.VersionTLS12, "TLS_AES_128_GCM_SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "DHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"),
			expect:    Profile{"VersionTLS12", []string{"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}},
		},
		{
			name:      "Custom with only TLS 1.3 suites allows only TLS 1.3",
			apiServer: custom(configv1.VersionTLS12, "TLS_AES_128_GCM_SHA256"),
			expect:    Profile{MinVersion: "VersionTLS13"},
		},
		{name: "Custom without its spec is Intermediate", apiServer: withProfile(&configv1.TLSSecurityProfile{Type: configv1.TLSProfileCustomType}), expect: Profile{"VersionTLS12", intermediate}},
		{name: "unknown type is Intermediate", apiServer: withProfile(&configv1.TLSSecurityProfile{Type: "Future"}), expect: Profile{"VersionTLS12", intermediate}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := FromAPIServer(tc.apiServer)
			if got.MinVersion != tc.expect.MinVersion || !slices.Equal(got.CipherSuites, tc.expect.CipherSuites) {
				t.Errorf("FromAPIServer = %+v, want %+v", got, tc.expect)
			}
			if tc.args != nil && !slices.Equal(got.Args(), tc.args) {
				t.Errorf("Args = %q, want %q", got.Args(), tc.args)
			}
		})
	}
}

// The Old profile keeps its CBC and RSA suites (the admin chose them), as
// names the daemon parses.
func TestOldProfile(t *testing.T) {
	got := FromAPIServer(&configv1.APIServer{Spec: configv1.APIServerSpec{TLSSecurityProfile: &configv1.TLSSecurityProfile{Type: configv1.TLSProfileOldType}}})
	if got.MinVersion != "VersionTLS10" {
		t.Errorf("MinVersion %q, want VersionTLS10", got.MinVersion)
	}
	for _, want := range []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS_RSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"} {
		if !slices.Contains(got.CipherSuites, want) {
			t.Errorf("Old profile lacks %s: %v", want, got.CipherSuites)
		}
	}
}

// What the operator renders, the daemon parses, for every predefined
// profile.
func TestDaemonParsesEveryProfile(t *testing.T) {
	for profileType := range configv1.TLSProfiles {
		p := FromAPIServer(&configv1.APIServer{Spec: configv1.APIServerSpec{TLSSecurityProfile: &configv1.TLSSecurityProfile{Type: profileType}}})
		if _, ok := metrics.ParseTLSVersion(p.MinVersion); !ok {
			t.Errorf("%s: the daemon does not parse the version %q", profileType, p.MinVersion)
		}
		for _, name := range p.CipherSuites {
			if _, ok := metrics.ParseCipherSuite(name); !ok {
				t.Errorf("%s: the daemon does not parse the suite %q", profileType, name)
			}
		}
	}
}
