package daemon

import (
	"crypto/tls"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/metrics"
)

func TestOptionsConfig(t *testing.T) {
	valid := func() *Options {
		o := NewOptions()
		o.APIVIPs = []string{"192.0.2.10", "2001:db8::10"}
		o.IngressVIPs = []string{"192.0.2.20", "2001:db8::20"}
		return o
	}
	tests := []struct {
		name   string
		change func(*Options)
		// expectErrors are substrings the error must contain; none means
		// the options are valid.
		expectErrors []string
	}{
		{name: "defaults with VIPs"},
		{name: "IPv4 only", change: func(o *Options) { o.APIVIPs, o.IngressVIPs = []string{"192.0.2.10"}, []string{"192.0.2.20"} }},
		{name: "IPv6 only", change: func(o *Options) { o.APIVIPs, o.IngressVIPs = []string{"2001:db8::10"}, []string{"2001:db8::20"} }},
		{name: "IPv6 API VIP, IPv4 ingress VIP", change: func(o *Options) { o.APIVIPs, o.IngressVIPs = []string{"2001:db8::10"}, []string{"192.0.2.20"} }},
		{name: "highest port", change: func(o *Options) { o.ListenPort = 65535 }},
		{name: "spaces after commas", change: func(o *Options) { o.APIVIPs = []string{"192.0.2.10", " 2001:db8::10"} }},
		{name: "IPv6 loopback metrics", change: func(o *Options) { o.MetricsListenAddress = "[::1]:9450" }},
		{name: "health on all addresses", change: func(o *Options) { o.HealthListenAddress = "0.0.0.0:29448" }},

		{name: "no API VIPs", change: func(o *Options) { o.APIVIPs = nil }, expectErrors: []string{"--api-vips: at least one address is required"}},
		{name: "no ingress VIPs", change: func(o *Options) { o.IngressVIPs = nil }, expectErrors: []string{"--ingress-vips: at least one address is required"}},
		{name: "unparseable VIP", change: func(o *Options) { o.APIVIPs = []string{"192.0.2.300"} }, expectErrors: []string{`--api-vips: "192.0.2.300" is not an IP address`}},
		{name: "empty entry from a trailing comma", change: func(o *Options) { o.IngressVIPs = []string{"192.0.2.20", ""} }, expectErrors: []string{`--ingress-vips: "" is not an IP address`}},
		{name: "host name", change: func(o *Options) { o.IngressVIPs = []string{"router.example"} }, expectErrors: []string{`"router.example" is not an IP address`}},
		{name: "CIDR", change: func(o *Options) { o.APIVIPs = []string{"192.0.2.10/32"} }, expectErrors: []string{`"192.0.2.10/32" is not an IP address`}},
		{name: "unspecified", change: func(o *Options) { o.APIVIPs = []string{"0.0.0.0"} }, expectErrors: []string{"0.0.0.0 cannot be a VIP"}},
		{name: "loopback", change: func(o *Options) { o.IngressVIPs = []string{"127.0.0.1"} }, expectErrors: []string{"127.0.0.1 cannot be a VIP"}},
		{name: "multicast", change: func(o *Options) { o.APIVIPs = []string{"ff02::1"} }, expectErrors: []string{"ff02::1 cannot be a VIP"}},
		{name: "link-local with zone", change: func(o *Options) { o.APIVIPs = []string{"fe80::1%eth0"} }, expectErrors: []string{"has a zone"}},
		{name: "IPv4-mapped", change: func(o *Options) { o.APIVIPs = []string{"::ffff:192.0.2.10"} }, expectErrors: []string{"write it as 192.0.2.10"}},
		{name: "duplicate", change: func(o *Options) { o.APIVIPs = []string{"192.0.2.10", "192.0.2.10"} }, expectErrors: []string{"192.0.2.10 is listed twice"}},
		{
			name:         "API VIP equal to an ingress VIP",
			change:       func(o *Options) { o.IngressVIPs = []string{"192.0.2.20", "2001:db8::10"} },
			expectErrors: []string{"--ingress-vips: 2001:db8::10 is also an API VIP"},
		},
		{
			name:         "same VIP spelled differently",
			change:       func(o *Options) { o.IngressVIPs = []string{"2001:0db8:0000::0010"} },
			expectErrors: []string{"is also an API VIP"},
		},
		{name: "port 80", change: func(o *Options) { o.ListenPort = 80 }, expectErrors: []string{"--listen-port: 80 is not between 1024 and 65535"}},
		{name: "port too high", change: func(o *Options) { o.ListenPort = 65536 }, expectErrors: []string{"--listen-port: 65536"}},
		{name: "health without port", change: func(o *Options) { o.HealthListenAddress = "127.0.0.1" }, expectErrors: []string{`--health-listen-address: "127.0.0.1" is not an IP:port`}},
		{name: "health port 0", change: func(o *Options) { o.HealthListenAddress = "127.0.0.1:0" }, expectErrors: []string{"has no port"}},
		{name: "health host name", change: func(o *Options) { o.HealthListenAddress = "localhost:29448" }, expectErrors: []string{"is not an IP:port"}},
		{
			name:   "metrics off loopback without TLS",
			change: func(o *Options) { o.MetricsListenAddress = "0.0.0.0:9450" },
			expectErrors: []string{"--metrics-listen-address: 0.0.0.0 is not a loopback address",
				"set --metrics-tls-cert-file, --metrics-tls-key-file and --metrics-client-ca-file"},
		},
		{
			name:         "metrics on the node IP without TLS",
			change:       func(o *Options) { o.MetricsListenAddress = "[2001:db8::11]:9450" },
			expectErrors: []string{"--metrics-listen-address: 2001:db8::11 is not a loopback address"},
		},
		{name: "metrics off loopback with TLS", change: func(o *Options) { withMetricsTLS(o); o.MetricsListenAddress = "0.0.0.0:9450" }},
		{name: "metrics on loopback with TLS", change: withMetricsTLS},
		{
			name: "metrics TLS without the client CA",
			change: func(o *Options) {
				withMetricsTLS(o)
				o.MetricsListenAddress = "0.0.0.0:9450"
				o.MetricsClientCAFile = " "
			},
			expectErrors: []string{"--metrics-client-ca-file: required too", "--metrics-listen-address: 0.0.0.0 is not a loopback address"},
		},
		{
			name:         "metrics TLS certificate without its key",
			change:       func(o *Options) { o.MetricsTLSCertFile = "/tls/tls.crt" },
			expectErrors: []string{"--metrics-tls-key-file, --metrics-client-ca-file: required too"},
		},
		{
			name:         "metrics client CA alone",
			change:       func(o *Options) { o.MetricsClientCAFile = "/ca/client-ca-file" },
			expectErrors: []string{"--metrics-tls-cert-file, --metrics-tls-key-file: required too"},
		},
		{
			name:         "no allowed metrics client with TLS",
			change:       func(o *Options) { withMetricsTLS(o); o.MetricsAllowedClients = nil },
			expectErrors: []string{"--metrics-allowed-clients: at least one common name is required with TLS"},
		},
		{name: "no allowed metrics client without TLS is fine", change: func(o *Options) { o.MetricsAllowedClients = nil }},
		{
			name:         "empty allowed metrics client",
			change:       func(o *Options) { withMetricsTLS(o); o.MetricsAllowedClients = []string{"a", " "} },
			expectErrors: []string{"--metrics-allowed-clients: an empty common name would match no certificate"},
		},
		{
			name:         "allowed metrics client listed twice",
			change:       func(o *Options) { withMetricsTLS(o); o.MetricsAllowedClients = []string{"a", " a"} },
			expectErrors: []string{`--metrics-allowed-clients: "a" is listed twice`},
		},
		{name: "TLS 1.3 only", change: func(o *Options) { o.MetricsTLSMinVersion, o.MetricsTLSCiphers = "VersionTLS13", nil }},
		{name: "a CBC suite (the Old profile)", change: func(o *Options) {
			o.MetricsTLSCiphers = []string{"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", " TLS_RSA_WITH_AES_128_CBC_SHA "}
		}},
		{name: "unknown TLS version", change: func(o *Options) { o.MetricsTLSMinVersion = "TLSv1.2" }, expectErrors: []string{`--metrics-tls-min-version: "TLSv1.2" is not one of VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13`}},
		{
			name:         "OpenSSL cipher name",
			change:       func(o *Options) { o.MetricsTLSCiphers = []string{"ECDHE-RSA-AES128-GCM-SHA256"} },
			expectErrors: []string{`--metrics-tls-cipher-suites: "ECDHE-RSA-AES128-GCM-SHA256" is not a TLS 1.0-1.2 cipher suite Go implements (IANA names, such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256; TLS 1.3 suites are not configurable)`},
		},
		{name: "TLS 1.3 suite name", change: func(o *Options) { o.MetricsTLSCiphers = []string{"TLS_AES_128_GCM_SHA256"} }, expectErrors: []string{`"TLS_AES_128_GCM_SHA256" is not a TLS 1.0-1.2 cipher suite`}},
		{name: "no suite below TLS 1.3", change: func(o *Options) { o.MetricsTLSCiphers = nil }, expectErrors: []string{"--metrics-tls-cipher-suites: at least one suite is required below TLS 1.3"}},
		{name: "health on the listen port", change: func(o *Options) { o.HealthListenAddress = "127.0.0.1:8888" }, expectErrors: []string{"--health-listen-address: port 8888 is the listen port"}},
		{name: "metrics on the listen port", change: func(o *Options) { o.ListenPort = 9450 }, expectErrors: []string{"--metrics-listen-address: port 9450 is the listen port"}},
		{name: "health and metrics on one port", change: func(o *Options) { o.MetricsListenAddress = "127.0.0.1:29448" }, expectErrors: []string{"port 29448 is also the health port"}},
		{name: "resync too short", change: func(o *Options) { o.ResyncInterval = 100 * time.Millisecond }, expectErrors: []string{"--resync-interval: 100ms is not between 1s and 1h0m0s"}},
		{name: "resync too long", change: func(o *Options) { o.ResyncInterval = 2 * time.Hour }, expectErrors: []string{"--resync-interval"}},
		{name: "no connections", change: func(o *Options) { o.MaxConnections = 0 }, expectErrors: []string{"--max-connections: 0 is not between 1 and 65536"}},
		{name: "path probing off", change: func(o *Options) { o.PathProbeInterval = 0 }},
		{name: "path probing every second", change: func(o *Options) { o.PathProbeInterval = time.Second }},
		{name: "path probe interval too short", change: func(o *Options) { o.PathProbeInterval = 500 * time.Millisecond }, expectErrors: []string{"--path-probe-interval: 500ms is not 0 (off) or between 1s and 1h0m0s"}},
		{name: "path probe interval too long", change: func(o *Options) { o.PathProbeInterval = 61 * time.Minute }, expectErrors: []string{"--path-probe-interval: 1h1m0s"}},
		{name: "negative path probe interval", change: func(o *Options) { o.PathProbeInterval = -time.Second }, expectErrors: []string{"--path-probe-interval: -1s"}},
		{
			name: "every problem is reported at once",
			change: func(o *Options) {
				o.APIVIPs, o.IngressVIPs, o.ListenPort = []string{"x"}, nil, 1
			},
			expectErrors: []string{"--api-vips", "--ingress-vips", "--listen-port"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := valid()
			if tc.change != nil {
				tc.change(o)
			}
			cfg, err := o.Config()
			if len(tc.expectErrors) == 0 {
				if err != nil {
					t.Fatalf("Config() error: %v", err)
				}
				if len(cfg.APIVIPs) != len(o.APIVIPs) || len(cfg.IngressVIPs) != len(o.IngressVIPs) || int(cfg.ListenPort) != o.ListenPort {
					t.Errorf("Config() = %+v does not reflect %+v", cfg, o)
				}
				return
			}
			if err == nil {
				t.Fatalf("Config() = %+v, want an error", cfg)
			}
			for _, expect := range tc.expectErrors {
				if !strings.Contains(err.Error(), expect) {
					t.Errorf("error %q does not mention %q", err, expect)
				}
			}
		})
	}
}

