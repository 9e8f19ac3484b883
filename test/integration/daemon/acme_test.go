//go:build integration

package daemon

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

const (
	// The CA lives in an "internet" namespace, with its DNS server.
	pebbleAddress          = "192.0.2.41:14000"
	challtestsrvManagement = "127.0.0.1:8055"
	challtestsrvDNS        = "127.0.0.1:8053"
)

// TestACMEIssuanceThroughTheProxy gets a real certificate for the API host
// name from Pebble, a test ACME CA, whose HTTP-01 validation connects to
// API_VIP:80 and can only be answered by cert-manager's solver stand-in
// behind the router on the ingress VIP: the daemon's redirect and proxy are
// the only path between the two.
func TestACMEIssuanceThroughTheProxy(t *testing.T) {
	logDuration(t)
	pebble, challtestsrv := pebbleTools(t)
	solver := &challengeSolver{answers: map[string]string{}}
	c := newClusterWithRouter(t, solver.ServeHTTP)
	internet := netns.New(t, "internet")
	c.sw.Attach(t, internet, "eth0", internetAddrs...)
	c.startDaemon(t)

	roots := startPebble(t, internet, pebble, challtestsrv)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// cert-manager runs on the cluster: the ACME client talks to the CA
	// from the node. Each family gets an account of its own, so that the
	// CA cannot hand the second an authorization the first made valid.
	newClient := func(t *testing.T) *acme.Client {
		client := &acme.Client{
			DirectoryURL: "https://" + pebbleAddress + "/dir",
			HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
				Proxy:           nil,
				DialContext:     c.node.DialContext,
				TLSClientConfig: &tls.Config{RootCAs: roots},
			}},
		}
		var err error
		if client.Key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			t.Fatal(err)
		}
		if _, err := client.Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
			t.Fatalf("registering the ACME account: %v", err)
		}
		return client
	}

	for _, family := range []struct {
		name               string
		addRecord, clear   string
		apiVIP             netip.Addr
		validatorAddressed netip.Addr
	}{
		{name: "IPv4", addRecord: "/add-a", clear: "/clear-a", apiVIP: apiVIP4, validatorAddressed: internetAddrs[0].Addr()},
		{name: "IPv6", addRecord: "/add-aaaa", clear: "/clear-aaaa", apiVIP: apiVIP6, validatorAddressed: internetAddrs[1].Addr()},
	} {
		t.Run(family.name, func(t *testing.T) {
			start := time.Now()
			// Only this family's record exists, so the validator has to
			// come in over it.
			challtestsrvPost(t, internet, family.addRecord, map[string]any{"host": apiHost, "addresses": []string{family.apiVIP.String()}})
			defer challtestsrvPost(t, internet, family.clear, map[string]any{"host": apiHost})
			before := c.routerLog.count()

			leaf := issueCertificate(ctx, t, newClient(t), solver)
			t.Logf("issued over %s in %v: subject %q, issuer %q, DNS names %v, valid %s to %s", family.name,
				time.Since(start).Round(time.Millisecond), leaf.Subject, leaf.Issuer, leaf.DNSNames,
				leaf.NotBefore.Format(time.RFC3339), leaf.NotAfter.Format(time.RFC3339))
			if !slices.Equal(leaf.DNSNames, []string{apiHost}) {
				t.Errorf("certificate for %v, want [%s]", leaf.DNSNames, apiHost)
			}
			if now := time.Now(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
				t.Errorf("certificate not valid now: %s to %s", leaf.NotBefore, leaf.NotAfter)
			}
			if c.routerLog.count() == before {
				t.Fatal("the solver behind the router was never asked")
			}
			if seen := c.routerLog.last(); seen.xff != family.validatorAddressed.String() || seen.host != apiHost+":80" && seen.host != apiHost {
				t.Errorf("solver saw %+v, want the validator %s asking for %s", seen, family.validatorAddressed, apiHost)
			}
		})
	}
}

// challengeSolver plays cert-manager's HTTP-01 solver: it answers the key
// authorization of each pending challenge, for the API host name only.
type challengeSolver struct {
	mu      sync.Mutex
	answers map[string]string // path -> key authorization
}

func (s *challengeSolver) set(path, keyAuth string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers[path] = keyAuth
}

func (s *challengeSolver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	s.mu.Lock()
	answer, ok := s.answers[r.URL.Path]
	s.mu.Unlock()
	if host != apiHost || !ok {
		http.NotFound(w, r)
		return
	}
	io.WriteString(w, answer)
}

