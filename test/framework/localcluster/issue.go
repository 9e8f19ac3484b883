package localcluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/rules"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// IssueOptions say what to issue and how the CA reaches the cluster.
type IssueOptions struct {
	// Domain is the certificate's only name; APIHost by default.
	Domain string
	// Certificate names the cert-manager Certificate; the README's
	// (openshift-config/api-cert) by default.
	Certificate string
	Namespace   string
	// IPv6 makes the CA validate over IPv6: the domain then resolves to
	// the IPv6 API VIP alone (AAAA only).
	IPv6 bool
	// Timeout bounds the whole issuance; three minutes by default.
	Timeout time.Duration
}

// IssueResult is a certificate and how its challenge travelled.
type IssueResult struct {
	Domain string
	// Certificate is the cert-manager Certificate, namespace/name, and
	// Revision its status.revision once Ready.
	Certificate string
	Revision    int64
	// Conditions are the Certificate's conditions once Ready.
	Conditions []string
	Leaf       *x509.Certificate
	ChainPEM   []byte
	KeyPEM     []byte
	// Root is Pebble's root CA, which the chain verifies against.
	Root *x509.Certificate
	// CAAddress is where the CA validates from (the internet namespace).
	CAAddress netip.Addr
	// SelfCheckAddress is where cert-manager's self-check comes from (the
	// worker it runs on).
	SelfCheckAddress netip.Addr
	// APIVIP is the VIP the domain resolved to for the validation: an
	// API VIP, or for a name under the apps domain an ingress VIP.
	APIVIP netip.Addr
	// VIPHolder is the control-plane node that held the API VIP.
	VIPHolder Node
	// RedirectRules are the holder's nftables rules that redirect the VIP.
	RedirectRules []string
	// ProxyForwarded is how many challenge requests the holder's proxy
	// forwarded during the issuance, from its metrics; -1 if unknown.
	ProxyForwarded int
	// MetricsError says why ProxyForwarded is unknown.
	MetricsError error
	// Claim is the router's verdict on the operator's claim of the API
	// host, as the claim Route's status says it.
	Claim string
	// RouterRequests are the challenge requests for the domain that the
	// router received during the issuance: cert-manager's self-checks and
	// the CA's validations.
	RouterRequests []RouterRequest
	Elapsed        time.Duration
}

// Issue has cert-manager issue the README's Certificate, for opts.Domain,
// from Pebble through the README's ClusterIssuer, and collects the
// evidence of the challenge's path. Pebble resolves the domain to the API
// VIP and fetches the challenge from API_VIP:80, which only the proxy on the
// node holding the VIP can answer, by forwarding to the router, which routes
// cert-manager's solver Ingress to its solver pod. cert-manager checks the
// same URL from its worker before it lets Pebble validate. A Certificate
// that is already Ready is renewed, as `cmctl renew` does.
func Issue(ctx context.Context, s *State, opts IssueOptions) (*IssueResult, error) {
	start := time.Now()
	opts = opts.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	t := s.Topology
	result := &IssueResult{Domain: opts.Domain, Certificate: opts.Namespace + "/" + opts.Certificate, ProxyForwarded: -1}

	holder, err := APIVIPHolder(t)
	if err != nil {
		return nil, err
	}
	result.VIPHolder = holder
	want4 := !opts.IPv6
	result.APIVIP, _ = FirstOfFamily(t.APIVIPs, want4)
	if strings.HasSuffix(opts.Domain, "."+IngressDomain) {
		// An application's name: it resolves to the router, and the
		// challenge has no business with the proxy.
		result.APIVIP, _ = FirstOfFamily(t.IngressVIPs, want4)
	}
	result.CAAddress, _ = FirstOfFamily(t.Internet.Addresses, want4)
	if worker, ok := t.CertManagerWorker(); ok {
		result.SelfCheckAddress, _ = FirstOfFamily(worker.Addresses, want4)
	}
	if err := SetChallengeDNS(ctx, s, opts.Domain, []netip.Addr{result.APIVIP}); err != nil {
		return nil, fmt.Errorf("setting the DNS records of %s: %w", opts.Domain, err)
	}

	cm, err := NewCertManagerClient(s)
	if err != nil {
		return nil, err
	}
	if err := cm.ApplyClusterIssuer(ctx); err != nil {
		return nil, err
	}
	holderNS := &netns.Namespace{Name: holder.Netns}
	before, beforeErr := proxyForwardedCount(ctx, s, holderNS)

	issued, err := cm.Issue(ctx, opts.Namespace, opts.Certificate, opts.Domain)
	if err != nil {
		return nil, fmt.Errorf("%w%s", err, describeRouterRequests(ctx, s, opts.Domain, start))
	}
	result.Revision, result.Conditions = issued.Revision, issued.Conditions
	result.ChainPEM, result.KeyPEM = issued.ChainPEM, issued.KeyPEM

	if after, err := proxyForwardedCount(ctx, s, holderNS); err == nil && beforeErr == nil {
		result.ProxyForwarded = after - before
	} else {
		result.MetricsError = errors.Join(beforeErr, err)
	}
	if result.RouterRequests, err = challengeRequests(ctx, s, opts.Domain, start); err != nil {
		return nil, err
	}
	result.RedirectRules = redirectRules(holder.Netns)
	result.Claim = cm.DescribeClaim(ctx)
	if err := result.verify(ctx, s); err != nil {
		return nil, err
	}
	result.Elapsed = time.Since(start)
	return result, nil
}

