// Package gate decides whether the HTTP-01 challenge proxy runs on this
// cluster, and with which VIPs and port.
//
// Decide is pure: it only looks at the Infrastructure and config singletons
// it is given. Whether those could be read at all is not its business — see
// Inputs — because "I could not read the Infrastructure" must never turn
// into "this is not bare metal, delete the proxy".
package gate

import (
	"fmt"
	"net/netip"
	"strings"

	configv1 "github.com/openshift/api/config/v1"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
)

// Reasons are CamelCase, stable, and shared by the ClusterOperator's
// Disabled condition, the config singleton's Ready condition and the
// http01_challenge_proxy_operator_enabled metric.
const (
	// ReasonAsExpected: the proxy runs.
	ReasonAsExpected = "AsExpected"
	// ReasonUnsupportedPlatform: not BareMetal, the only platform supported.
	ReasonUnsupportedPlatform = "UnsupportedPlatform"
	// ReasonExternalControlPlane: the API server runs outside this cluster.
	ReasonExternalControlPlane = "ExternalControlPlane"
	// ReasonUserManagedLoadBalancer: keepalived does not hold the API VIP.
	ReasonUserManagedLoadBalancer = "UserManagedLoadBalancer"
	// ReasonMissingVIPs: the Infrastructure has no API or no ingress VIP.
	ReasonMissingVIPs = "MissingVIPs"
	// ReasonInvalidVIPs: a VIP in the Infrastructure is not an IP address.
	ReasonInvalidVIPs = "InvalidVIPs"
	// ReasonConflictingVIPs: an API VIP is also an ingress VIP.
	ReasonConflictingVIPs = "ConflictingVIPs"
	// ReasonDisabledByConfiguration: the admin has not set spec.mode.
	ReasonDisabledByConfiguration = "DisabledByConfiguration"
	// ReasonRemoved: the operator resource's spec.managementState is
	// Removed, which wins over everything else.
	ReasonRemoved = "Removed"
)

// Decision says whether to run the proxy and, when it runs, what with.
type Decision struct {
	// Enabled is true when the proxy must run on every control-plane node.
	// When false, the proxy and its resources must be removed.
	Enabled bool
	// Reason is one of the Reason* constants.
	Reason string
	// Message explains Reason to an admin and says what to do about it.
	Message string

	// APIVIPs are the addresses whose TCP port 80 is redirected to the
	// proxy. Set only when Enabled.
	APIVIPs []string
	// IngressVIPs are where the proxy forwards challenge requests. Set only
	// when Enabled.
	IngressVIPs []string
	// Port is the node-local port the proxy listens on. Set only when
	// Enabled.
	Port int32
}

// Decide returns whether the proxy runs for this Infrastructure and config.
// infra must not be nil: a missing Infrastructure is not a decision (see
// Inputs). A nil cfg is the default, empty spec, which is disabled.
//
// The platform is checked before the config so that an admin is never told
// to enable the proxy on a cluster where it cannot work.
func Decide(infra *configv1.Infrastructure, cfg *configv1alpha1.HTTP01ChallengeProxy) Decision {
	platform := platformType(infra)
	if platform != configv1.BareMetalPlatformType {
		// vSphere, OpenStack and Nutanix IPI hold API VIPs with keepalived
		// too: the message must not claim there is none.
		return disabled(ReasonUnsupportedPlatform, fmt.Sprintf(
			"The HTTP-01 challenge proxy supports only the BareMetal platform, and this cluster's platform is %q. It takes the API and ingress VIPs from Infrastructure status.platformStatus.baremetal and is tested only there, even where another platform also holds the API VIP with keepalived. For a certificate of the API hostname, use ACME DNS-01 challenges, or have what receives port 80 of the API hostname forward it to port 80 of the ingress VIPs.",
			displayPlatform(platform)))
	}

	if infra.Status.ControlPlaneTopology == configv1.ExternalTopologyMode {
		return disabled(ReasonExternalControlPlane,
			"The control plane is hosted outside this cluster (Infrastructure status.controlPlaneTopology is External), so the API VIP is on no node of this cluster. Serve the API hostname's ACME challenges where the control plane is hosted.")
	}

	// A cluster installed before 4.2 may carry only status.platform, and
	// then there is no platformStatus to hold the VIPs.
	if infra.Status.PlatformStatus == nil {
		return disabled(ReasonMissingVIPs,
			"Infrastructure status.platform is BareMetal but status.platformStatus is missing (the shape of clusters installed before 4.2), so the API and ingress VIPs are unknown. The proxy needs status.platformStatus.baremetal.apiServerInternalIPs and ingressIPs; check the Infrastructure resource named cluster.")
	}
	baremetal := infra.Status.PlatformStatus.BareMetal
	if baremetal == nil {
		return disabled(ReasonMissingVIPs,
			"Infrastructure status.platformStatus.baremetal is empty, so the API and ingress VIPs are unknown. The installer sets them; check the Infrastructure resource named cluster.")
	}

	if lb := baremetal.LoadBalancer; lb != nil && lb.Type != "" && lb.Type != configv1.LoadBalancerTypeOpenShiftManagedDefault {
		return disabled(ReasonUserManagedLoadBalancer, fmt.Sprintf(
			"The cluster uses a load balancer of type %s, so the API VIP is not held by a control-plane node. Configure your load balancer to forward port 80 of the API hostname to port 80 of the ingress VIPs instead.",
			lb.Type))
	}

	apiVIPs := vips(baremetal.APIServerInternalIPs, baremetal.APIServerInternalIP)
	ingressVIPs := vips(baremetal.IngressIPs, baremetal.IngressIP)
	if len(apiVIPs) == 0 || len(ingressVIPs) == 0 {
		return disabled(ReasonMissingVIPs, fmt.Sprintf(
			"The proxy needs both API and ingress VIPs, but Infrastructure status.platformStatus.baremetal has apiServerInternalIPs %s and ingressIPs %s. The installer sets them from install-config's apiVIPs and ingressVIPs; check the Infrastructure resource named cluster.",
			list(apiVIPs), list(ingressVIPs)))
	}

	apiAddrs, err := parseAll(apiVIPs)
	if err != nil {
		return disabled(ReasonInvalidVIPs, fmt.Sprintf("Infrastructure status.platformStatus.baremetal.apiServerInternalIPs: %v. Correct the Infrastructure resource named cluster.", err))
	}
	ingressAddrs, err := parseAll(ingressVIPs)
	if err != nil {
		return disabled(ReasonInvalidVIPs, fmt.Sprintf("Infrastructure status.platformStatus.baremetal.ingressIPs: %v. Correct the Infrastructure resource named cluster.", err))
	}
	for _, api := range apiAddrs {
		for _, ingress := range ingressAddrs {
			if api == ingress {
				return disabled(ReasonConflictingVIPs, fmt.Sprintf(
					"API VIP %s is also an ingress VIP. The proxy forwards challenges from the API VIP to the ingress VIP, so with the same address they would loop back into its own redirect. The proxy needs distinct API and ingress VIPs.",
					api))
			}
		}
	}

	port, enabled := portFor(cfg)
	if !enabled {
		return disabled(ReasonDisabledByConfiguration, fmt.Sprintf(
			"The proxy is disabled because spec.mode of http01challengeproxies.config.openshift.io/cluster is %s. Set spec.mode to DefaultDeployment to serve ACME HTTP-01 challenges for the API hostname.",
			displayMode(cfg)))
	}

	return Decision{
		Enabled: true,
		Reason:  ReasonAsExpected,
		Message: fmt.Sprintf(
			"Port 80 of API VIPs %s is redirected to the proxy on port %d of every control-plane node, which forwards ACME HTTP-01 challenges to ingress VIPs %s.",
			list(apiVIPs), port, list(ingressVIPs)),
		APIVIPs:     apiVIPs,
		IngressVIPs: ingressVIPs,
		Port:        port,
	}
}

