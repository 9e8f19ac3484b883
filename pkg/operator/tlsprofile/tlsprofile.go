// Package tlsprofile turns the cluster's TLS security profile, spec of
// apiservers.config.openshift.io/cluster, into the TLS settings of the
// daemons' metrics endpoint, the one TLS server this operator deploys. What
// counts as a usable suite is the daemon's own parser's decision
// (metrics.ParseCipherSuite), so the operator never renders a flag value
// the daemon would refuse.
package tlsprofile

import (
	"crypto/tls"
	"slices"
	"strings"

	configv1 "github.com/openshift/api/config/v1"
	"github.com/openshift/library-go/pkg/crypto"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/metrics"
)

// Profile is what the daemon's --metrics-tls-* flags take.
type Profile struct {
	// MinVersion is a configv1.TLSProtocolVersion name, such as VersionTLS12.
	MinVersion string
	// CipherSuites are the profile's TLS 1.0-1.2 suites that Go implements,
	// by their IANA names, in the profile's order. Empty when only TLS 1.3
	// can be negotiated: TLS 1.3 suites are not configurable in Go.
	CipherSuites []string
}

// FromAPIServer is the profile of the cluster's APIServer object; with no
// object, or no profile set, it is the Intermediate profile, which is what
// the API defines as the default.
func FromAPIServer(apiServer *configv1.APIServer) Profile {
	spec := profileSpec(apiServer)
	profile := Profile{MinVersion: string(spec.MinTLSVersion), CipherSuites: goCipherSuites(spec.Ciphers)}
	if profile.MinVersion == "" {
		profile.MinVersion = string(configv1.VersionTLS12)
	}
	if profile.MinVersion == string(configv1.VersionTLS13) {
		profile.CipherSuites = nil
	} else if len(profile.CipherSuites) == 0 {
		// A custom profile with only TLS 1.3 suites (or only suites Go
		// lacks) allows no TLS 1.2 handshake; say so, rather than let the
		// daemon fall back to its default suites.
		profile.MinVersion = string(configv1.VersionTLS13)
	}
	return profile
}

// Args are the daemon's flags for the profile.
func (p Profile) Args() []string {
	args := []string{"--metrics-tls-min-version=" + p.MinVersion}
	if len(p.CipherSuites) > 0 {
		args = append(args, "--metrics-tls-cipher-suites="+strings.Join(p.CipherSuites, ","))
	}
	return args
}

func profileSpec(apiServer *configv1.APIServer) *configv1.TLSProfileSpec {
	intermediate := configv1.TLSProfiles[configv1.TLSProfileIntermediateType]
	if apiServer == nil || apiServer.Spec.TLSSecurityProfile == nil {
		return intermediate
	}
	profile := apiServer.Spec.TLSSecurityProfile
	if profile.Type == configv1.TLSProfileCustomType {
		if profile.Custom == nil {
			return intermediate
		}
		return &profile.Custom.TLSProfileSpec
	}
	if spec, ok := configv1.TLSProfiles[profile.Type]; ok {
		return spec
	}
	return intermediate
}

// goCipherSuites converts a profile's OpenSSL cipher names to the IANA names,
// as Go spells them, of the suites the daemon accepts: TLS 1.0-1.2 suites Go
// implements. DHE suites and the TLS 1.3 names of the profiles are dropped:
// Go has no DHE, and TLS 1.3 suites are not configurable.
func goCipherSuites(openSSLNames []string) []string {
	var names []string
	for _, iana := range crypto.OpenSSLToIANACipherSuites(openSSLNames) {
		id, err := crypto.CipherSuite(iana)
		if err != nil {
			continue
		}
		name := tls.CipherSuiteName(id)
		if _, ok := metrics.ParseCipherSuite(name); ok && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	return names
}
