package localcluster

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// Ports of the ACME CA in the internet namespace.
const (
	pebbleACMEPort       = 14000
	pebbleManagementPort = 15000
	challSrvDNSPort      = 8053
	challSrvMgmtPort     = 8055
)

// pebbleEnv makes Pebble deterministic, as the tests need it: no random
// validation delays, no random nonce rejections, and no reuse of valid
// authorizations, so that every order really validates its challenge.
var pebbleEnv = []string{
	"PEBBLE_VA_NOSLEEP=1",
	"PEBBLE_WFE_NONCEREJECT=0",
	"PEBBLE_AUTHZREUSE=0",
}

// pebbleConfig is Pebble's configuration file: it validates HTTP-01 on
// port 80, like a real CA, and issues 90-day certificates.
func pebbleConfig(listen netip.Addr, certFile, keyFile string) ([]byte, error) {
	type profile struct {
		Description    string `json:"description"`
		ValidityPeriod int    `json:"validityPeriod"`
	}
	config := map[string]any{"pebble": map[string]any{
		"listenAddress":                  netip.AddrPortFrom(listen, pebbleACMEPort).String(),
		"managementListenAddress":        netip.AddrPortFrom(listen, pebbleManagementPort).String(),
		"certificate":                    certFile,
		"privateKey":                     keyFile,
		"httpPort":                       80,
		"tlsPort":                        443,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":                   "ecdsa",
		"profiles": map[string]profile{
			"default": {Description: "90-day certificates, like Let's Encrypt's", ValidityPeriod: 90 * 24 * 3600},
		},
	}}
	return json.MarshalIndent(config, "", "  ")
}

// pebbleSpecs writes Pebble's configuration and TLS certificate and
// returns the two processes of the internet namespace and its endpoints.
func pebbleSpecs(dir string, t Topology, tools map[string]string) ([]processSpec, PebbleEndpoints, error) {
	internet4 := t.Internet.Addresses[0]
	pebbleDir := filepath.Join(dir, "pebble")
	if err := os.MkdirAll(pebbleDir, 0o755); err != nil {
		return nil, PebbleEndpoints{}, err
	}
	// Pebble serves its ACME API over HTTPS with a certificate of its own
	// CA, which the ACME clients of the cluster trust.
	ca, err := apiserver.NewCertificateAuthority("local-cluster-internet-ca")
	if err != nil {
		return nil, PebbleEndpoints{}, err
	}
	var ips []net.IP
	for _, a := range t.Internet.Addresses {
		ips = append(ips, net.IP(a.AsSlice()))
	}
	cert, key, err := ca.IssueServing("pebble", []string{"pebble"}, ips)
	if err != nil {
		return nil, PebbleEndpoints{}, err
	}
	files := map[string][]byte{"ca.crt": ca.CertPEM(), "tls.crt": cert, "tls.key": key}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(pebbleDir, name), data, 0o600); err != nil {
			return nil, PebbleEndpoints{}, err
		}
	}
	config, err := pebbleConfig(internet4, filepath.Join(pebbleDir, "tls.crt"), filepath.Join(pebbleDir, "tls.key"))
	if err != nil {
		return nil, PebbleEndpoints{}, err
	}
	configFile := filepath.Join(pebbleDir, "pebble-config.json")
	if err := os.WriteFile(configFile, config, 0o644); err != nil {
		return nil, PebbleEndpoints{}, err
	}

	dns := netip.AddrPortFrom(internet4, challSrvDNSPort).String()
	endpoints := PebbleEndpoints{
		DirectoryURL:           "https://" + netip.AddrPortFrom(internet4, pebbleACMEPort).String() + "/dir",
		ManagementURL:          "https://" + netip.AddrPortFrom(internet4, pebbleManagementPort).String(),
		ChallengeTestServerURL: "http://" + netip.AddrPortFrom(internet4, challSrvMgmtPort).String(),
		DNSServer:              dns,
		TLSCAFile:              filepath.Join(pebbleDir, "ca.crt"),
	}
	specs := []processSpec{
		{
			name:  "pebble-challtestsrv",
			netns: t.Internet.Netns,
			path:  tools["pebble-challtestsrv"],
			// Only the DNS server and its management API: the challenge
			// responses come from the cluster. No default answers, so that
			// only the records we set resolve.
			args: []string{
				"-dnsserver=" + dns,
				"-management=" + netip.AddrPortFrom(internet4, challSrvMgmtPort).String(),
				"-http01=", "-https01=", "-tlsalpn01=", "-doh=",
				"-defaultIPv4=", "-defaultIPv6=",
			},
		},
		{
			name:  "pebble",
			netns: t.Internet.Netns,
			path:  tools["pebble"],
			args:  []string{"-config=" + configFile, "-dnsserver=" + dns},
			env:   pebbleEnv,
		},
	}
	return specs, endpoints, nil
}

