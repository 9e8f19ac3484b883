package daemon

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/metrics"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/pathprobe"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/proxy"
)

// Defaults of the daemon's flags. The health and metrics ports are reserved
// in the operator's API (pkg/apis/config/v1alpha1), which refuses them as
// the listen port.
const (
	DefaultListenPort           = 8888
	DefaultHealthListenAddress  = "127.0.0.1:29448"
	DefaultMetricsListenAddress = "127.0.0.1:9450"
	DefaultResyncInterval       = 30 * time.Second

	minListenPort      = 1024 // as the API: below is privileged, 80 is what we redirect
	minResyncInterval  = time.Second
	maxResyncInterval  = time.Hour
	maxConnectionLimit = 65536
	// A probe can take up to pathprobe.DefaultTimeout; probing more often
	// than every second would only queue triggers.
	minPathProbeInterval = time.Second
	maxPathProbeInterval = time.Hour
)

// Options are the daemon's command-line flags as given.
type Options struct {
	APIVIPs               []string
	IngressVIPs           []string
	ListenPort            int
	HealthListenAddress   string
	MetricsListenAddress  string
	MetricsTLSCertFile    string
	MetricsTLSKeyFile     string
	MetricsClientCAFile   string
	MetricsAllowedClients []string
	MetricsTLSMinVersion  string
	MetricsTLSCiphers     []string
	ResyncInterval        time.Duration
	MaxConnections        int
	PathProbeInterval     time.Duration
}

// NewOptions returns the options with their defaults.
func NewOptions() *Options {
	return &Options{
		ListenPort:            DefaultListenPort,
		HealthListenAddress:   DefaultHealthListenAddress,
		MetricsListenAddress:  DefaultMetricsListenAddress,
		MetricsAllowedClients: []string{metrics.DefaultAllowedClient},
		MetricsTLSMinVersion:  metrics.TLSVersionName(metrics.DefaultMinTLSVersion),
		MetricsTLSCiphers:     cipherSuiteNames(metrics.DefaultCipherSuites),
		ResyncInterval:        DefaultResyncInterval,
		MaxConnections:        proxy.DefaultMaxConnections,
		PathProbeInterval:     pathprobe.DefaultInterval,
	}
}