// Removed is the decision while the operator resource's
// spec.managementState is Removed: the admin wants the proxy and everything
// deployed for it gone, whatever the platform and the config say.
func Removed() Decision {
	return disabled(ReasonRemoved,
		"spec.managementState of http01challengeproxies.operator.openshift.io/cluster is Removed, so the proxy and everything deployed for it are removed from the cluster. Set it to Managed to deploy the proxy again where the config enables it.")
}

func disabled(reason, message string) Decision {
	return Decision{Reason: reason, Message: message}
}

// platformType prefers status.platformStatus.type and falls back to the
// deprecated status.platform, which clusters installed before 4.2 may still
// carry alone.
func platformType(infra *configv1.Infrastructure) configv1.PlatformType {
	if infra.Status.PlatformStatus != nil && infra.Status.PlatformStatus.Type != "" {
		return infra.Status.PlatformStatus.Type
	}
	return infra.Status.Platform
}

func displayPlatform(p configv1.PlatformType) string {
	if p == "" {
		return "unset"
	}
	return string(p)
}

// vips returns the plural field, or the deprecated singular one when the
// plural is empty. Since 4.12 the singular field only mirrors plural[0], and
// the config operator fills the plural on upgrade, so the fallback changes
// nothing on a current cluster; it only keeps an older Infrastructure
// working instead of reporting MissingVIPs for VIPs that are there. The
// result is a copy, so callers may keep it.
func vips(plural []string, singular string) []string {
	if len(plural) > 0 {
		return append([]string(nil), plural...)
	}
	if singular != "" {
		return []string{singular}
	}
	return nil
}

func parseAll(addrs []string) ([]netip.Addr, error) {
	parsed := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		addr, err := netip.ParseAddr(a)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", a)
		}
		// Compare IPv4-mapped IPv6 addresses as the IPv4 they carry.
		parsed = append(parsed, addr.Unmap())
	}
	return parsed, nil
}

// portFor returns the proxy's port and whether the config enables it. An
// unknown mode cannot pass the CRD's enum; it is treated as disabled rather
// than guessed at.
func portFor(cfg *configv1alpha1.HTTP01ChallengeProxy) (int32, bool) {
	if cfg == nil {
		return 0, false
	}
	switch cfg.Spec.Mode {
	case configv1alpha1.DefaultDeploymentMode:
		return configv1alpha1.DefaultInternalPort, true
	case configv1alpha1.CustomDeploymentMode:
		// The CRD requires customDeployment with this mode; the default
		// only guards against a spec that bypassed validation.
		if cfg.Spec.CustomDeployment == nil {
			return configv1alpha1.DefaultInternalPort, true
		}
		return cfg.Spec.CustomDeployment.InternalPort, true
	default:
		return 0, false
	}
}

func displayMode(cfg *configv1alpha1.HTTP01ChallengeProxy) string {
	if cfg == nil || cfg.Spec.Mode == "" {
		return "empty"
	}
	return fmt.Sprintf("%q, which this operator does not know", cfg.Spec.Mode)
}

func list(s []string) string {
	return "[" + strings.Join(s, ", ") + "]"
}
