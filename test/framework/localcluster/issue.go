package localcluster

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
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

	"golang.org/x/crypto/acme"
	"k8s.io/klog/v2"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/rules"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// IssueOptions say what to issue and how the CA reaches the cluster.
type IssueOptions struct {
	// Domain is the certificate's only name; APIHost by default.
	Domain string
	// IPv6 makes the CA validate over IPv6: the domain then resolves to
	// the IPv6 API VIP too, and Pebble prefers it.
	IPv6 bool
	// Timeout bounds the whole issuance; two minutes by default.
	Timeout time.Duration
}

// IssueResult is a certificate and how its challenge travelled.
type IssueResult struct {
	Domain   string
	Leaf     *x509.Certificate
	ChainPEM []byte
	KeyPEM   []byte
	// Root is Pebble's root CA, which the chain verifies against.
	Root *x509.Certificate
	// CAAddress is where the CA validates from (the internet namespace).
	CAAddress netip.Addr
	// APIVIP is the VIP the domain resolved to for the validation.
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
	// RouterRequests are the challenge requests the router received.
	RouterRequests []RouterRequest
	Elapsed        time.Duration
}

// Issue gets a certificate for opts.Domain from Pebble the way cert-manager
// would on a bare-metal cluster with the proxy: an ACME client whose HTTP-01
// solver is reachable only through the router, which listens on the ingress
// VIPs in the router namespace. Pebble resolves the domain to the API VIP
// and fetches the challenge from API_VIP:80, which only the proxy on the
// node holding the VIP can answer, by forwarding to the router.
func Issue(ctx context.Context, s *State, opts IssueOptions) (*IssueResult, error) {
	start := time.Now()
	if opts.Domain == "" {
		opts.Domain = APIHost
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	t := s.Topology
	result := &IssueResult{Domain: opts.Domain, ProxyForwarded: -1}

	holder, err := APIVIPHolder(t)
	if err != nil {
		return nil, err
	}
	result.VIPHolder = holder
	dnsAddrs := []netip.Addr{t.APIVIPs[0]}
	result.APIVIP = t.APIVIPs[0]
	result.CAAddress = t.Internet.Addresses[0]
	if opts.IPv6 {
		dnsAddrs = t.APIVIPs
		result.APIVIP, _ = FirstOfFamily(t.APIVIPs, false)
		result.CAAddress, _ = FirstOfFamily(t.Internet.Addresses, false)
	}
	if err := SetChallengeDNS(ctx, s, opts.Domain, dnsAddrs); err != nil {
		return nil, fmt.Errorf("setting the DNS records of %s: %w", opts.Domain, err)
	}

	// cert-manager runs in the cluster: its ACME client talks to the CA
	// from the router's namespace, and its solver is reachable only
	// through the router.
	router := &netns.Namespace{Name: t.Router.Netns}
	solver := &routerSolver{admin: newRouterAdmin(s), host: opts.Domain}
	defer solver.cleanup()

	holderNS := &netns.Namespace{Name: holder.Netns}
	before, beforeErr := proxyForwardedCount(ctx, s, holderNS)

	leafDER, chain, key, err := orderCertificate(ctx, s, router, opts.Domain, solver.present)
	if err != nil {
		return nil, fmt.Errorf("%w%s", err, solver.describe(ctx))
	}

	if after, err := proxyForwardedCount(ctx, s, holderNS); err == nil && beforeErr == nil {
		result.ProxyForwarded = after - before
	} else {
		result.MetricsError = errors.Join(beforeErr, err)
	}
	if result.RouterRequests, err = solver.requests(ctx); err != nil {
		return nil, err
	}
	result.RedirectRules = redirectRules(holder.Netns)

	if result.Leaf, err = x509.ParseCertificate(leafDER); err != nil {
		return nil, err
	}
	client, err := acmeHTTPClient(router, s.Pebble.TLSCAFile, 30*time.Second)
	if err != nil {
		return nil, err
	}
	rootPEM, err := fetchPEM(ctx, client, s.Pebble.ManagementURL+"/roots/0")
	if err != nil {
		return nil, fmt.Errorf("fetching Pebble's root: %w", err)
	}
	if result.Root, err = parseCertificatePEM(rootPEM); err != nil {
		return nil, err
	}
	if err := verifyChain(result.Leaf, chain, result.Root, opts.Domain); err != nil {
		return nil, err
	}
	for _, der := range append([][]byte{leafDER}, chain...) {
		result.ChainPEM = append(result.ChainPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	result.KeyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	result.Elapsed = time.Since(start)
	return result, nil
}

// orderCertificate runs the ACME protocol: a new account, an order for
// domain, the HTTP-01 challenge answered by present (path, answer), and
// the finalized certificate. It returns the leaf, the rest of the chain and
// the leaf's key.
func orderCertificate(ctx context.Context, s *State, from *netns.Namespace, domain string, present func(ctx context.Context, path, answer string) error) ([]byte, [][]byte, crypto.Signer, error) {
	httpClient, err := acmeHTTPClient(from, s.Pebble.TLSCAFile, 30*time.Second)
	if err != nil {
		return nil, nil, nil, err
	}
	accountKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	client := &acme.Client{Key: accountKey, DirectoryURL: s.Pebble.DirectoryURL, HTTPClient: httpClient, UserAgent: "local-cluster-acme-solver"}
	if _, err := client.Register(ctx, &acme.Account{}, acme.AcceptTOS); err != nil {
		return nil, nil, nil, fmt.Errorf("registering an ACME account: %w", err)
	}
	order, err := client.AuthorizeOrder(ctx, acme.DomainIDs(domain))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("ordering a certificate for %s: %w", domain, err)
	}
	for _, authzURL := range order.AuthzURLs {
		authz, err := client.GetAuthorization(ctx, authzURL)
		if err != nil {
			return nil, nil, nil, err
		}
		if authz.Status == acme.StatusValid {
			continue
		}
		var challenge *acme.Challenge
		for _, c := range authz.Challenges {
			if c.Type == "http-01" {
				challenge = c
			}
		}
		if challenge == nil {
			return nil, nil, nil, fmt.Errorf("the CA offers no http-01 challenge for %s", authz.Identifier.Value)
		}
		answer, err := client.HTTP01ChallengeResponse(challenge.Token)
		if err != nil {
			return nil, nil, nil, err
		}
		if err := present(ctx, client.HTTP01ChallengePath(challenge.Token), answer); err != nil {
			return nil, nil, nil, fmt.Errorf("presenting the http-01 challenge: %w", err)
		}
		if _, err := client.Accept(ctx, challenge); err != nil {
			return nil, nil, nil, fmt.Errorf("accepting the http-01 challenge: %w", err)
		}
		if _, err := client.WaitAuthorization(ctx, authz.URI); err != nil {
			return nil, nil, nil, fmt.Errorf("the CA did not validate the http-01 challenge for %s: %w", authz.Identifier.Value, err)
		}
	}
	// Pebble sends the order's URL only in the response that created it.
	orderURL := order.URI
	if order, err = client.WaitOrder(ctx, orderURL); err != nil {
		return nil, nil, nil, fmt.Errorf("waiting for the order: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:  pkix.Name{CommonName: domain},
		DNSNames: []string{domain},
	}, key)
	if err != nil {
		return nil, nil, nil, err
	}
	ders, _, err := client.CreateOrderCert(ctx, order.FinalizeURL, csr, true)
	if err != nil {
		// x/crypto/acme waits for an order still processing at the URL
		// of the finalize response's Location header, which Pebble does
		// not send. The order's own URL is known: wait there instead.
		final, waitErr := client.WaitOrder(ctx, orderURL)
		if waitErr != nil {
			return nil, nil, nil, fmt.Errorf("finalizing the order: %w; waiting for it: %v", err, waitErr)
		}
		if final.Status != acme.StatusValid {
			return nil, nil, nil, fmt.Errorf("finalizing the order: %w; the order is %s", err, final.Status)
		}
		if ders, err = client.FetchCert(ctx, final.CertURL, true); err != nil {
			return nil, nil, nil, fmt.Errorf("fetching the certificate: %w", err)
		}
	}
	if len(ders) == 0 {
		return nil, nil, nil, errors.New("the CA returned no certificate")
	}
	return ders[0], ders[1:], key, nil
}

func parseCertificatePEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// verifyChain checks the leaf for domain against the root, through the
// intermediates the CA sent.
func verifyChain(leaf *x509.Certificate, chain [][]byte, root *x509.Certificate, domain string) error {
	roots, intermediates := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, der := range chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return err
		}
		intermediates.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: domain, Roots: roots, Intermediates: intermediates}); err != nil {
		return fmt.Errorf("the issued certificate does not verify against Pebble's root: %w", err)
	}
	return nil
}

