package metrics

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	configv1 "github.com/openshift/api/config/v1"
	"github.com/openshift/library-go/pkg/crypto"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/metrics/metricstest"
)

const loopback = "127.0.0.1"

// metricsPKI is what a cluster provides: the service CA that signs our
// serving certificate, and the client CA that signs Prometheus's client
// certificate and everybody else's.
type metricsPKI struct {
	serviceCA, clientCA *metricstest.CA
	tlsMount, caMount   *metricstest.Mount
	files               TLSFiles
}

func newMetricsPKI(t *testing.T) *metricsPKI {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"tls", "ca"} {
		if err := os.Mkdir(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := &metricsPKI{
		serviceCA: metricstest.NewCA(t, "openshift-service-serving-signer"),
		clientCA:  metricstest.NewCA(t, "kube-apiserver-client-signer"),
		tlsMount:  metricstest.NewMount(filepath.Join(dir, "tls")),
		caMount:   metricstest.NewMount(filepath.Join(dir, "ca")),
	}
	p.files = TLSFiles{CertFile: p.tlsMount.Path("tls.crt"), KeyFile: p.tlsMount.Path("tls.key"), ClientCAFile: p.caMount.Path("client-ca-file")}
	return p
}

// writeServing issues a serving certificate named commonName and mounts it.
func (p *metricsPKI) writeServing(t *testing.T, commonName string) {
	t.Helper()
	certPEM, keyPEM := p.serviceCA.IssueServer(t, commonName, loopback)
	p.tlsMount.Write(t, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM})
}

func (p *metricsPKI) writeClientCA(t *testing.T, ca *metricstest.CA) {
	t.Helper()
	p.caMount.Write(t, map[string][]byte{"client-ca-file": ca.PEM})
}

// startTLSServer starts a metrics server on loopback with TLS from p.
func startTLSServer(t *testing.T, p *metricsPKI, allowed ...string) (*Metrics, string) {
	t.Helper()
	m := New()
	m.RequestHandled("forwarded", 200)
	s := NewServer(ServerConfig{
		Address: netip.MustParseAddrPort("127.0.0.1:0"),
		TLS:     &TLSConfig{Files: p.files, AllowedClients: allowed},
	}, m)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	return m, s.Addr().String()
}

// scrapeResult is what a client saw: the serving certificate's common name,
// the status and body, or the error.
type scrapeResult struct {
	servedBy string
	status   int
	body     string
	err      error
}