func (o IssueOptions) withDefaults() IssueOptions {
	if o.Domain == "" {
		o.Domain = APIHost
	}
	if o.Certificate == "" {
		o.Certificate, o.Namespace = readmeCertificateName, openShiftConfigNamespace
	}
	if o.Namespace == "" {
		o.Namespace = openShiftConfigNamespace
	}
	if o.Timeout == 0 {
		o.Timeout = 3 * time.Minute
	}
	return o
}

// verify parses the issued chain and checks it against Pebble's root.
func (r *IssueResult) verify(ctx context.Context, s *State) error {
	chain, err := parseCertificatesPEM(r.ChainPEM)
	if err != nil {
		return fmt.Errorf("the Secret of %s: %w", r.Certificate, err)
	}
	r.Leaf = chain[0]
	client, err := acmeHTTPClient(&netns.Namespace{Name: s.Topology.Internet.Netns}, s.Pebble.TLSCAFile, 30*time.Second)
	if err != nil {
		return err
	}
	rootPEM, err := fetchPEM(ctx, client, s.Pebble.ManagementURL+"/roots/0")
	if err != nil {
		return fmt.Errorf("fetching Pebble's root: %w", err)
	}
	if r.Root, err = parseCertificatePEM(rootPEM); err != nil {
		return err
	}
	return verifyChain(r.Leaf, chain[1:], r.Root, r.Domain)
}

func parseCertificatePEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// parseCertificatesPEM parses every certificate of a PEM chain.
func parseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, errors.New("no PEM certificate")
	}
	return out, nil
}

// verifyChain checks the leaf for domain against the root, through the
// intermediates the CA sent.
func verifyChain(leaf *x509.Certificate, chain []*x509.Certificate, root *x509.Certificate, domain string) error {
	roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, c := range chain {
		intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: domain, Roots: roots, Intermediates: intermediates}); err != nil {
		return fmt.Errorf("the issued certificate does not verify against Pebble's root: %w", err)
	}
	return nil
}

// challengeRequests are the challenge requests for domain that the router
// received since start.
func challengeRequests(ctx context.Context, s *State, domain string, since time.Time) ([]RouterRequest, error) {
	all, err := newRouterAdmin(s).requests(ctx)
	if err != nil {
		return nil, err
	}
	var out []RouterRequest
	for _, r := range all {
		if !r.Time.Before(since) && routeHost(r.Host) == domain && strings.HasPrefix(r.Path, challengePathPrefix) {
			out = append(out, r)
		}
	}
	return out, nil
}

const challengePathPrefix = "/.well-known/acme-challenge/"

// describeRouterRequests summarises what the router saw, for error
// messages.
func describeRouterRequests(ctx context.Context, s *State, domain string, since time.Time) string {
	seen, err := challengeRequests(ctx, s, domain, since)
	switch {
	case err != nil:
		return "; " + err.Error()
	case len(seen) == 0:
		return "; the router received no challenge request for " + domain
	}
	var b strings.Builder
	b.WriteString("; the router received:")
	for _, req := range seen {
		fmt.Fprintf(&b, "\n  %s %s Host=%s from %s, X-Forwarded-For %s: %d", req.Method, req.Path, req.Host, req.Remote, req.ForwardedFor, req.Status)
	}
	return b.String()
}

// proxyForwardedCount reads how many challenge requests the daemon in ns
// has forwarded, from its metrics endpoint, as Prometheus does: over TLS,
// with Prometheus' client certificate, trusting the service CA.
func proxyForwardedCount(ctx context.Context, s *State, ns *netns.Namespace) (int, error) {
	client, err := prometheusClient(s, ns)
	if err != nil {
		return 0, err
	}
	url := "https://" + net.JoinHostPort(loopback, strconv.Itoa(int(names.DaemonMetricsPort))) + "/metrics"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	total := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "http01_challenge_proxy_requests_total{") || !strings.Contains(line, `outcome="forwarded"`) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, err
		}
		total += int(v)
	}
	// No series means nothing was forwarded yet.
	return total, sc.Err()
}

