//go:build integration

package daemon

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/metrics/metricstest"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

const (
	// metricsServiceName is what the service-ca operator puts in the serving
	// certificate and what Prometheus checks (tlsConfig.serverName).
	metricsServiceName = "http01-challenge-proxy-metrics.openshift-http01-challenge-proxy.svc"
	prometheusName     = "system:serviceaccount:openshift-monitoring:prometheus-k8s"
)

// TestMetricsOverTLS runs the daemon as the operator deploys it on a
// cluster: metrics on every address of the node, over TLS, readable by
// Prometheus's client certificate only, from files that the kubelet mounts
// after the daemon has started and later rotates.
func TestMetricsOverTLS(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	serviceCA := metricstest.NewCA(t, "openshift-service-serving-signer")
	clientCA := metricstest.NewCA(t, "kube-apiserver-client-signer")
	tlsMount, caMount := newMount(t, "metrics-tls"), newMount(t, "metrics-client-ca")

	p := c.startDaemon(t,
		"--metrics-listen-address=0.0.0.0:9450",
		"--metrics-tls-cert-file="+tlsMount.Path("tls.crt"),
		"--metrics-tls-key-file="+tlsMount.Path("tls.key"),
		"--metrics-client-ca-file="+caMount.Path("client-ca-file"),
	)
	// Prometheus scrapes the pod, that is the node's address, from
	// elsewhere: the client namespace stands in for it.
	endpoint := netip.AddrPortFrom(nodeAddrs[0].Addr(), 9450)
	prometheus := clientCA.IssueClient(t, prometheusName)

	t.Run("without its files the daemon is ready and serves challenges", func(t *testing.T) {
		if err := challengeServed(c.client, apiVIP4)(); err != nil {
			t.Error(err)
		}
		if got := scrapeTLS(c.client, endpoint, serviceCA, &prometheus); got.err == nil {
			t.Errorf("scrape without serving certificate got %d, want a failed handshake", got.status)
		}
		// Eventually: the log reaches us through a pipe.
		eventually(t, 5*time.Second, "the daemon logs why metrics cannot be served", func() error {
			if !strings.Contains(p.Output(), "Cannot load the metrics serving certificate yet") {
				return fmt.Errorf("log:\n%s", p.Output())
			}
			return nil
		})
	})

	certPEM, keyPEM := serviceCA.IssueServer(t, "first", metricsServiceName)
	tlsMount.Write(t, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM})
	caMount.Write(t, map[string][]byte{"client-ca-file": clientCA.PEM})

	t.Run("Prometheus reads the metrics once the files appear", func(t *testing.T) {
		got := scrapeTLS(c.client, endpoint, serviceCA, &prometheus)
		if got.err != nil || got.status != http.StatusOK || got.servedBy != "first" {
			t.Fatalf("got %d from %q, %v; want 200 from the first certificate", got.status, got.servedBy, got.err)
		}
		for _, name := range []string{
			"http01_challenge_proxy_requests_total", "http01_challenge_proxy_upstream_response_seconds_bucket",
			"http01_challenge_proxy_rules_present 1", "http01_challenge_proxy_active_connections",
		} {
			if !strings.Contains(got.body, name) {
				t.Errorf("metrics lack %s", name)
			}
		}
	})
	t.Run("another client of the same CA is forbidden", func(t *testing.T) {
		kubelet := clientCA.IssueClient(t, "system:node:master-0")
		if got := scrapeTLS(c.client, endpoint, serviceCA, &kubelet); got.err != nil || got.status != http.StatusForbidden {
			t.Errorf("got %d, %v; want 403", got.status, got.err)
		}
	})
	t.Run("no client certificate fails the handshake", func(t *testing.T) {
		if got := scrapeTLS(c.client, endpoint, serviceCA, nil); got.err == nil || !strings.Contains(got.err.Error(), "tls:") {
			t.Errorf("got %d, %v; want a failed handshake", got.status, got.err)
		}
	})
	t.Run("plain HTTP gets no metrics", func(t *testing.T) {
		status, body, err := get(c.client, endpoint, "/metrics")
		if err == nil && (status == http.StatusOK || strings.Contains(body, "http01_challenge_proxy")) {
			t.Errorf("plain HTTP got %d %.200q", status, body)
		}
	})
	t.Run("a rotated serving certificate is used without a restart", func(t *testing.T) {
		certPEM, keyPEM := serviceCA.IssueServer(t, "second", metricsServiceName)
		tlsMount.Write(t, map[string][]byte{"tls.crt": certPEM, "tls.key": keyPEM})
		got := scrapeTLS(c.client, endpoint, serviceCA, &prometheus)
		if got.err != nil || got.status != http.StatusOK || got.servedBy != "second" {
			t.Errorf("got %d from %q, %v; want 200 from the second certificate", got.status, got.servedBy, got.err)
		}
		if p.Exited() {
			t.Error("the daemon exited")
		}
	})
}

// newMount returns an empty kubelet-style volume in a directory of the test.
func newMount(t *testing.T, name string) *metricstest.Mount {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return metricstest.NewMount(dir)
}

type tlsScrape struct {
	servedBy string
	status   int
	body     string
	err      error
}

// scrapeTLS gets /metrics from ns the way Prometheus does: verifying the
// serving certificate against the service CA for the Service's name, and
// presenting clientCert if not nil.
func scrapeTLS(ns *netns.Namespace, endpoint netip.AddrPort, serviceCA *metricstest.CA, clientCert *tls.Certificate) tlsScrape {
	tlsConfig := &tls.Config{RootCAs: serviceCA.Pool(), ServerName: metricsServiceName}
	if clientCert != nil {
		tlsConfig.Certificates = []tls.Certificate{*clientCert}
	}
	client := ns.HTTPClient(5 * time.Second)
	client.Transport.(*http.Transport).TLSClientConfig = tlsConfig
	resp, err := client.Get(fmt.Sprintf("https://%s/metrics", endpoint))
	if err != nil {
		return tlsScrape{err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return tlsScrape{servedBy: resp.TLS.PeerCertificates[0].Subject.CommonName, status: resp.StatusCode, body: string(body)}
}
