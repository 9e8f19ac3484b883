package metrics

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// DefaultAllowedClient is the common name in the client certificate that
// OpenShift's platform Prometheus scrapes with (the Secret
// openshift-monitoring/metrics-client-certs, mounted in Prometheus at
// /etc/prometheus/secrets/metrics-client-certs).
const DefaultAllowedClient = "system:serviceaccount:openshift-monitoring:prometheus-k8s"

// Server limits. Prometheus scrapes every 30s or so, from two replicas, and
// keeps its connection open in between; anything beyond that is not a
// scraper, so every limit can be small.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	// idleTimeout outlasts the usual 30s scrape interval, so that a scraper
	// reuses its connection instead of paying for a handshake each time.
	idleTimeout    = 90 * time.Second
	maxHeaderBytes = 8 << 10
	// maxConnections bounds what connection floods to a port reachable from
	// the network can hold: handshakes cost CPU and memory.
	maxConnections = 32
	// recheckInterval is how often the TLS files are checked even without a
	// scrape, so that the log tells soon after start whether they are there.
	recheckInterval = 30 * time.Second
	// DefaultMinTLSVersion is the minimum of OpenShift's Intermediate TLS
	// profile, the cluster default.
	DefaultMinTLSVersion = tls.VersionTLS12
)

// DefaultCipherSuites are the TLS 1.2 cipher suites of OpenShift's
// Intermediate TLS security profile, the cluster default: ECDHE with AEAD
// only. Go's defaults add four ECDHE CBC-SHA suites that the profile leaves
// out, and a compliance scan of the node would flag them. TLS 1.3 suites are
// not configurable and all in every profile. TestDefaultCipherSuites keeps
// this list equal to openshift/api's definition of the profile.
var DefaultCipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

var tlsVersions = map[string]uint16{
	"VersionTLS10": tls.VersionTLS10,
	"VersionTLS11": tls.VersionTLS11,
	"VersionTLS12": tls.VersionTLS12,
	"VersionTLS13": tls.VersionTLS13,
}

// ParseTLSVersion parses a TLS version by the name an APIServer's TLS
// security profile gives it ("VersionTLS12").
func ParseTLSVersion(name string) (uint16, bool) {
	version, ok := tlsVersions[name]
	return version, ok
}

// TLSVersionName is the name ParseTLSVersion parses.
func TLSVersionName(version uint16) string {
	for name, v := range tlsVersions {
		if v == version {
			return name
		}
	}
	return fmt.Sprintf("0x%04x", version)
}

// ParseCipherSuite parses a TLS 1.0-1.2 cipher suite by its IANA name, as Go
// names it, secure or not: the cluster's profile decides (Old allows CBC).
// TLS 1.3 suites are not configurable in Go and not accepted.
func ParseCipherSuite(name string) (uint16, bool) {
	for _, suite := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		if suite.Name == name && slices.ContainsFunc(suite.SupportedVersions, func(v uint16) bool { return v <= tls.VersionTLS12 }) {
			return suite.ID, true
		}
	}
	return 0, false
}

// ServerConfig configures NewServer.
type ServerConfig struct {
	Address netip.AddrPort
	// TLS, when set, makes the server HTTPS with client certificates. Without
	// it the server speaks plain HTTP with no authorization, which the
	// daemon's options allow on a loopback address only.
	TLS *TLSConfig
}

// TLSConfig is the metrics server's TLS and authorization.
type TLSConfig struct {
	Files TLSFiles
	// MinVersion and CipherSuites follow the cluster's TLS security profile
	// (the operator passes them as flags); zero values are the Intermediate
	// profile's, DefaultMinTLSVersion and DefaultCipherSuites. CipherSuites
	// only matter for TLS 1.2 and older.
	MinVersion   uint16
	CipherSuites []uint16
	// AllowedClients are the common names of the client certificates that
	// may read the metrics. The client CA bundle signs client certificates
	// for every user and component of the cluster (kubelets, admins), so
	// verifying a certificate proves who the client is, not that it may read.
	AllowedClients []string
}

// Server serves the metrics: GET /metrics, and nothing else.
type Server struct {
	config      ServerConfig
	server      *http.Server
	credentials *credentialReloader // nil without TLS
	address     net.Addr            // set by Start

	stopRecheck context.CancelFunc
	rechecking  sync.WaitGroup
}

// NewServer returns a server for m's registry. Start starts it.
func NewServer(config ServerConfig, m *Metrics) *Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	s := &Server{
		config: config,
		server: &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: readHeaderTimeout,
			ReadTimeout:       readTimeout,
			WriteTimeout:      writeTimeout,
			IdleTimeout:       idleTimeout,
			MaxHeaderBytes:    maxHeaderBytes,
			ErrorLog:          log.New(serverErrorLog{}, "", 0),
			ConnState:         trackRequests,
			// HTTP/1.1 only: Prometheus needs nothing else, and HTTP/2
			// would add its own attack surface to a port on the network.
			TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		},
	}
	if config.TLS != nil {
		s.credentials = newCredentialReloader(config.TLS.Files)
		s.server.Handler = authorizeClients(config.TLS.AllowedClients, mux)
	}
	return s
}