// scrape makes one request on a new connection, so every call is a new
// handshake.
func scrape(p *metricsPKI, address, method, path string, clientCert *tls.Certificate, maxVersion uint16) scrapeResult {
	tlsConfig := &tls.Config{RootCAs: p.serviceCA.Pool(), MaxVersion: maxVersion}
	if clientCert != nil {
		// Send the certificate whatever CAs the server asks for: Go's client
		// would otherwise leave out one the server does not trust.
		tlsConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return clientCert, nil }
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}}
	req, err := http.NewRequest(method, "https://"+address+path, nil)
	if err != nil {
		return scrapeResult{err: err}
	}
	resp, err := client.Do(req)
	if err != nil {
		return scrapeResult{err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return scrapeResult{servedBy: resp.TLS.PeerCertificates[0].Subject.CommonName, status: resp.StatusCode, body: string(body)}
}

func TestTLSServerAuthorization(t *testing.T) {
	p := newMetricsPKI(t)
	p.writeServing(t, "metrics.openshift-http01-challenge-proxy.svc")
	p.writeClientCA(t, p.clientCA)
	_, address := startTLSServer(t, p, DefaultAllowedClient, "system:serviceaccount:openshift-monitoring:prometheus-user-workload")

	prometheus := p.clientCA.IssueClient(t, DefaultAllowedClient)
	userWorkload := p.clientCA.IssueClient(t, "system:serviceaccount:openshift-monitoring:prometheus-user-workload")
	kubelet := p.clientCA.IssueClient(t, "system:node:master-0")
	prefix := p.clientCA.IssueClient(t, DefaultAllowedClient+"-impostor")
	foreign := metricstest.NewCA(t, "someone else's CA").IssueClient(t, DefaultAllowedClient)

	tests := []struct {
		name         string
		method, path string
		cert         *tls.Certificate
		maxVersion   uint16
		expectStatus int    // 0: the handshake fails
		expectError  string // part of the client's error when the handshake fails
	}{
		{name: "Prometheus reads the metrics", method: "GET", path: "/metrics", cert: &prometheus, expectStatus: 200},
		{name: "second allowed name", method: "GET", path: "/metrics", cert: &userWorkload, expectStatus: 200},
		{name: "Prometheus over TLS 1.2", method: "GET", path: "/metrics", cert: &prometheus, maxVersion: tls.VersionTLS12, expectStatus: 200},
		{name: "verified certificate with another name", method: "GET", path: "/metrics", cert: &kubelet, expectStatus: 403},
		{name: "name that only starts like an allowed one", method: "GET", path: "/metrics", cert: &prefix, expectStatus: 403},
		{name: "other paths are forbidden before they are looked up", method: "GET", path: "/debug/pprof/", cert: &kubelet, expectStatus: 403},
		{name: "allowed client, other path", method: "GET", path: "/healthz", cert: &prometheus, expectStatus: 404},
		{name: "allowed client, other method", method: "POST", path: "/metrics", cert: &prometheus, expectStatus: 405},
		{name: "no client certificate", method: "GET", path: "/metrics", expectError: "tls: certificate required"},
		{name: "no client certificate over TLS 1.2", method: "GET", path: "/metrics", maxVersion: tls.VersionTLS12, expectError: "tls: "},
		{name: "allowed name signed by another CA", method: "GET", path: "/metrics", cert: &foreign, expectError: "tls: unknown certificate authority"},
		{name: "TLS 1.1", method: "GET", path: "/metrics", cert: &prometheus, maxVersion: tls.VersionTLS11, expectError: "tls: "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := scrape(p, address, tc.method, tc.path, tc.cert, tc.maxVersion)
			if tc.expectStatus == 0 {
				if got.err == nil || !strings.Contains(got.err.Error(), tc.expectError) {
					t.Fatalf("got %d %q, %v; want a failed handshake (%q)", got.status, got.body, got.err, tc.expectError)
				}
				return
			}
			if got.err != nil || got.status != tc.expectStatus {
				t.Fatalf("got %d %v, want %d", got.status, got.err, tc.expectStatus)
			}
			hasMetrics := strings.Contains(got.body, `http01_challenge_proxy_requests_total{code="200",outcome="forwarded"} 1`) &&
				strings.Contains(got.body, "http01_challenge_proxy_rules_present")
			if hasMetrics != (tc.expectStatus == 200) {
				t.Errorf("status %d with body %.200q", got.status, got.body)
			}
		})
	}

	t.Run("plain HTTP is refused", func(t *testing.T) {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + address + "/metrics")
		if err != nil {
			return // refused outright: as good as a 400
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), "http01_challenge_proxy") {
			t.Errorf("plain HTTP got %d %q, want 400 without metrics", resp.StatusCode, body)
		}
	})
}

func TestTLSServerPicksUpRotationsWithoutRestart(t *testing.T) {
	p := newMetricsPKI(t)
	p.writeServing(t, "first")
	p.writeClientCA(t, p.clientCA)
	_, address := startTLSServer(t, p, DefaultAllowedClient)
	prometheus := p.clientCA.IssueClient(t, DefaultAllowedClient)

	expectServedBy := func(t *testing.T, cert *tls.Certificate, expect string) {
		t.Helper()
		if got := scrape(p, address, "GET", "/metrics", cert, 0); got.err != nil || got.status != 200 || got.servedBy != expect {
			t.Fatalf("got %d from %q, %v; want 200 from %q", got.status, got.servedBy, got.err, expect)
		}
	}
	expectServedBy(t, &prometheus, "first")

	t.Run("serving certificate", func(t *testing.T) {
		p.writeServing(t, "second")
		expectServedBy(t, &prometheus, "second")
	})

	t.Run("client CA", func(t *testing.T) {
		rotatedCA := metricstest.NewCA(t, "kube-apiserver-client-signer, rotated")
		rotatedPrometheus := rotatedCA.IssueClient(t, DefaultAllowedClient)
		// During a rotation the bundle holds both CAs.
		p.caMount.Write(t, map[string][]byte{"client-ca-file": append(append([]byte{}, p.clientCA.PEM...), rotatedCA.PEM...)})
		expectServedBy(t, &prometheus, "second")
		expectServedBy(t, &rotatedPrometheus, "second")
		// Then the old one goes.
		p.writeClientCA(t, rotatedCA)
		expectServedBy(t, &rotatedPrometheus, "second")
		if got := scrape(p, address, "GET", "/metrics", &prometheus, 0); got.err == nil {
			t.Errorf("client of the retired CA got %d, want a failed handshake", got.status)
		}
		p.writeClientCA(t, p.clientCA)
	})

	t.Run("a broken update keeps the previous certificate", func(t *testing.T) {
		p.tlsMount.Write(t, map[string][]byte{"tls.crt": []byte("not a certificate"), "tls.key": []byte("not a key")})
		expectServedBy(t, &prometheus, "second")
		p.writeServing(t, "third")
		expectServedBy(t, &prometheus, "third")
	})
}

