package diagnose

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestOptionsConfig(t *testing.T) {
	valid := func() *Options {
		o := NewOptions()
		o.Domain = "api.cluster.example.test"
		return o
	}
	tests := []struct {
		name         string
		change       func(*Options)
		expectErrors []string
		expect       func(*testing.T, Config)
	}{
		{name: "defaults", expect: func(t *testing.T, c Config) {
			if c.Domain != "api.cluster.example.test" || c.Output != OutputText || c.Timeout != DefaultTimeout || c.DNSServer != "" || c.REST != nil {
				t.Errorf("Config() = %+v", c)
			}
		}},
		{name: "upper case and the root's dot", change: func(o *Options) { o.Domain = " API.Cluster.Example.Test. " }, expect: func(t *testing.T, c Config) {
			if c.Domain != "api.cluster.example.test" {
				t.Errorf("domain %q", c.Domain)
			}
		}},
		{name: "DNS server without a port", change: func(o *Options) { o.DNSServer = "192.0.2.53" }, expect: func(t *testing.T, c Config) {
			if c.DNSServer != "192.0.2.53:53" {
				t.Errorf("DNS server %q, want port 53", c.DNSServer)
			}
		}},
		{name: "IPv6 DNS server with a port", change: func(o *Options) { o.DNSServer = "[2001:db8::53]:5353" }, expect: func(t *testing.T, c Config) {
			if c.DNSServer != "[2001:db8::53]:5353" {
				t.Errorf("DNS server %q", c.DNSServer)
			}
		}},
		{name: "bare IPv6 DNS server", change: func(o *Options) { o.DNSServer = "2001:db8::53" }, expect: func(t *testing.T, c Config) {
			if c.DNSServer != "[2001:db8::53]:53" {
				t.Errorf("DNS server %q", c.DNSServer)
			}
		}},
		{name: "JSON", change: func(o *Options) { o.Output = OutputJSON }},

		{name: "no domain", change: func(o *Options) { o.Domain = "" }, expectErrors: []string{"--domain: required"}},
		{name: "a URL", change: func(o *Options) { o.Domain = "https://api.cluster.example.test:6443" }, expectErrors: []string{"--domain:", "without scheme or port"}},
		{name: "a port", change: func(o *Options) { o.Domain = "api.cluster.example.test:80" }, expectErrors: []string{"without scheme or port"}},
		{name: "an empty label", change: func(o *Options) { o.Domain = "api..example.test" }, expectErrors: []string{`"" is not a DNS label`}},
		{name: "a label starting with a hyphen", change: func(o *Options) { o.Domain = "-api.example.test" }, expectErrors: []string{`"-api" is not a DNS label`}},
		{name: "an underscore", change: func(o *Options) { o.Domain = "api_x.example.test" }, expectErrors: []string{"is not a DNS label"}},
		{name: "a wildcard", change: func(o *Options) { o.Domain = "*.apps.example.test" }, expectErrors: []string{`"*" is not a DNS label`}},
		{name: "a label too long", change: func(o *Options) { o.Domain = strings.Repeat("a", 64) + ".test" }, expectErrors: []string{"is not a DNS label"}},
		{name: "a name too long", change: func(o *Options) { o.Domain = strings.Repeat("a.", 127) + "test" }, expectErrors: []string{"longer than 253"}},
		{name: "DNS server by name", change: func(o *Options) { o.DNSServer = "dns.example.test:53" }, expectErrors: []string{`--dns-server: "dns.example.test:53" is not an IP address or IP:port`}},
		{name: "DNS server on port 0", change: func(o *Options) { o.DNSServer = "192.0.2.53:0" }, expectErrors: []string{"--dns-server"}},
		{name: "YAML", change: func(o *Options) { o.Output = "yaml" }, expectErrors: []string{`--output: "yaml" is not text or json`}},
		{name: "timeout too short", change: func(o *Options) { o.Timeout = 100 * time.Millisecond }, expectErrors: []string{"--timeout: 100ms is not between 1s and 5m0s"}},
		{name: "in-cluster and a kubeconfig", change: func(o *Options) { o.InCluster, o.Kubeconfig = true, "/k" }, expectErrors: []string{"--in-cluster: --kubeconfig is given too"}},
		{name: "a kubeconfig that is not there", change: func(o *Options) { o.Kubeconfig = "/nonexistent/kubeconfig" }, expectErrors: []string{"loading the kubeconfig", "/nonexistent/kubeconfig"}},
		{
			name:         "every problem at once",
			change:       func(o *Options) { o.Domain, o.Output, o.Timeout = "", "x", 0 },
			expectErrors: []string{"--domain", "--output", "--timeout"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", "")
			o := valid()
			if tc.change != nil {
				tc.change(o)
			}
			cfg, err := o.Config()
			if len(tc.expectErrors) == 0 {
				if err != nil {
					t.Fatalf("Config() error: %v", err)
				}
				if tc.expect != nil {
					tc.expect(t, cfg)
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

const testKubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://api.cluster.example.test:6443
contexts:
- name: c
  context:
    cluster: c
    user: u
current-context: c
users:
- name: u
  user:
    token: t
`

func TestKubeconfigSources(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		flag, env  string
		expectHost string
	}{
		{name: "none: the cluster is not read", expectHost: ""},
		{name: "--kubeconfig", flag: path, expectHost: "https://api.cluster.example.test:6443"},
		{name: "$KUBECONFIG", env: "/nonexistent" + string(filepath.ListSeparator) + path, expectHost: "https://api.cluster.example.test:6443"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tc.env)
			o := NewOptions()
			o.Domain, o.Kubeconfig, o.Timeout = "api.cluster.example.test", tc.flag, 3*time.Second
			cfg, err := o.Config()
			if err != nil {
				t.Fatal(err)
			}
			host := ""
			if cfg.REST != nil {
				host = cfg.REST.Host
				if cfg.REST.Timeout != 3*time.Second || cfg.REST.UserAgent != userAgent {
					t.Errorf("REST timeout %v, user agent %q: want --timeout and diagnose's own", cfg.REST.Timeout, cfg.REST.UserAgent)
				}
			}
			if host != tc.expectHost {
				t.Errorf("API server %q, want %q", host, tc.expectHost)
			}
		})
	}
}

func TestInClusterOutsideAPod(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	o := NewOptions()
	o.Domain, o.InCluster = "api.cluster.example.test", true
	if _, err := o.Config(); err == nil || !strings.Contains(err.Error(), "--in-cluster:") {
		t.Errorf("Config() error %v, want one naming --in-cluster", err)
	}
}