// AddFlags registers the options on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&o.APIVIPs, "api-vips", o.APIVIPs,
		"API VIPs (comma-separated IPv4 and/or IPv6 addresses) whose TCP port 80 is redirected to the proxy. Required.")
	fs.StringSliceVar(&o.IngressVIPs, "ingress-vips", o.IngressVIPs,
		"Ingress VIPs (comma-separated IPv4 and/or IPv6 addresses) whose port 80 challenge requests are forwarded to. Required; none may be an API VIP.")
	fs.IntVar(&o.ListenPort, "listen-port", o.ListenPort,
		"Port the proxy listens on, on all addresses of the node (1024-65535).")
	fs.StringVar(&o.HealthListenAddress, "health-listen-address", o.HealthListenAddress,
		"IP:port serving /healthz (liveness) and /readyz (readiness).")
	fs.StringVar(&o.MetricsListenAddress, "metrics-listen-address", o.MetricsListenAddress,
		"IP:port serving Prometheus /metrics. Plain HTTP on a loopback address; any other address requires the three --metrics-*-file flags.")
	fs.StringVar(&o.MetricsTLSCertFile, "metrics-tls-cert-file", o.MetricsTLSCertFile,
		"PEM serving certificate (chain) for /metrics, e.g. tls.crt of the service-ca Secret. Reloaded when it changes.")
	fs.StringVar(&o.MetricsTLSKeyFile, "metrics-tls-key-file", o.MetricsTLSKeyFile,
		"PEM private key of --metrics-tls-cert-file, e.g. tls.key of the service-ca Secret. Reloaded when it changes.")
	fs.StringVar(&o.MetricsClientCAFile, "metrics-client-ca-file", o.MetricsClientCAFile,
		"PEM CA bundle that /metrics clients' certificates must chain to, e.g. client-ca-file of kube-system/extension-apiserver-authentication. Reloaded when it changes.")
	fs.StringSliceVar(&o.MetricsAllowedClients, "metrics-allowed-clients", o.MetricsAllowedClients,
		"Common names of the client certificates allowed to read /metrics over TLS (comma-separated); others get 403.")
	fs.StringVar(&o.MetricsTLSMinVersion, "metrics-tls-min-version", o.MetricsTLSMinVersion,
		"Minimum TLS version of /metrics over TLS: VersionTLS10 to VersionTLS13. The operator passes the cluster's TLS security profile's; the default is the Intermediate profile's.")
	fs.StringSliceVar(&o.MetricsTLSCiphers, "metrics-tls-cipher-suites", o.MetricsTLSCiphers,
		"TLS 1.0-1.2 cipher suites of /metrics over TLS, IANA names (comma-separated); TLS 1.3 suites are not configurable. The operator passes the cluster's TLS security profile's; the default is the Intermediate profile's.")
	fs.DurationVar(&o.ResyncInterval, "resync-interval", o.ResyncInterval,
		"How often the nftables rules are compared with the desired ones even without a netlink event (1s-1h).")
	fs.IntVar(&o.MaxConnections, "max-connections", o.MaxConnections,
		"Most client connections the proxy holds at once. When full, the oldest connection that has not sent its request yet is closed to make room; only when every slot serves a request do more wait in the kernel's listen backlog.")
	fs.DurationVar(&o.PathProbeInterval, "path-probe-interval", o.PathProbeInterval,
		"How often the node sends a challenge request for a random token to port 80 of each API VIP, through whichever proxy holds it, "+
			"and exports whether the router answered (http01_challenge_proxy_path_ok); also after every rule repair. 1s-1h, or 0 to disable.")
}

// Config is the validated form of Options.
type Config struct {
	APIVIPs        []netip.Addr
	IngressVIPs    []netip.Addr
	ListenPort     uint16
	HealthAddress  netip.AddrPort
	Metrics        metrics.ServerConfig
	ResyncInterval time.Duration
	MaxConnections int
	// PathProbeInterval is 0 when path probing is off.
	PathProbeInterval time.Duration
}

// Config validates the options, reporting every problem at once, each named
// by its flag.
func (o *Options) Config() (Config, error) {
	var errs []error
	flagError := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: "+format, append([]any{flag}, args...)...))
	}

	apiVIPs, err := parseVIPs(o.APIVIPs)
	if err != nil {
		flagError("api-vips", "%v", err)
	}
	ingressVIPs, err := parseVIPs(o.IngressVIPs)
	if err != nil {
		flagError("ingress-vips", "%v", err)
	}
	for _, vip := range apiVIPs {
		if slices.Contains(ingressVIPs, vip) {
			// The proxy's own connection to the ingress VIP would be
			// redirected back to the proxy.
			flagError("ingress-vips", "%s is also an API VIP; forwarding to it would loop back into the redirect", vip)
		}
	}

	if o.ListenPort < minListenPort || o.ListenPort > 65535 {
		flagError("listen-port", "%d is not between %d and 65535", o.ListenPort, minListenPort)
	}
	health, err := parseListenAddress(o.HealthListenAddress)
	if err != nil {
		flagError("health-listen-address", "%v", err)
	}
	metricsServer, metricsErrs := o.metricsConfig()
	errs = append(errs, metricsErrs...)
	metricsAddress := metricsServer.Address
	// The proxy listens on every address, so it shares a port with nothing.
	if health.IsValid() && int(health.Port()) == o.ListenPort {
		flagError("health-listen-address", "port %d is the listen port", health.Port())
	}
	if metricsAddress.IsValid() && int(metricsAddress.Port()) == o.ListenPort {
		flagError("metrics-listen-address", "port %d is the listen port", metricsAddress.Port())
	}
	if health.IsValid() && metricsAddress.IsValid() && health.Port() == metricsAddress.Port() {
		flagError("metrics-listen-address", "port %d is also the health port", metricsAddress.Port())
	}

	if o.ResyncInterval < minResyncInterval || o.ResyncInterval > maxResyncInterval {
		flagError("resync-interval", "%v is not between %v and %v", o.ResyncInterval, minResyncInterval, maxResyncInterval)
	}
	if o.MaxConnections < 1 || o.MaxConnections > maxConnectionLimit {
		flagError("max-connections", "%d is not between 1 and %d", o.MaxConnections, maxConnectionLimit)
	}
	if o.PathProbeInterval != 0 && (o.PathProbeInterval < minPathProbeInterval || o.PathProbeInterval > maxPathProbeInterval) {
		flagError("path-probe-interval", "%v is not 0 (off) or between %v and %v", o.PathProbeInterval, minPathProbeInterval, maxPathProbeInterval)
	}

	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return Config{
		APIVIPs:           apiVIPs,
		IngressVIPs:       ingressVIPs,
		ListenPort:        uint16(o.ListenPort),
		HealthAddress:     health,
		Metrics:           metricsServer,
		ResyncInterval:    o.ResyncInterval,
		MaxConnections:    o.MaxConnections,
		PathProbeInterval: o.PathProbeInterval,
	}, nil
}