func TestTLSServerStartsBeforeItsFilesExist(t *testing.T) {
	p := newMetricsPKI(t)
	_, address := startTLSServer(t, p, DefaultAllowedClient)
	prometheus := p.clientCA.IssueClient(t, DefaultAllowedClient)

	if got := scrape(p, address, "GET", "/metrics", &prometheus, 0); got.err == nil {
		t.Fatalf("got %d before any certificate exists, want a failed handshake", got.status)
	}
	p.writeServing(t, "late")
	if got := scrape(p, address, "GET", "/metrics", &prometheus, 0); got.err == nil {
		t.Fatalf("got %d before the client CA exists, want a failed handshake", got.status)
	}
	p.writeClientCA(t, p.clientCA)
	if got := scrape(p, address, "GET", "/metrics", &prometheus, 0); got.err != nil || got.status != 200 || got.servedBy != "late" {
		t.Fatalf("got %d from %q, %v once the files exist; want 200 from \"late\"", got.status, got.servedBy, got.err)
	}
}

func TestPlainServerOnLoopback(t *testing.T) {
	m := New()
	s := NewServer(ServerConfig{Address: netip.MustParseAddrPort("127.0.0.1:0")}, m)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	resp, err := http.Get("http://" + s.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "http01_challenge_proxy_active_connections 0") {
		t.Errorf("got %d %.200q", resp.StatusCode, body)
	}
}

func TestStartFailsOnATakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	s := NewServer(ServerConfig{Address: netip.MustParseAddrPort(taken.Addr().String())}, New())
	if err := s.Start(); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("Start() = %v, want address already in use", err)
	}
}

// TestAuthorizeClients checks the authorization decision alone: only the
// common name of a verified chain's leaf counts.
func TestAuthorizeClients(t *testing.T) {
	withName := func(name string) *x509.Certificate {
		c := &x509.Certificate{}
		c.Subject.CommonName = name
		return c
	}
	allowed := withName(DefaultAllowedClient)
	tests := []struct {
		name   string
		state  *tls.ConnectionState
		expect int
	}{
		{name: "plain HTTP", state: nil, expect: 403},
		{name: "no client certificate", state: &tls.ConnectionState{}, expect: 403},
		{name: "allowed name sent but not verified", state: &tls.ConnectionState{PeerCertificates: []*x509.Certificate{allowed}}, expect: 403},
		{name: "empty verified chain", state: &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{}}}, expect: 403},
		{name: "verified, allowed", state: &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{allowed, withName("CA")}}}, expect: 200},
		{name: "verified, other name", state: &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{withName("system:admin")}}}, expect: 403},
		{name: "verified, allowed name in another case", state: &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{withName(strings.ToUpper(DefaultAllowedClient))}}}, expect: 403},
		{name: "verified, allowed name is the CA's, not the leaf's", state: &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{withName("x"), allowed}}}, expect: 403},
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/metrics", nil)
			r.TLS = tc.state
			w := httptest.NewRecorder()
			authorizeClients([]string{DefaultAllowedClient}, ok).ServeHTTP(w, r)
			if w.Code != tc.expect {
				t.Errorf("status %d, want %d", w.Code, tc.expect)
			}
		})
	}
}