// prometheusClient is an HTTPS client in ns with Prometheus' identity. It
// checks that the daemon's certificate comes from the service CA; the name
// in it is the metrics Service's, not the loopback address it is reached at.
func prometheusClient(s *State, ns *netns.Namespace) (*http.Client, error) {
	cert, err := tls.LoadX509KeyPair(s.path(pkiDir, prometheusCertFile), s.path(pkiDir, prometheusKeyFile))
	if err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(s.path(pkiDir, serviceCACertFile))
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("no service CA certificate")
	}
	config := &tls.Config{
		Certificates:       []tls.Certificate{cert},
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, //nolint:gosec // the chain is verified below, without the host name
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("no server certificate")
			}
			intermediates := x509.NewCertPool()
			for _, c := range cs.PeerCertificates[1:] {
				intermediates.AddCert(c)
			}
			_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: intermediates})
			return err
		},
	}
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{Proxy: nil, DialContext: ns.DialContext, TLSClientConfig: config, DisableKeepAlives: true},
	}, nil
}

// redirectRules lists the redirect rules of the daemon's nftables table in
// netns, as nft prints them.
func redirectRules(netnsName string) []string {
	out, err := exec.Command("ip", "netns", "exec", netnsName, "nft", "list", "table", "inet", rules.TableName).CombinedOutput()
	if err != nil {
		return nil
	}
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "redirect") {
			lines = append(lines, strings.TrimSpace(line))
		}
	}
	return lines
}

// NftTables lists the nftables tables of netns ("inet name" lines).
func NftTables(netnsName string) ([]string, error) {
	out, err := exec.Command("ip", "netns", "exec", netnsName, "nft", "list", "tables").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("nft list tables in %s: %w: %s", netnsName, err, out)
	}
	var tables []string
	for _, line := range strings.Split(string(out), "\n") {
		if t := strings.TrimSpace(strings.TrimPrefix(line, "table ")); t != "" {
			tables = append(tables, t)
		}
	}
	return tables, nil
}