// metricsConfig validates the metrics flags. Plain HTTP is allowed on
// loopback only: off the node's loopback, metrics are readable by whoever
// reaches the address, so TLS with client certificates is then required.
func (o *Options) metricsConfig() (metrics.ServerConfig, []error) {
	var errs []error
	address, err := parseListenAddress(o.MetricsListenAddress)
	if err != nil {
		errs = append(errs, fmt.Errorf("--metrics-listen-address: %v", err))
	}
	tlsFiles, given, err := o.metricsTLSFiles()
	if err != nil {
		errs = append(errs, err)
	}
	allowed, allowedErr := parseAllowedClients(o.MetricsAllowedClients)
	if allowedErr != nil {
		errs = append(errs, fmt.Errorf("--metrics-allowed-clients: %v", allowedErr))
	}
	if address.IsValid() && !address.Addr().IsLoopback() && !given {
		errs = append(errs, fmt.Errorf("--metrics-listen-address: %s is not a loopback address, and metrics off loopback are served "+
			"only over TLS with client certificates: set --metrics-tls-cert-file, --metrics-tls-key-file and --metrics-client-ca-file", address.Addr()))
	}
	if given && len(allowed) == 0 && allowedErr == nil {
		errs = append(errs, errors.New("--metrics-allowed-clients: at least one common name is required with TLS, or no client could read the metrics"))
	}
	minVersion, suites, profileErrs := o.metricsTLSProfile()
	errs = append(errs, profileErrs...)
	config := metrics.ServerConfig{Address: address}
	if given {
		config.TLS = &metrics.TLSConfig{Files: tlsFiles, AllowedClients: allowed, MinVersion: minVersion, CipherSuites: suites}
	}
	return config, errs
}

// metricsTLSProfile parses the TLS version and cipher suites: the names of
// an APIServer's TLS security profile for the version, Go's (IANA) names for
// the suites.
func (o *Options) metricsTLSProfile() (uint16, []uint16, []error) {
	var errs []error
	minVersion, ok := metrics.ParseTLSVersion(strings.TrimSpace(o.MetricsTLSMinVersion))
	if !ok {
		errs = append(errs, fmt.Errorf("--metrics-tls-min-version: %q is not one of VersionTLS10, VersionTLS11, VersionTLS12, VersionTLS13", o.MetricsTLSMinVersion))
	}
	var suites []uint16
	for _, name := range o.MetricsTLSCiphers {
		suite, ok := metrics.ParseCipherSuite(strings.TrimSpace(name))
		if !ok {
			errs = append(errs, fmt.Errorf("--metrics-tls-cipher-suites: %q is not a TLS 1.0-1.2 cipher suite Go implements (IANA names, such as %s; TLS 1.3 suites are not configurable)",
				name, tls.CipherSuiteName(metrics.DefaultCipherSuites[0])))
			continue
		}
		suites = append(suites, suite)
	}
	if len(suites) == 0 && len(errs) == 0 && minVersion < tls.VersionTLS13 {
		errs = append(errs, errors.New("--metrics-tls-cipher-suites: at least one suite is required below TLS 1.3, or no TLS 1.2 client could connect; set --metrics-tls-min-version=VersionTLS13 instead"))
	}
	return minVersion, suites, errs
}