func TestServerTLSConfig(t *testing.T) {
	pool := x509.NewCertPool()
	c := serverTLSConfig(&credentials{certificate: tls.Certificate{Certificate: [][]byte{{1}}}, clientCAs: pool}, tls.VersionTLS12, DefaultCipherSuites)
	if c.MinVersion != tls.VersionTLS12 || c.ClientAuth != tls.RequireAndVerifyClientCert || c.ClientCAs != pool || len(c.Certificates) != 1 {
		t.Errorf("config %+v", c)
	}
	if len(c.NextProtos) != 1 || c.NextProtos[0] != "http/1.1" {
		t.Errorf("NextProtos %v, want HTTP/1.1 only", c.NextProtos)
	}
	if !c.SessionTicketsDisabled {
		t.Error("session resumption is on")
	}
}

func TestCredentialReloader(t *testing.T) {
	p := newMetricsPKI(t)
	r := newCredentialReloader(p.files)
	if _, err := r.get(); !errors.Is(err, errNoCredentials) {
		t.Fatalf("get() with no files = %v, want errNoCredentials", err)
	}
	p.writeServing(t, "one")
	if _, err := r.get(); !errors.Is(err, errNoCredentials) || !strings.Contains(err.Error(), "client CA bundle") {
		t.Fatalf("get() without the client CA = %v, want errNoCredentials naming the client CA bundle", err)
	}
	p.writeClientCA(t, p.clientCA)
	first, err := r.get()
	if err != nil || first.certificate.Leaf.Subject.CommonName != "one" {
		t.Fatalf("get() = %v, %v", first, err)
	}
	if again, _ := r.get(); again.certificate.Leaf != first.certificate.Leaf || again.clientCAs != first.clientCAs {
		t.Error("unchanged files were loaded again")
	}

	// A file rewritten in place with the same size and modification time
	// looks unchanged, and is not read: that is the price of not reading
	// three files per handshake. The kubelet never does this; it swaps.
	certPath, err := filepath.EvalSymlinks(p.files.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(certPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certPath, []byte(strings.Repeat("x", int(info.Size()))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(certPath, info.ModTime(), info.ModTime()); err != nil {
		t.Fatal(err)
	}
	if again, _ := r.get(); again.certificate.Leaf != first.certificate.Leaf {
		t.Error("a file whose size and times did not change was read again")
	}
	// Touching it is enough to have it read, and found broken here.
	if err := os.Chtimes(certPath, time.Now(), info.ModTime().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if kept, err := r.get(); err != nil || kept.certificate.Leaf != first.certificate.Leaf || r.serving.err == nil {
		t.Errorf("broken update: got %v, %v with load error %v; want the previous certificate, no error, a load error", kept, err, r.serving.err)
	}

	// The two volumes reload independently: a new client CA is taken even
	// while the serving certificate stays broken.
	rotatedCA := metricstest.NewCA(t, "rotated")
	p.writeClientCA(t, rotatedCA)
	if got, _ := r.get(); got.clientCAs == first.clientCAs || got.certificate.Leaf != first.certificate.Leaf {
		t.Error("a new client CA was held back by the broken serving certificate")
	}

	p.writeServing(t, "two")
	if second, err := r.get(); err != nil || second.certificate.Leaf.Subject.CommonName != "two" {
		t.Errorf("after a rotation get() = %v, %v", second, err)
	}
}

func TestLoadErrors(t *testing.T) {
	p := newMetricsPKI(t)
	p.writeServing(t, "x")
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	otherKey := filepath.Join(dir, "other.key")
	_, key := p.serviceCA.IssueServer(t, "other", loopback)
	for path, content := range map[string][]byte{empty: nil, otherKey: key} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name   string
		load   func() error
		expect string
	}{
		{"missing certificate", func() error { _, err := loadServingCertificate("/nonexistent", p.files.KeyFile); return err }, "no such file"},
		{"key of another certificate", func() error { _, err := loadServingCertificate(p.files.CertFile, otherKey); return err }, "private key does not match public key"},
		{"missing client CA", func() error { _, err := loadClientCAs("/nonexistent"); return err }, "no such file"},
		{"empty client CA", func() error { _, err := loadClientCAs(empty); return err }, "holds no PEM certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.load(); err == nil || !strings.Contains(err.Error(), tc.expect) {
				t.Errorf("load = %v, want an error with %q", err, tc.expect)
			}
		})
	}
}

// The metrics endpoint offers the TLS 1.2 suites of the Intermediate profile
// and nothing else, whatever Go enables by default.
func TestTLSServerCipherSuites(t *testing.T) {
	p := newMetricsPKI(t)
	p.writeServing(t, "metrics.openshift-http01-challenge-proxy.svc")
	p.writeClientCA(t, p.clientCA)
	_, address := startTLSServer(t, p, DefaultAllowedClient)
	prometheus := p.clientCA.IssueClient(t, DefaultAllowedClient)

	for _, suite := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256} {
		if err := handshake(p, address, &prometheus, tls.VersionTLS12, suite); err != nil {
			t.Errorf("%s, in the profile: %v", tls.CipherSuiteName(suite), err)
		}
	}
	// Enabled by Go's defaults, not in the profile.
	for _, suite := range []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA} {
		if err := handshake(p, address, &prometheus, tls.VersionTLS12, suite); err == nil {
			t.Errorf("%s, outside the profile, was accepted", tls.CipherSuiteName(suite))
		}
	}
}