// routerSolver presents challenges through the router, as cert-manager's
// solver pods behind routes do, and removes them when done.
type routerSolver struct {
	admin *routerAdmin
	host  string
	paths []string
}

func (r *routerSolver) present(ctx context.Context, path, answer string) error {
	r.paths = append(r.paths, path)
	return r.admin.addChallenge(ctx, RouterChallenge{Host: r.host, Path: path, Answer: answer})
}

// requests are what the router received for the presented challenges.
func (r *routerSolver) requests(ctx context.Context) ([]RouterRequest, error) {
	var out []RouterRequest
	for _, path := range r.paths {
		seen, err := r.admin.requestsFor(ctx, path)
		if err != nil {
			return nil, err
		}
		out = append(out, seen...)
	}
	return out, nil
}

func (r *routerSolver) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, path := range r.paths {
		if err := r.admin.removeChallenge(ctx, RouterChallenge{Host: r.host, Path: path}); err != nil {
			klog.ErrorS(err, "Removing a challenge from the router", "path", path)
		}
	}
}

// describe summarises what the router saw, for error messages.
func (r *routerSolver) describe(ctx context.Context) string {
	seen, err := r.requests(ctx)
	switch {
	case err != nil:
		return "; " + err.Error()
	case len(seen) == 0:
		return "; the router received no challenge request"
	}
	var b strings.Builder
	b.WriteString("; the router received:")
	for _, req := range seen {
		fmt.Fprintf(&b, "\n  %s %s Host=%s from %s: %d", req.Method, req.Path, req.Host, req.Remote, req.Status)
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
	fmt.Fprintf(&b, "Certificate for %s, issued by Pebble through the proxy in %.1fs:\n", r.Domain, r.Elapsed.Seconds())
	fmt.Fprintf(&b, "  subject   %s\n", subject)
	fmt.Fprintf(&b, "  issuer    %s\n", leaf.Issuer)
	fmt.Fprintf(&b, "  valid     %s to %s (%d days)\n", leaf.NotBefore.UTC().Format(time.DateTime+" MST"),
		leaf.NotAfter.UTC().Format(time.DateTime+" MST"), int(leaf.NotAfter.Sub(leaf.NotBefore).Hours()/24+0.5))
	fmt.Fprintf(&b, "  chain     verifies for %s up to Pebble's root, %s\n", r.Domain, r.Root.Subject)

	holder := r.VIPHolder.Name
	fmt.Fprintf(&b, "\nThe challenge's path, with the evidence for each hop:\n")
	fmt.Fprintf(&b, "  1. CA       Pebble (%s) resolved %s to %s, the API VIP, held by %s, and fetched http://%s/.well-known/acme-challenge/<token>\n",
		r.CAAddress, r.Domain, r.APIVIP, holder, r.Domain)
	if rules := r.VIPRedirects(); len(rules) > 0 {
		fmt.Fprintf(&b, "  2. redirect %s's nftables sent it to the proxy's port: %s\n", holder, strings.Join(rules, "; "))
	} else {
		fmt.Fprintf(&b, "  2. redirect (no redirect rule for %s found in %s's nftables)\n", r.APIVIP, holder)
	}
	if r.ProxyForwarded >= 0 {
		fmt.Fprintf(&b, "  3. proxy    %s's proxy forwarded %d challenge request(s) (http01_challenge_proxy_requests_total{outcome=\"forwarded\"})\n", holder, r.ProxyForwarded)
	} else {
		fmt.Fprintf(&b, "  3. proxy    (could not read %s's proxy metrics: %v)\n", holder, r.MetricsError)
	}
	for _, g := range groupRequests(r.RouterRequests) {
		fmt.Fprintf(&b, "  4. router   %s (ingress VIP) got %d× %s %s, Host %s, from %s with X-Forwarded-For %s: %d\n",
			g.Local, g.count, g.Method, g.Path, g.Host, describeAddr(t, g.Remote.Addr()), describeAddr(t, netip.MustParseAddr(orZero(g.ForwardedFor))), g.Status)
	}
	if len(r.RouterRequests) == 0 {
		fmt.Fprintf(&b, "  4. router   (received no request)\n")
	}
	return b.String()
}

// VIPRedirects returns the holder's prerouting redirect rules for the
// validated API VIP, without their comments.
func (r *IssueResult) VIPRedirects() []string {
	var out []string
	for _, rule := range r.RedirectRules {
		if !strings.Contains(rule, "daddr "+r.APIVIP.String()+" ") || strings.Contains(rule, "oifname") {
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
	return a.String()
}

func orZero(s string) string {
	if _, err := netip.ParseAddr(s); err != nil {
		return "0.0.0.0"
	}
	return s
}