// metricsTLSFiles returns the TLS files and whether they were given: all
// three, or none. Their existence is not checked: the Secret and ConfigMap
// they come from may be mounted after the daemon starts.
func (o *Options) metricsTLSFiles() (metrics.TLSFiles, bool, error) {
	files := metrics.TLSFiles{
		CertFile:     strings.TrimSpace(o.MetricsTLSCertFile),
		KeyFile:      strings.TrimSpace(o.MetricsTLSKeyFile),
		ClientCAFile: strings.TrimSpace(o.MetricsClientCAFile),
	}
	var missing []string
	for _, f := range []struct{ flag, value string }{
		{"--metrics-tls-cert-file", files.CertFile},
		{"--metrics-tls-key-file", files.KeyFile},
		{"--metrics-client-ca-file", files.ClientCAFile},
	} {
		if f.value == "" {
			missing = append(missing, f.flag)
		}
	}
	switch len(missing) {
	case 0:
		return files, true, nil
	case 3:
		return metrics.TLSFiles{}, false, nil
	}
	return metrics.TLSFiles{}, false, fmt.Errorf("%s: required too: metrics TLS needs the serving certificate, its key and the client CA bundle",
		strings.Join(missing, ", "))
}

// parseAllowedClients trims and checks the allowed common names.
func parseAllowedClients(values []string) ([]string, error) {
	var names []string
	for _, value := range values {
		name := strings.TrimSpace(value)
		switch {
		case name == "":
			return nil, errors.New("an empty common name would match no certificate")
		case slices.Contains(names, name):
			return nil, fmt.Errorf("%q is listed twice", name)
		}
		names = append(names, name)
	}
	return names, nil
}

// parseVIPs parses a VIP list, refusing what could never be a VIP and what
// would silently never match (an IPv4-mapped IPv6 address is matched as IPv6
// and would never see IPv4 traffic).
func parseVIPs(values []string) ([]netip.Addr, error) {
	if len(values) == 0 {
		return nil, errors.New("at least one address is required")
	}
	var vips []netip.Addr
	for _, value := range values {
		// "a, b" splits into "a" and " b"; the space is not worth an error.
		value = strings.TrimSpace(value)
		vip, err := netip.ParseAddr(value)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%q is not an IP address", value)
		case vip.Zone() != "":
			return nil, fmt.Errorf("%s has a zone; a VIP cannot be link-local", value)
		case vip.Is4In6():
			return nil, fmt.Errorf("%s is IPv4-mapped; write it as %s", value, vip.Unmap())
		case vip.IsUnspecified(), vip.IsLoopback(), vip.IsMulticast(), vip.IsLinkLocalUnicast():
			return nil, fmt.Errorf("%s cannot be a VIP", value)
		case slices.Contains(vips, vip):
			return nil, fmt.Errorf("%s is listed twice", value)
		}
		vips = append(vips, vip)
	}
	return vips, nil
}

func parseListenAddress(value string) (netip.AddrPort, error) {
	address, err := netip.ParseAddrPort(value)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("%q is not an IP:port", value)
	}
	if address.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("%q has no port", value)
	}
	return address, nil
}

func cipherSuiteNames(suites []uint16) []string {
	names := make([]string, 0, len(suites))
	for _, suite := range suites {
		names = append(names, tls.CipherSuiteName(suite))
	}
	return names
}