// Start listens and serves in the background. A port that is taken is an
// error; TLS files that are missing or broken are not: the server logs why,
// fails handshakes, and picks the files up as soon as they can be loaded,
// because the Secret holding them can appear after the pod starts.
func (s *Server) Start() error {
	ln, err := net.Listen("tcp", s.config.Address.String())
	if err != nil {
		return fmt.Errorf("listening for metrics on %s: %w", s.config.Address, err)
	}
	s.address = ln.Addr()
	ln = newEvictingListener(ln, maxConnections)
	scheme := "http"
	if s.credentials != nil {
		scheme = "https"
		ln = tls.NewListener(ln, s.tlsConfig())
		ctx, cancel := context.WithCancel(context.Background())
		s.stopRecheck = cancel
		s.rechecking.Add(1)
		go func() { defer s.rechecking.Done(); s.recheckCredentials(ctx) }()
	}
	go func() {
		if err := s.server.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			klog.ErrorS(err, "Metrics server stopped", "address", s.config.Address)
		}
	}()
	klog.InfoS("Serving metrics", "url", scheme+"://"+s.address.String()+"/metrics", "allowedClients", s.allowedClients())
	return nil
}

// Addr is the address the server listens on, once started.
func (s *Server) Addr() net.Addr { return s.address }

// Shutdown stops the server.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.stopRecheck != nil {
		s.stopRecheck()
		s.rechecking.Wait()
	}
	return s.server.Shutdown(ctx)
}

func (s *Server) allowedClients() []string {
	if s.config.TLS == nil {
		return nil
	}
	return s.config.TLS.AllowedClients
}

// recheckCredentials loads the TLS files at once and then periodically, for
// the log: handshakes reload them by themselves.
func (s *Server) recheckCredentials(ctx context.Context) {
	ticker := time.NewTicker(recheckInterval)
	defer ticker.Stop()
	for {
		_, _ = s.credentials.get()
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// tlsConfig asks for the credentials on every handshake, which is what makes
// rotations of the serving certificate and of the client CAs take effect
// without a restart.
func (s *Server) tlsConfig() *tls.Config {
	minVersion, suites := s.config.TLS.profile()
	return &tls.Config{
		MinVersion:             minVersion,
		CipherSuites:           suites,
		SessionTicketsDisabled: true,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			creds, err := s.credentials.get()
			if err != nil {
				return nil, err
			}
			return serverTLSConfig(creds, minVersion, suites), nil
		},
	}
}

// profile is the minimum TLS version and the TLS 1.2 cipher suites, the
// Intermediate profile's where unset.
func (c *TLSConfig) profile() (minVersion uint16, suites []uint16) {
	minVersion, suites = c.MinVersion, c.CipherSuites
	if minVersion == 0 {
		minVersion = DefaultMinTLSVersion
	}
	if len(suites) == 0 {
		suites = DefaultCipherSuites
	}
	return minVersion, suites
}

// serverTLSConfig is the TLS configuration of one handshake: our certificate,
// and a client certificate required and verified against the client CAs.
//
// Session resumption is off: a resumed session carries the client's chain as
// verified when the ticket was issued, possibly against a CA bundle rotated
// since. A scraper keeps its connection open between scrapes, so full
// handshakes are rare anyway.
func serverTLSConfig(creds *credentials, minVersion uint16, suites []uint16) *tls.Config {
	return &tls.Config{
		MinVersion:             minVersion,
		CipherSuites:           suites,
		Certificates:           []tls.Certificate{creds.certificate},
		ClientAuth:             tls.RequireAndVerifyClientCert,
		ClientCAs:              creds.clientCAs,
		NextProtos:             []string{"http/1.1"},
		SessionTicketsDisabled: true,
	}
}

// authorizeClients serves next only to clients whose verified certificate
// has one of the allowed common names, and answers 403 to every other
// request, whatever its path, so that an unauthorized client learns nothing.
func authorizeClients(allowed []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, verified := verifiedClientName(r.TLS)
		if !verified || !slices.Contains(allowed, name) {
			klog.V(2).InfoS("Refused a metrics request", "client", r.RemoteAddr, "commonName", name, "verified", verified)
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// verifiedClientName returns the common name of the client certificate that
// the handshake verified against the client CAs. Only a verified chain
// counts: PeerCertificates alone is whatever the client sent.
func verifiedClientName(state *tls.ConnectionState) (string, bool) {
	if state == nil || len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		return "", false
	}
	return state.VerifiedChains[0][0].Subject.CommonName, true
}

// serverErrorLog sends net/http's server errors to klog. Failed handshakes
// are logged only at -v=2: the port is reachable from the network, and every
// port scan would otherwise leave a warning.
type serverErrorLog struct{}

func (serverErrorLog) Write(p []byte) (int, error) {
	line := strings.TrimSuffix(string(p), "\n")
	if strings.HasPrefix(line, "http: TLS handshake error") {
		klog.V(2).InfoS("Metrics TLS handshake failed", "detail", line)
	} else {
		klog.Warning(line)
	}
	return len(p), nil
}
