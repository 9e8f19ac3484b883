package gate

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	configv1 "github.com/openshift/api/config/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/apis/config/v1alpha1"
)

// infraOption edits a BareMetal Infrastructure that is eligible by default.
type infraOption func(*configv1.Infrastructure)

func bareMetal(opts ...infraOption) *configv1.Infrastructure {
	infra := &configv1.Infrastructure{
		ObjectMeta: metav1.ObjectMeta{Name: "cluster"},
		Status: configv1.InfrastructureStatus{
			Platform:             configv1.BareMetalPlatformType,
			ControlPlaneTopology: configv1.HighlyAvailableTopologyMode,
			PlatformStatus: &configv1.PlatformStatus{
				Type: configv1.BareMetalPlatformType,
				BareMetal: &configv1.BareMetalPlatformStatus{
					APIServerInternalIP:  "192.0.2.5",
					APIServerInternalIPs: []string{"192.0.2.5", "fd00::5"},
					IngressIP:            "192.0.2.10",
					IngressIPs:           []string{"192.0.2.10", "fd00::10"},
				},
			},
		},
	}
	for _, o := range opts {
		o(infra)
	}
	return infra
}

func withVIPs(api, ingress []string) infraOption {
	return func(i *configv1.Infrastructure) {
		i.Status.PlatformStatus.BareMetal.APIServerInternalIPs = api
		i.Status.PlatformStatus.BareMetal.IngressIPs = ingress
		i.Status.PlatformStatus.BareMetal.APIServerInternalIP = ""
		i.Status.PlatformStatus.BareMetal.IngressIP = ""
	}
}

func withLoadBalancer(t configv1.PlatformLoadBalancerType) infraOption {
	return func(i *configv1.Infrastructure) {
		i.Status.PlatformStatus.BareMetal.LoadBalancer = &configv1.BareMetalPlatformLoadBalancer{Type: t}
	}
}

func config(mode configv1alpha1.HTTP01ChallengeProxyMode, customPort int32) *configv1alpha1.HTTP01ChallengeProxy {
	cfg := &configv1alpha1.HTTP01ChallengeProxy{ObjectMeta: metav1.ObjectMeta{Name: "cluster"}}
	cfg.Spec.Mode = mode
	if customPort != 0 {
		cfg.Spec.CustomDeployment = &configv1alpha1.CustomDeploymentSpec{InternalPort: customPort}
	}
	return cfg
}

var enabledByDefault = config(configv1alpha1.DefaultDeploymentMode, 0)