// DefaultCipherSuites are openshift/api's Intermediate profile, less
// what Go does not implement (DHE) and the TLS 1.3 suites Go does not let
// anyone configure.
func TestDefaultCipherSuites(t *testing.T) {
	tls12 := map[uint16]bool{}
	for _, suite := range tls.CipherSuites() {
		if slices.Contains(suite.SupportedVersions, tls.VersionTLS12) {
			tls12[suite.ID] = true
		}
	}
	var want []string
	for _, name := range crypto.OpenSSLToIANACipherSuites(configv1.TLSProfiles[configv1.TLSProfileIntermediateType].Ciphers) {
		if id, err := crypto.CipherSuite(name); err == nil && tls12[id] {
			want = append(want, name)
		}
	}
	var got []string
	for _, id := range DefaultCipherSuites {
		got = append(got, tls.CipherSuiteName(id))
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("DefaultCipherSuites = %v, the Intermediate profile's TLS 1.2 suites are %v", got, want)
	}
}

// A profile passed in (Modern: TLS 1.3 only; Old: a CBC suite) replaces the
// Intermediate default.
func TestTLSServerFollowsTheProfile(t *testing.T) {
	p := newMetricsPKI(t)
	p.writeServing(t, "metrics.openshift-http01-challenge-proxy.svc")
	p.writeClientCA(t, p.clientCA)
	prometheus := p.clientCA.IssueClient(t, DefaultAllowedClient)
	start := func(minVersion uint16, suites []uint16) string {
		s := NewServer(ServerConfig{
			Address: netip.MustParseAddrPort("127.0.0.1:0"),
			TLS:     &TLSConfig{Files: p.files, AllowedClients: []string{DefaultAllowedClient}, MinVersion: minVersion, CipherSuites: suites},
		}, New())
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Shutdown(context.Background()) })
		return s.Addr().String()
	}
	modern := start(tls.VersionTLS13, nil)
	if err := handshake(p, modern, &prometheus, tls.VersionTLS12, 0); err == nil {
		t.Error("TLS 1.2 accepted under a TLS 1.3 minimum")
	}
	if err := handshake(p, modern, &prometheus, tls.VersionTLS13, 0); err != nil {
		t.Errorf("TLS 1.3 under a TLS 1.3 minimum: %v", err)
	}

	old := start(tls.VersionTLS12, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA})
	if err := handshake(p, old, &prometheus, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA); err != nil {
		t.Errorf("a suite of the profile passed in: %v", err)
	}
	if err := handshake(p, old, &prometheus, tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256); err == nil {
		t.Error("a suite outside the profile passed in was accepted")
	}
}

// handshake completes a TLS handshake with the server at address, offering
// at most maxVersion and, unless 0, only suite, and presenting cert. It
// returns the handshake's error, or the server's verdict on the client
// certificate, which TLS 1.3 sends after the client has finished.
func handshake(p *metricsPKI, address string, cert *tls.Certificate, maxVersion, suite uint16) error {
	config := &tls.Config{
		RootCAs:              p.serviceCA.Pool(),
		MaxVersion:           maxVersion,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil },
	}
	if suite != 0 {
		config.CipherSuites = []uint16{suite}
	}
	conn, err := tls.Dial("tcp", address, config)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(time.Second))
	_, err = conn.Read(make([]byte, 1))
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return nil // accepted: the server waits for a request
	}
	return err
}
