package diagnose

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Output formats.
const (
	OutputText = "text"
	OutputJSON = "json"
)

const (
	// DefaultTimeout bounds each DNS lookup, HTTP request and API read. It
	// outlasts the proxy's own upstream limits (2s to connect, 5s for
	// headers), so that a silent router shows as the proxy's 504, which
	// names the ingress VIP, rather than as our own timeout.
	DefaultTimeout = 10 * time.Second
	minTimeout     = time.Second
	maxTimeout     = 5 * time.Minute
	dnsPort        = 53
	maxDomainBytes = 253
	maxLabelBytes  = 63
)

// Options are the diagnose command's flags as given.
type Options struct {
	Domain     string
	Kubeconfig string
	InCluster  bool
	Output     string
	DNSServer  string
	Timeout    time.Duration
}

// NewOptions returns the options with their defaults.
func NewOptions() *Options {
	return &Options{Output: OutputText, Timeout: DefaultTimeout}
}

// AddFlags registers the options on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Domain, "domain", o.Domain,
		"The host name whose certificate is not issued, e.g. api.mycluster.example.com. Required.")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig,
		"Kubeconfig of the cluster (default $KUBECONFIG). With one, DNS is compared with the API VIPs and the configuration, operator, proxy pods and cert-manager Challenges are checked too.")
	fs.BoolVar(&o.InCluster, "in-cluster", o.InCluster,
		"Read the cluster with the service account of the pod diagnose runs in, instead of a kubeconfig.")
	fs.StringVarP(&o.Output, "output", "o", o.Output, "Output format: text (a checklist) or json.")
	fs.StringVar(&o.DNSServer, "dns-server", o.DNSServer,
		"DNS server (IP or IP:port, port 53 by default) to resolve --domain with instead of the system resolver, e.g. a public resolver to see what the ACME CA sees.")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "How long each DNS lookup, HTTP request and API read may take (1s-5m).")
}

// Config is the validated form of Options.
type Config struct {
	Domain    string
	DNSServer string
	Timeout   time.Duration
	Output    string
	// REST is nil when no cluster was named: the cluster checks are left
	// out.
	REST *rest.Config
}

// Config validates the options, reporting every problem at once, each named
// by its flag, and loads the kubeconfig.
func (o *Options) Config() (Config, error) {
	var errs []error
	flagError := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: "+format, append([]any{flag}, args...)...))
	}
	domain, err := parseDomain(o.Domain)
	if err != nil {
		flagError("domain", "%v", err)
	}
	dnsServer, err := parseDNSServer(o.DNSServer)
	if err != nil {
		flagError("dns-server", "%v", err)
	}
	if o.Output != OutputText && o.Output != OutputJSON {
		flagError("output", "%q is not %s or %s", o.Output, OutputText, OutputJSON)
	}
	if o.Timeout < minTimeout || o.Timeout > maxTimeout {
		flagError("timeout", "%v is not between %v and %v", o.Timeout, minTimeout, maxTimeout)
	}
	if o.InCluster && o.Kubeconfig != "" {
		flagError("in-cluster", "--kubeconfig is given too: use one or the other")
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	rc, err := o.restConfig()
	if err != nil {
		return Config{}, err
	}
	if rc != nil {
		rc.Timeout = o.Timeout
		rc.UserAgent = userAgent
		// Deprecation warnings about other APIs are not what the admin
		// asked about.
		rc.WarningHandler = rest.NoWarnings{}
	}
	return Config{Domain: domain, DNSServer: dnsServer, Timeout: o.Timeout, Output: o.Output, REST: rc}, nil
}

// restConfig loads the cluster's client configuration from --kubeconfig,
// else $KUBECONFIG, else the pod's service account with --in-cluster. It is
// nil without any: ~/.kube/config is not read on a guess, since it may be
// another cluster's.
func (o *Options) restConfig() (*rest.Config, error) {
	if o.InCluster {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("--in-cluster: %w", err)
		}
		return rc, nil
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: o.Kubeconfig}
	if o.Kubeconfig == "" {
		env := os.Getenv(clientcmd.RecommendedConfigPathEnvVar)
		if env == "" {
			return nil, nil
		}
		rules.Precedence = filepath.SplitList(env)
	}
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	return rc, nil
}

// parseDomain accepts a host name, in any case and with or without the
// root's dot, and returns it lower-case without the dot.
func parseDomain(value string) (string, error) {
	domain := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(value)), ".")
	switch {
	case domain == "":
		return "", errors.New("required: the host name whose certificate is not issued, e.g. api.mycluster.example.com")
	case strings.ContainsAny(domain, ":/@"):
		return "", fmt.Errorf("%q is not a host name: give the name alone, without scheme or port, e.g. api.mycluster.example.com", value)
	case len(domain) > maxDomainBytes:
		return "", fmt.Errorf("%q is longer than %d characters", value, maxDomainBytes)
	}
	for _, label := range strings.Split(domain, ".") {
		if !validLabel(label) {
			return "", fmt.Errorf("%q is not a host name: %q is not a DNS label", value, label)
		}
	}
	return domain, nil
}

// validLabel reports whether label is a DNS label (RFC 1123): letters,
// digits and hyphens, not at either end.
func validLabel(label string) bool {
	if label == "" || len(label) > maxLabelBytes || label[0] == '-' || label[len(label)-1] == '-' {
		return false
	}
	for _, c := range label {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// parseDNSServer accepts IP:port or a bare IP (port 53). A name is refused:
// resolving the resolver would need the resolver this flag replaces.
func parseDNSServer(value string) (string, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return "", nil
	}
	if addr, err := netip.ParseAddr(value); err == nil {
		return netip.AddrPortFrom(addr, dnsPort).String(), nil
	}
	addrPort, err := netip.ParseAddrPort(value)
	if err != nil || addrPort.Port() == 0 {
		return "", fmt.Errorf("%q is not an IP address or IP:port", value)
	}
	return addrPort.String(), nil
}