// Describe explains the certificate and the path its challenge took, each
// hop with the evidence for it, for people.
func (r *IssueResult) Describe(t Topology) string {
	var b strings.Builder
	leaf := r.Leaf
	subject := "DNS:" + strings.Join(leaf.DNSNames, ", DNS:")
	if cn := leaf.Subject.CommonName; cn != "" {
		subject = "CN=" + cn + ", " + subject
	}
	fmt.Fprintf(&b, "cert-manager's Certificate %s for %s is Ready at revision %d, issued by Pebble through the proxy in %.1fs:\n",
		r.Certificate, r.Domain, r.Revision, r.Elapsed.Seconds())
	for _, c := range r.Conditions {
		fmt.Fprintf(&b, "  condition %s\n", c)
	}
	fmt.Fprintf(&b, "  subject   %s\n", subject)
	fmt.Fprintf(&b, "  issuer    %s\n", leaf.Issuer)
	fmt.Fprintf(&b, "  valid     %s to %s (%d days)\n", leaf.NotBefore.UTC().Format(time.DateTime+" MST"),
		leaf.NotAfter.UTC().Format(time.DateTime+" MST"), int(leaf.NotAfter.Sub(leaf.NotBefore).Hours()/24+0.5))
	fmt.Fprintf(&b, "  chain     verifies for %s up to Pebble's root, %s\n", r.Domain, r.Root.Subject)

	holder := r.VIPHolder.Name
	selfChecks, validations := r.byOrigin()
	if slices.Contains(t.IngressVIPs, r.APIVIP) {
		fmt.Fprintf(&b, "\n%s resolves to %s, the ingress VIP: the challenge went straight to the router, not through the proxy:\n", r.Domain, r.APIVIP)
		for _, g := range groupRequests(r.RouterRequests) {
			fmt.Fprintf(&b, "  router %s got %d× %s %s, Host %s, from %s: %d\n", g.Local, g.count, g.Method, g.Path, g.Host, describeAddr(t, g.Remote.Addr()), g.Status)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "\nThe challenge's path, with the evidence for each hop:\n")
	fmt.Fprintf(&b, "  0. self-check cert-manager (%s) resolved %s to %s with the cluster's DNS and fetched the token first: %d request(s) reached the router\n",
		describeAddr(t, r.SelfCheckAddress), r.Domain, r.APIVIP, len(selfChecks))
	fmt.Fprintf(&b, "  1. CA         Pebble (%s) resolved %s to %s, the API VIP, held by %s, and fetched http://%s/.well-known/acme-challenge/<token>\n",
		r.CAAddress, r.Domain, r.APIVIP, holder, r.Domain)
	if rules := r.VIPRedirects(); len(rules) > 0 {
		fmt.Fprintf(&b, "  2. redirect   %s's nftables sent it to the proxy's port: %s\n", holder, strings.Join(rules, "; "))
	} else {
		fmt.Fprintf(&b, "  2. redirect   (no redirect rule for %s found in %s's nftables)\n", r.APIVIP, holder)
	}
	if r.ProxyForwarded >= 0 {
		fmt.Fprintf(&b, "  3. proxy      %s's proxy forwarded %d challenge request(s) (http01_challenge_proxy_requests_total{outcome=\"forwarded\"})\n", holder, r.ProxyForwarded)
	} else {
		fmt.Fprintf(&b, "  3. proxy      (could not read %s's proxy metrics: %v)\n", holder, r.MetricsError)
	}
	fmt.Fprintf(&b, "  4. claim        %s\n", r.Claim)
	for _, g := range groupRequests(append(selfChecks, validations...)) {
		fmt.Fprintf(&b, "  5. router     %s (ingress VIP) got %d× %s %s, Host %s, from %s with X-Forwarded-For %s: %d, routed by cert-manager's solver Ingress to its pod\n",
			g.Local, g.count, g.Method, g.Path, g.Host, describeAddr(t, g.Remote.Addr()), describeAddr(t, netip.MustParseAddr(orZero(g.ForwardedFor))), g.Status)
	}
	if len(r.RouterRequests) == 0 {
		fmt.Fprintf(&b, "  5. router     (received no request)\n")
	}
	return b.String()
}

// byOrigin splits the router's requests into cert-manager's self-checks
// and the CA's validations, by the client the proxy names.
func (r *IssueResult) byOrigin() (selfChecks, validations []RouterRequest) {
	for _, req := range r.RouterRequests {
		if req.ForwardedFor == r.SelfCheckAddress.String() {
			selfChecks = append(selfChecks, req)
		} else {
			validations = append(validations, req)
		}
	}
	return selfChecks, validations
}

// Validations are the CA's requests among the router's.
func (r *IssueResult) Validations() []RouterRequest {
	_, v := r.byOrigin()
	return v
}

// SelfChecks are cert-manager's requests among the router's.
func (r *IssueResult) SelfChecks() []RouterRequest {
	s, _ := r.byOrigin()
	return s
}

// VIPRedirects returns the holder's prerouting redirect rules for the
// validated API VIP, without their comments.
func (r *IssueResult) VIPRedirects() []string {
	var out []string
	for _, rule := range r.RedirectRules {
		if !strings.Contains(rule, "daddr "+r.APIVIP.String()+" ") || !strings.Contains(rule, " redirect to ") || strings.Contains(rule, "oifname") {
			continue
		}
		if i := strings.Index(rule, " comment "); i >= 0 {
			rule = rule[:i]
		}
		out = append(out, rule)
	}
	return out
}

type requestGroup struct {
	RouterRequest
	count int
}

// groupRequests merges identical requests (Pebble validates from several
// perspectives, each with its own request).
func groupRequests(requests []RouterRequest) []requestGroup {
	var groups []requestGroup
	for _, req := range requests {
		key := req
		key.Time, key.Remote = time.Time{}, netip.AddrPortFrom(req.Remote.Addr(), 0)
		found := false
		for i := range groups {
			if groups[i].RouterRequest == key {
				groups[i].count++
				found = true
			}
		}
		if !found {
			groups = append(groups, requestGroup{RouterRequest: key, count: 1})
		}
	}
	return groups
}

// describeAddr names the namespace an address belongs to.
func describeAddr(t Topology, a netip.Addr) string {
	if !a.IsValid() {
		return "(none)"
	}
	for _, n := range t.Nodes {
		if slices.Contains(n.Addresses, a) {
			return a.String() + " (" + n.Name + ")"
		}
	}
	if slices.Contains(t.APIVIPs, a) {
		return a.String() + " (the API VIP)"
	}
	if slices.Contains(t.Internet.Addresses, a) {
		return a.String() + " (Pebble)"
	}
	if worker, ok := t.CertManagerWorker(); ok && slices.Contains(worker.Addresses, a) {
		return a.String() + " (cert-manager on " + worker.Name + ")"
	}
	return a.String()
}

func orZero(s string) string {
	if _, err := netip.ParseAddr(s); err != nil {
		return "0.0.0.0"
	}
	return s
}