// acmeHTTPClient returns an HTTP client whose connections start in ns and
// that trusts Pebble's TLS CA.
func acmeHTTPClient(ns *netns.Namespace, caFile string, timeout time.Duration) (*http.Client, error) {
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("%s holds no certificate", caFile)
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:           nil,
			DialContext:     ns.DialContext,
			TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		},
	}, nil
}

// SetChallengeDNS points the challenge host at addrs in the DNS server that
// Pebble resolves with, replacing its A and AAAA records. Pebble dials the
// first AAAA record if there is one, else the first A record.
func SetChallengeDNS(ctx context.Context, s *State, host string, addrs []netip.Addr) error {
	client := (&netns.Namespace{Name: s.Topology.Internet.Netns}).HTTPClient(10 * time.Second)
	fqdn := host + "."
	post := func(path string, body any) error {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Pebble.ChallengeTestServerURL+path, bytes.NewReader(data))
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			return fmt.Errorf("pebble-challtestsrv %s: %s: %s", path, resp.Status, msg)
		}
		return nil
	}
	for _, path := range []string{"/clear-a", "/clear-aaaa"} {
		if err := post(path, map[string]string{"host": fqdn}); err != nil {
			return err
		}
	}
	var v4, v6 []string
	for _, a := range addrs {
		if a.Is4() {
			v4 = append(v4, a.String())
		} else {
			v6 = append(v6, a.String())
		}
	}
	if len(v4) > 0 {
		if err := post("/add-a", map[string]any{"host": fqdn, "addresses": v4}); err != nil {
			return err
		}
	}
	if len(v6) > 0 {
		if err := post("/add-aaaa", map[string]any{"host": fqdn, "addresses": v6}); err != nil {
			return err
		}
	}
	return nil
}

// tcpCheck succeeds when address accepts a TCP connection from ns.
func tcpCheck(ns *netns.Namespace, address string) readinessCheck {
	return func(ctx context.Context) error {
		conn, err := ns.DialContext(ctx, "tcp", address)
		if err != nil {
			return err
		}
		return conn.Close()
	}
}

// pebbleReady succeeds when Pebble serves its ACME directory.
func pebbleReady(s *State) (readinessCheck, error) {
	client, err := acmeHTTPClient(&netns.Namespace{Name: s.Topology.Internet.Netns}, s.Pebble.TLSCAFile, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return httpCheck(client, s.Pebble.DirectoryURL, "newOrder"), nil
}

// fetchPEM fetches a PEM document (Pebble's root or intermediate) from its
// management API.
func fetchPEM(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if !bytes.Contains(body, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, errors.New("GET " + url + ": not a PEM certificate")
	}
	return body, nil
}

// PebbleClient is an HTTP client for Pebble's ACME API whose connections
// start in the namespace netnsName, for an ACME client of its own there.
func PebbleClient(s *State, netnsName string) (*http.Client, error) {
	return acmeHTTPClient(&netns.Namespace{Name: netnsName}, s.Pebble.TLSCAFile, 30*time.Second)
}