// issueCertificate runs one ACME order for apiHost with HTTP-01.
func issueCertificate(ctx context.Context, t *testing.T, client *acme.Client, solver *challengeSolver) *x509.Certificate {
	t.Helper()
	order, err := client.AuthorizeOrder(ctx, acme.DomainIDs(apiHost))
	if err != nil {
		t.Fatalf("creating the order: %v", err)
	}
	orderURL := order.URI
	for _, authzURL := range order.AuthzURLs {
		authz, err := client.GetAuthorization(ctx, authzURL)
		if err != nil {
			t.Fatalf("getting the authorization: %v", err)
		}
		if authz.Status == acme.StatusValid {
			t.Fatal("the CA reused an earlier authorization; the validation path was not exercised")
		}
		var challenge *acme.Challenge
		for _, ch := range authz.Challenges {
			if ch.Type == "http-01" {
				challenge = ch
			}
		}
		if challenge == nil {
			t.Fatalf("no http-01 challenge offered: %+v", authz.Challenges)
		}
		keyAuthorization, err := client.HTTP01ChallengeResponse(challenge.Token)
		if err != nil {
			t.Fatal(err)
		}
		solver.set(client.HTTP01ChallengePath(challenge.Token), keyAuthorization)
		if _, err := client.Accept(ctx, challenge); err != nil {
			t.Fatalf("accepting the challenge: %v", err)
		}
		if _, err := client.WaitAuthorization(ctx, authzURL); err != nil {
			t.Fatalf("the CA did not validate the challenge: %v", err)
		}
	}
	if order, err = client.WaitOrder(ctx, order.URI); err != nil {
		t.Fatalf("waiting for the order: %v", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{apiHost}}, key)
	if err != nil {
		t.Fatal(err)
	}
	chain, _, err := client.CreateOrderCert(ctx, order.FinalizeURL, csr, true)
	if err != nil {
		// CreateOrderCert waits for a still "processing" order at the
		// Location of the finalize response, which Pebble does not send;
		// wait at the order's own URL instead.
		t.Logf("finalize did not return the certificate (%v); waiting for the order", err)
		if order, err = client.WaitOrder(ctx, orderURL); err != nil {
			t.Fatalf("waiting for the finalized order: %v", err)
		}
		if chain, err = client.FetchCert(ctx, order.CertURL, true); err != nil {
			t.Fatalf("fetching the certificate: %v", err)
		}
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		t.Fatalf("parsing the issued certificate: %v", err)
	}
	return leaf
}

// pebbleTools returns the paths of pebble and pebble-challtestsrv.
func pebbleTools(t *testing.T) (pebble, challtestsrv string) {
	t.Helper()
	dir, err := apiserver.ToolsBinDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pebble", "pebble-challtestsrv"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Fatalf("%s not found in %s: run hack/build-tools.sh pebble pebble-challtestsrv", name, dir)
		}
	}
	return filepath.Join(dir, "pebble"), filepath.Join(dir, "pebble-challtestsrv")
}

// startPebble starts pebble-challtestsrv as the CA's DNS server and pebble
// itself in ns, and returns the roots that trust pebble's HTTPS endpoint.
func startPebble(t *testing.T, ns *netns.Namespace, pebble, challtestsrv string) *x509.CertPool {
	t.Helper()
	ns.Start(t, challtestsrv,
		"-management", challtestsrvManagement, "-dnsserver", challtestsrvDNS,
		// Only DNS: no challenge servers of its own, and no default
		// answers, so that a name resolves only to what the test adds.
		"-http01", "", "-https01", "", "-doh", "", "-tlsalpn01", "",
		"-defaultIPv4", "", "-defaultIPv6", "")

	dir := t.TempDir()
	certFile, keyFile, roots := writeServingCert(t, dir)
	config := map[string]any{"pebble": map[string]any{
		"listenAddress":                  pebbleAddress,
		"managementListenAddress":        "127.0.0.1:15000",
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       80, // where HTTP-01 is validated, as by a real CA
		"tlsPort":                        5001,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"profiles":                       map[string]any{"default": map[string]any{"description": "default", "validityPeriod": 7776000}},
	}}
	configFile := filepath.Join(dir, "pebble-config.json")
	data, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(configFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ns.StartWithEnv(t, []string{
		"PEBBLE_VA_NOSLEEP=1",      // validate at once
		"PEBBLE_WFE_NONCEREJECT=0", // no random bad-nonce errors
		"PEBBLE_AUTHZREUSE=0",      // validate every order
	}, pebble, "-config", configFile, "-dnsserver", challtestsrvDNS)

	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext: ns.DialContext, TLSClientConfig: &tls.Config{RootCAs: roots},
	}}
	eventually(t, 30*time.Second, "pebble serving its directory", func() error {
		return statusOK(client.Get("https://" + pebbleAddress + "/dir"))
	})
	return roots
}

// challtestsrvPost calls pebble-challtestsrv's management API.
func challtestsrvPost(t *testing.T, ns *netns.Namespace, path string, body any) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	client := ns.HTTPClient(2 * time.Second)
	eventually(t, 10*time.Second, "pebble-challtestsrv "+path, func() error {
		return statusOK(client.Post("http://"+challtestsrvManagement+path, "application/json", bytes.NewReader(data)))
	})
}

// writeServingCert writes a self-signed certificate for pebble's HTTPS
// endpoint, so that nothing depends on files from pebble's source tree.
func writeServingCert(t *testing.T, dir string) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pebble test CA endpoint"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("192.0.2.41"), net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	roots = x509.NewCertPool()
	roots.AddCert(cert)
	return certFile, keyFile, roots
}
