//go:build e2e

package e2e

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/rules"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/localcluster"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// The tests of this file need the local cluster's namespaces and Pebble
// (c.harness); TestHTTP01ChallengeProxy runs them only then.

// testIssue has cert-manager issue the README's Certificate through the
// proxy over each address family, the IPv6 one with AAAA-only DNS.
func (c *cluster) testIssue(t *testing.T) {
	t.Run("IPv4", func(t *testing.T) { c.issue(t, false) })
	t.Run("IPv6", func(t *testing.T) { c.issue(t, true) })
}

// issue has cert-manager issue (or renew) the README's Certificate for the
// API hostname and checks the evidence that both its self-check and the
// CA's validation went through the proxy on the node holding the API VIP:
// the router saw each come from that node, with the original Host and the
// client's address in X-Forwarded-For.
func (c *cluster) issue(t *testing.T, ipv6 bool) *localcluster.IssueResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r, err := localcluster.Issue(ctx, c.harness, localcluster.IssueOptions{IPv6: ipv6})
	if err != nil {
		t.Fatalf("cert-manager issuing a certificate for %s: %v", localcluster.APIHost, err)
	}
	t.Logf("\n%s", r.Describe(c.harness.Topology))

	if !slices.Equal(r.Leaf.DNSNames, []string{localcluster.APIHost}) {
		t.Errorf("the certificate is for %v, want %s", r.Leaf.DNSNames, localcluster.APIHost)
	}
	if r.APIVIP.Is4() == ipv6 {
		t.Errorf("the CA validated %s, want the IPv6 VIP: %v", r.APIVIP, ipv6)
	}
	if len(r.Validations()) == 0 {
		t.Fatal("the router received no validation from the CA")
	}
	if len(r.SelfChecks()) == 0 {
		t.Error("the router received no self-check from cert-manager: it did not check the path the CA takes")
	}
	// The proxy dials the ingress VIP from the node: its source is one of
	// the node's addresses, or the API VIP, which the node holds too.
	fromHolder := append(slices.Clone(r.VIPHolder.Addresses), c.harness.Topology.APIVIPs...)
	for _, req := range r.RouterRequests {
		if host := strings.TrimSuffix(req.Host, ":80"); host != localcluster.APIHost {
			t.Errorf("the router got Host %q, want %s", req.Host, localcluster.APIHost)
		}
		if !slices.Contains(fromHolder, req.Remote.Addr()) {
			t.Errorf("the router got a request from %s, not from %s, which holds the API VIP", req.Remote.Addr(), r.VIPHolder.Name)
		}
	}
	for _, req := range r.Validations() {
		if req.ForwardedFor != r.CAAddress.String() {
			t.Errorf("the router got X-Forwarded-For %q, want the CA's address %s or cert-manager's %s", req.ForwardedFor, r.CAAddress, r.SelfCheckAddress)
		}
	}
	// The CA validates before the Certificate is Ready, so the metrics read
	// then count its requests; a late self-check may still be in flight.
	if r.ProxyForwarded < len(r.Validations()) {
		t.Errorf("%s's proxy counted %d forwarded requests; the router received %d validations through it", r.VIPHolder.Name, r.ProxyForwarded, len(r.Validations()))
	}
	return r
}

// wantRedirect checks that the holder redirects the API VIP to target
// (":<port>").
func wantRedirect(t *testing.T, r *localcluster.IssueResult, target string) {
	t.Helper()
	for _, rule := range r.VIPRedirects() {
		if strings.HasSuffix(rule, "redirect to "+target) {
			return
		}
	}
	t.Errorf("%s redirects %s with %q, want a redirect to %s", r.VIPHolder.Name, r.APIVIP, r.VIPRedirects(), target)
}

// testDiagnose runs the operator's diagnose subcommand where the ACME CA
// is, and wants its verdict: every hop passes while the proxy runs, and
// not once it is disabled.
func (c *cluster) testDiagnose(t *testing.T, wantPass bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out strings.Builder
	code, err := localcluster.Diagnose(ctx, c.harness, nil, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("diagnose exited %d:\n%s", code, out.String())
	if pass := code == 0; pass != wantPass {
		t.Errorf("diagnose exited %d; want it to pass: %v", code, wantPass)
	}
}

// testAPIVIPFailover moves the API VIP to another control-plane node, as
// keepalived does when its holder fails, and gets a certificate again: the
// proxy of the new holder must answer.
func (c *cluster) testAPIVIPFailover(t *testing.T) {
	topology := c.harness.Topology
	from, err := localcluster.APIVIPHolder(topology)
	if err != nil {
		t.Fatal(err)
	}
	nodes := topology.ControlPlane()
	to := nodes[(slices.IndexFunc(nodes, func(n localcluster.Node) bool { return n.Name == from.Name })+1)%len(nodes)]
	t.Cleanup(func() {
		if err := localcluster.MoveAPIVIP(topology, from.Name); err != nil {
			t.Errorf("moving the API VIP back to %s: %v", from.Name, err)
		}
	})
	if err := localcluster.MoveAPIVIP(topology, to.Name); err != nil {
		t.Fatalf("moving the API VIP from %s to %s: %v", from.Name, to.Name, err)
	}
	before := c.certificateSerial(t)
	r := c.issue(t, false)
	if r.VIPHolder.Name != to.Name {
		t.Errorf("the API VIP is on %s, want %s", r.VIPHolder.Name, to.Name)
	}
	if r.Leaf.SerialNumber.String() == before {
		t.Errorf("renewing after the failover left the same certificate (serial %s) in the Secret", before)
	}
}

// certificateSerial is the serial of the certificate in the Secret of the
// README's Certificate.
func (c *cluster) certificateSerial(t *testing.T) string {
	t.Helper()
	secret, err := c.kube.CoreV1().Secrets(apiCertNamespace).Get(ctxFor(t), apiCertName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(secret.Data[corev1.TLSCertKey])
	if block == nil {
		t.Fatalf("Secret %s/%s holds no certificate", apiCertNamespace, apiCertName)
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.String()
}

// The README's Certificate.
const (
	apiCertNamespace = "openshift-config"
	apiCertName      = "api-cert"
)

// testDataPlaneGone checks the nodes once the proxy is disabled: no daemon
// runs, their nftables tables are gone, and port 80 of the API VIP refuses
// connections again.
func (c *cluster) testDataPlaneGone(t *testing.T) {
	topology := c.harness.Topology
	for _, node := range topology.ControlPlane() {
		eventually(t, rolloutTimeout, "no daemon runs on "+node.Name+" and its nftables table is gone", func(context.Context) error {
			pids, err := localcluster.DaemonPIDs(node.Netns)
			if err != nil {
				return err
			}
			if len(pids) > 0 {
				return fmt.Errorf("daemons %v still run in %s", pids, node.Netns)
			}
			tables, err := localcluster.NftTables(node.Netns)
			if err != nil {
				return err
			}
			if slices.Contains(tables, "inet "+rules.TableName) {
				return fmt.Errorf("table inet %s is still in %s", rules.TableName, node.Netns)
			}
			return nil
		})
	}
	internet := &netns.Namespace{Name: topology.Internet.Netns}
	for _, vip := range topology.APIVIPs {
		address := netip.AddrPortFrom(vip, 80).String()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := internet.DialContext(ctx, "tcp", address)
		cancel()
		if err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections from the internet", address)
		} else if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("connecting to %s: %v, want connection refused (nothing listens on the node)", address, err)
		}
	}
}