func TestDecide(t *testing.T) {
	tests := []struct {
		name  string
		infra *configv1.Infrastructure
		cfg   *configv1alpha1.HTTP01ChallengeProxy

		wantEnabled bool
		wantReason  string
		// wantMessage lists substrings the admin needs to see.
		wantMessage []string
		// falseMessage lists substrings that would be untrue for the case.
		falseMessage []string
		wantAPI      []string
		wantIngress  []string
		wantPort     int32
	}{
		{
			name:        "bare metal, default deployment: enabled on port 8888 with both address families",
			infra:       bareMetal(),
			cfg:         enabledByDefault,
			wantEnabled: true,
			wantReason:  ReasonAsExpected,
			wantMessage: []string{"192.0.2.5, fd00::5", "8888", "192.0.2.10, fd00::10"},
			wantAPI:     []string{"192.0.2.5", "fd00::5"},
			wantIngress: []string{"192.0.2.10", "fd00::10"},
			wantPort:    8888,
		},
		{
			name:        "custom deployment uses its internal port",
			infra:       bareMetal(),
			cfg:         config(configv1alpha1.CustomDeploymentMode, 18080),
			wantEnabled: true,
			wantReason:  ReasonAsExpected,
			wantMessage: []string{"port 18080"},
			wantAPI:     []string{"192.0.2.5", "fd00::5"},
			wantIngress: []string{"192.0.2.10", "fd00::10"},
			wantPort:    18080,
		},
		{
			name:        "custom deployment without its settings falls back to the default port",
			infra:       bareMetal(),
			cfg:         config(configv1alpha1.CustomDeploymentMode, 0),
			wantEnabled: true,
			wantReason:  ReasonAsExpected,
			wantAPI:     []string{"192.0.2.5", "fd00::5"},
			wantIngress: []string{"192.0.2.10", "fd00::10"},
			wantPort:    8888,
		},
		{
			name:        "explicit OpenShiftManagedDefault load balancer is eligible",
			infra:       bareMetal(withLoadBalancer(configv1.LoadBalancerTypeOpenShiftManagedDefault)),
			cfg:         enabledByDefault,
			wantEnabled: true,
			wantReason:  ReasonAsExpected,
			wantAPI:     []string{"192.0.2.5", "fd00::5"},
			wantIngress: []string{"192.0.2.10", "fd00::10"},
			wantPort:    8888,
		},
		{
			name:        "empty load balancer type means the default and is eligible",
			infra:       bareMetal(withLoadBalancer("")),
			cfg:         enabledByDefault,
			wantEnabled: true,
			wantReason:  ReasonAsExpected,
			wantAPI:     []string{"192.0.2.5", "fd00::5"},
			wantIngress: []string{"192.0.2.10", "fd00::10"},
			wantPort:    8888,
		},
		{
			name: "deprecated singular VIP fields are used when the plural ones are empty",
			infra: bareMetal(withVIPs(nil, nil), func(i *configv1.Infrastructure) {
				i.Status.PlatformStatus.BareMetal.APIServerInternalIP = "192.0.2.5"
				i.Status.PlatformStatus.BareMetal.IngressIP = "192.0.2.10"
			}),
			cfg:         enabledByDefault,
			wantEnabled: true,
			wantReason:  ReasonAsExpected,
			wantAPI:     []string{"192.0.2.5"},
			wantIngress: []string{"192.0.2.10"},
			wantPort:    8888,
		},
		{
			name:        "plural VIP fields win over the singular ones",
			infra:       bareMetal(func(i *configv1.Infrastructure) { i.Status.PlatformStatus.BareMetal.APIServerInternalIP = "192.0.2.99" }),
			cfg:         enabledByDefault,
			wantEnabled: true,
			wantReason:  ReasonAsExpected,
			wantAPI:     []string{"192.0.2.5", "fd00::5"},
			wantIngress: []string{"192.0.2.10", "fd00::10"},
			wantPort:    8888,
		},
		{
			name:        "mode unset: disabled, and the admin is told how to enable it",
			infra:       bareMetal(),
			cfg:         config("", 0),
			wantReason:  ReasonDisabledByConfiguration,
			wantMessage: []string{"spec.mode", "is empty", "DefaultDeployment"},
		},
		{
			name:        "config singleton missing: the default, disabled",
			infra:       bareMetal(),
			cfg:         nil,
			wantReason:  ReasonDisabledByConfiguration,
			wantMessage: []string{"is empty", "DefaultDeployment"},
		},
		{
			name:        "unknown mode: disabled rather than guessed",
			infra:       bareMetal(),
			cfg:         config("Everywhere", 0),
			wantReason:  ReasonDisabledByConfiguration,
			wantMessage: []string{`"Everywhere"`, "does not know"},
		},
		{
			name: "AWS: unsupported platform",
			infra: &configv1.Infrastructure{Status: configv1.InfrastructureStatus{
				PlatformStatus: &configv1.PlatformStatus{Type: configv1.AWSPlatformType},
			}},
			cfg:         enabledByDefault,
			wantReason:  ReasonUnsupportedPlatform,
			wantMessage: []string{`"AWS"`, "BareMetal"},
		},
		{
			// vSphere IPI holds the API VIP with keepalived too: the
			// message must not tell the admin that it has none, or that
			// something else fronts it.
			name: "vSphere with keepalived-held VIPs: unsupported, without a false reason",
			infra: &configv1.Infrastructure{Status: configv1.InfrastructureStatus{
				PlatformStatus: &configv1.PlatformStatus{Type: configv1.VSpherePlatformType, VSphere: &configv1.VSpherePlatformStatus{
					APIServerInternalIPs: []string{"192.0.2.5"}, IngressIPs: []string{"192.0.2.10"},
				}},
			}},
			cfg:          enabledByDefault,
			wantReason:   ReasonUnsupportedPlatform,
			wantMessage:  []string{`"VSphere"`, "supports only the BareMetal platform", "DNS-01"},
			falseMessage: []string{"no API VIP", "not on a node", "where keepalived holds", "fronts the API", "Nothing needs to be done"},
		},
		{
			name: "platform only in the deprecated status.platform is still recognized",
			infra: &configv1.Infrastructure{Status: configv1.InfrastructureStatus{
				Platform: configv1.NonePlatformType,
			}},
			cfg:         enabledByDefault,
			wantReason:  ReasonUnsupportedPlatform,
			wantMessage: []string{`"None"`},
		},
		{
			name:        "no platform at all: unsupported",
			infra:       &configv1.Infrastructure{},
			cfg:         enabledByDefault,
			wantReason:  ReasonUnsupportedPlatform,
			wantMessage: []string{`"unset"`},
		},
		{
			name: "platform is checked before the config: AWS with the proxy unset still says why it cannot run",
			infra: &configv1.Infrastructure{Status: configv1.InfrastructureStatus{
				PlatformStatus: &configv1.PlatformStatus{Type: configv1.AWSPlatformType},
			}},
			cfg:        nil,
			wantReason: ReasonUnsupportedPlatform,
		},
		{
			name:        "hosted control plane",
			infra:       bareMetal(func(i *configv1.Infrastructure) { i.Status.ControlPlaneTopology = configv1.ExternalTopologyMode }),
			cfg:         enabledByDefault,
			wantReason:  ReasonExternalControlPlane,
			wantMessage: []string{"External"},
		},
		{
			name:        "single-node control plane is eligible",
			infra:       bareMetal(func(i *configv1.Infrastructure) { i.Status.ControlPlaneTopology = configv1.SingleReplicaTopologyMode }),
			cfg:         enabledByDefault,
			wantEnabled: true,
			wantReason:  ReasonAsExpected,
			wantAPI:     []string{"192.0.2.5", "fd00::5"},
			wantIngress: []string{"192.0.2.10", "fd00::10"},
			wantPort:    8888,
		},
		{
			name:        "user-managed load balancer",
			infra:       bareMetal(withLoadBalancer(configv1.LoadBalancerTypeUserManaged)),
			cfg:         enabledByDefault,
			wantReason:  ReasonUserManagedLoadBalancer,
			wantMessage: []string{"UserManaged", "load balancer to forward port 80"},
		},
		{
			name:        "bare metal without its platform status",
			infra:       bareMetal(func(i *configv1.Infrastructure) { i.Status.PlatformStatus.BareMetal = nil }),
			cfg:         enabledByDefault,
			wantReason:  ReasonMissingVIPs,
			wantMessage: []string{"empty"},
		},
		{
			// Clusters installed before 4.2 carry only status.platform.
			// This once dereferenced the nil platformStatus and panicked.
			name: "bare metal only in the deprecated status.platform: VIPs unknown, not a crash",
			infra: &configv1.Infrastructure{Status: configv1.InfrastructureStatus{
				Platform: configv1.BareMetalPlatformType,
			}},
			cfg:         enabledByDefault,
			wantReason:  ReasonMissingVIPs,
			wantMessage: []string{"status.platform is BareMetal", "status.platformStatus is missing", "VIPs are unknown"},
		},
		{
			name:        "no API VIPs",
			infra:       bareMetal(withVIPs(nil, []string{"192.0.2.10"})),
			cfg:         enabledByDefault,
			wantReason:  ReasonMissingVIPs,
			wantMessage: []string{"apiServerInternalIPs []", "ingressIPs [192.0.2.10]"},
		},
		{
			name:        "no ingress VIPs",
			infra:       bareMetal(withVIPs([]string{"192.0.2.5"}, nil)),
			cfg:         enabledByDefault,
			wantReason:  ReasonMissingVIPs,
			wantMessage: []string{"ingressIPs []"},
		},
		{
			name:        "VIPs are checked before the config: missing VIPs with the proxy unset",
			infra:       bareMetal(withVIPs(nil, nil)),
			cfg:         nil,
			wantReason:  ReasonMissingVIPs,
			wantMessage: []string{"apiServerInternalIPs []"},
		},
		{
			name:        "API VIP equal to an ingress VIP",
			infra:       bareMetal(withVIPs([]string{"192.0.2.5"}, []string{"192.0.2.5"})),
			cfg:         enabledByDefault,
			wantReason:  ReasonConflictingVIPs,
			wantMessage: []string{"192.0.2.5", "distinct"},
		},
		{
			name:        "conflict in the second address family",
			infra:       bareMetal(withVIPs([]string{"192.0.2.5", "fd00::5"}, []string{"192.0.2.10", "fd00:0:0::5"})),
			cfg:         enabledByDefault,
			wantReason:  ReasonConflictingVIPs,
			wantMessage: []string{"fd00::5"},
		},
		{
			name:        "IPv4-mapped IPv6 ingress VIP conflicts with the IPv4 API VIP",
			infra:       bareMetal(withVIPs([]string{"192.0.2.5"}, []string{"::ffff:192.0.2.5"})),
			cfg:         enabledByDefault,
			wantReason:  ReasonConflictingVIPs,
			wantMessage: []string{"192.0.2.5"},
		},
		{
			name:        "API VIP that is not an address",
			infra:       bareMetal(withVIPs([]string{"api.example.com"}, []string{"192.0.2.10"})),
			cfg:         enabledByDefault,
			wantReason:  ReasonInvalidVIPs,
			wantMessage: []string{"apiServerInternalIPs", `"api.example.com" is not an IP address`},
		},
		{
			name:        "ingress VIP that is not an address",
			infra:       bareMetal(withVIPs([]string{"192.0.2.5"}, []string{"192.0.2.300"})),
			cfg:         enabledByDefault,
			wantReason:  ReasonInvalidVIPs,
			wantMessage: []string{"ingressIPs", `"192.0.2.300"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.infra, tt.cfg)

			if got.Enabled != tt.wantEnabled || got.Reason != tt.wantReason {
				t.Fatalf("Decide() = Enabled %v, Reason %q (%s); want Enabled %v, Reason %q", got.Enabled, got.Reason, got.Message, tt.wantEnabled, tt.wantReason)
			}
			if got.Message == "" {
				t.Errorf("Decide() has an empty message; every decision must tell the admin something")
			}
			for _, want := range tt.wantMessage {
				if !strings.Contains(got.Message, want) {
					t.Errorf("message %q does not contain %q", got.Message, want)
				}
			}
			for _, untrue := range tt.falseMessage {
				if strings.Contains(got.Message, untrue) {
					t.Errorf("message %q says %q, which is untrue here", got.Message, untrue)
				}
			}
			if diff := cmp.Diff(tt.wantAPI, got.APIVIPs); diff != "" {
				t.Errorf("APIVIPs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantIngress, got.IngressVIPs); diff != "" {
				t.Errorf("IngressVIPs (-want +got):\n%s", diff)
			}
			if got.Port != tt.wantPort {
				t.Errorf("Port = %d, want %d", got.Port, tt.wantPort)
			}
		})
	}
}

// The decision must not alias the Infrastructure's slices: the informer
// cache owns them.
func TestDecideDoesNotAliasTheCache(t *testing.T) {
	infra := bareMetal()
	got := Decide(infra, enabledByDefault)
	got.APIVIPs[0] = "changed"
	got.IngressVIPs[0] = "changed"
	if infra.Status.PlatformStatus.BareMetal.APIServerInternalIPs[0] != "192.0.2.5" ||
		infra.Status.PlatformStatus.BareMetal.IngressIPs[0] != "192.0.2.10" {
		t.Fatalf("changing the decision changed the Infrastructure: %+v", infra.Status.PlatformStatus.BareMetal)
	}
}

func TestRemoved(t *testing.T) {
	got := Removed()
	if got.Enabled || got.Reason != ReasonRemoved {
		t.Fatalf("Removed() = Enabled %v, Reason %q; want disabled with %q", got.Enabled, got.Reason, ReasonRemoved)
	}
	for _, want := range []string{"managementState", "Removed", "Set it to Managed"} {
		if !strings.Contains(got.Message, want) {
			t.Errorf("message %q does not contain %q", got.Message, want)
		}
	}
}