func withMetricsTLS(o *Options) {
	o.MetricsTLSCertFile, o.MetricsTLSKeyFile, o.MetricsClientCAFile = "/tls/tls.crt", "/tls/tls.key", "/ca/client-ca-file"
}

func TestConfigFromDefaults(t *testing.T) {
	o := NewOptions()
	o.APIVIPs = []string{"192.0.2.10"}
	o.IngressVIPs = []string{"2001:db8::20"}
	cfg, err := o.Config()
	if err != nil {
		t.Fatal(err)
	}
	expect := Config{
		APIVIPs:           []netip.Addr{netip.MustParseAddr("192.0.2.10")},
		IngressVIPs:       []netip.Addr{netip.MustParseAddr("2001:db8::20")},
		ListenPort:        8888,
		HealthAddress:     netip.MustParseAddrPort("127.0.0.1:29448"),
		Metrics:           metrics.ServerConfig{Address: netip.MustParseAddrPort("127.0.0.1:9450")},
		ResyncInterval:    30 * time.Second,
		MaxConnections:    1024,
		PathProbeInterval: 30 * time.Second,
	}
	if !reflect.DeepEqual(cfg, expect) {
		t.Errorf("Config() =\n  %+v\nwant\n  %+v", cfg, expect)
	}
}

// TestConfigWithMetricsTLS checks what the operator renders for a cluster:
// metrics on every address, over TLS, for Prometheus only.
func TestConfigWithMetricsTLS(t *testing.T) {
	o := NewOptions()
	o.APIVIPs, o.IngressVIPs = []string{"192.0.2.10"}, []string{"192.0.2.20"}
	o.MetricsListenAddress = "0.0.0.0:9450"
	o.MetricsTLSCertFile, o.MetricsTLSKeyFile = " /etc/metrics-tls/tls.crt", "/etc/metrics-tls/tls.key"
	o.MetricsClientCAFile = "/etc/metrics-client-ca/client-ca-file"
	cfg, err := o.Config()
	if err != nil {
		t.Fatal(err)
	}
	expect := metrics.ServerConfig{
		Address: netip.MustParseAddrPort("0.0.0.0:9450"),
		TLS: &metrics.TLSConfig{
			Files: metrics.TLSFiles{
				CertFile:     "/etc/metrics-tls/tls.crt",
				KeyFile:      "/etc/metrics-tls/tls.key",
				ClientCAFile: "/etc/metrics-client-ca/client-ca-file",
			},
			AllowedClients: []string{"system:serviceaccount:openshift-monitoring:prometheus-k8s"},
			MinVersion:     tls.VersionTLS12,
			CipherSuites:   metrics.DefaultCipherSuites,
		},
	}
	if !reflect.DeepEqual(cfg.Metrics, expect) {
		t.Errorf("Config().Metrics =\n  %+v\nwant\n  %+v", cfg.Metrics, expect)
	}
}
