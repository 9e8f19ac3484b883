//go:build integration

// Package daemon runs the real daemon binary in network namespaces that
// stand in for a bare-metal cluster: a node holding the API VIP, a router
// holding the ingress VIP, and clients, all on one bridge.
package daemon

import (
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/nftables"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/rules"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// Addresses come from the documentation ranges only (RFC 5737, RFC 3849).
var (
	apiVIP4     = netip.MustParseAddr("192.0.2.100")
	apiVIP6     = netip.MustParseAddr("2001:db8::100")
	ingressVIP4 = netip.MustParseAddr("192.0.2.200")
	ingressVIP6 = netip.MustParseAddr("2001:db8::200")

	nodeAddrs     = netns.Prefixes("192.0.2.11/24", "2001:db8::11/64", "192.0.2.100/24", "2001:db8::100/64")
	routerAddrs   = netns.Prefixes("192.0.2.21/24", "2001:db8::21/64", "192.0.2.200/24", "2001:db8::200/64")
	clientAddrs   = netns.Prefixes("192.0.2.31/24", "2001:db8::31/64")
	internetAddrs = netns.Prefixes("192.0.2.41/24", "2001:db8::41/64")
)

const (
	apiHost = "api.cluster.example.test"
	// token has the shape of cert-manager's: 43 base64url characters.
	token   = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
	keyAuth = token + ".account-key-thumbprint"

	ourTable      = "http01_challenge_proxy"
	healthAddress = "127.0.0.1:29448"
	metricsURL    = "http://127.0.0.1:9450/metrics"

	// noPathProbe turns the daemon's own path probe off. Tests that count
	// what the router sees, or whose router misbehaves on purpose, need to
	// be the only ones sending challenge requests; selfprobe_test.go turns
	// it on.
	noPathProbe = "--path-probe-interval=0"
)

// cluster is one test's topology.
type cluster struct {
	sw                     *netns.Switch
	node, router, client   *netns.Namespace
	routerLog              *requestLog
	binary                 string
	defaultDaemonArguments []string
}

// newCluster builds the topology and starts a router on the ingress VIPs
// that answers the challenge for token for any Host. It does not start the
// daemon.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	return newClusterWithRouter(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/acme-challenge/"+token {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, keyAuth)
	})
}

// newClusterWithRouter is newCluster with the router's handler given.
func newClusterWithRouter(t *testing.T, router http.HandlerFunc) *cluster {
	t.Helper()
	netns.RequireRoot(t)
	netns.RequireCommands(t, "ip", "nft")
	c := &cluster{binary: apiserver.DaemonBinaryUnderTest(t)}
	c.sw = netns.NewSwitch(t)
	c.node, c.router, c.client = netns.New(t, "node"), netns.New(t, "router"), netns.New(t, "client")
	c.sw.Attach(t, c.node, "eth0", nodeAddrs...)
	c.sw.Attach(t, c.router, "eth0", routerAddrs...)
	c.sw.Attach(t, c.client, "eth0", clientAddrs...)
	c.routerLog = serveRouter(t, c.router, router)
	c.defaultDaemonArguments = []string{
		"--api-vips=" + apiVIP4.String() + "," + apiVIP6.String(),
		"--ingress-vips=" + ingressVIP4.String() + "," + ingressVIP6.String(),
		noPathProbe,
		"-v=4",
	}
	return c
}

// startDaemon starts the daemon binary in the node namespace and waits until
// it reports ready.
func (c *cluster) startDaemon(t *testing.T, extraArgs ...string) *netns.Process {
	t.Helper()
	return c.startDaemonWith(t, append(append([]string{}, c.defaultDaemonArguments...), extraArgs...)...)
}

// startDaemonWith is startDaemon with all arguments given.
func (c *cluster) startDaemonWith(t *testing.T, args ...string) *netns.Process {
	t.Helper()
	p := c.node.Start(t, c.binary, args...)
	c.waitReady(t, p)
	return p
}

func (c *cluster) waitReady(t *testing.T, p *netns.Process) {
	t.Helper()
	client := c.node.HTTPClient(time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := statusOK(client.Get("http://" + healthAddress + "/readyz"))
		if err == nil {
			return
		}
		if p.Exited() {
			t.Fatalf("daemon exited before it was ready:\n%s", p.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon not ready after 15s (last: %v):\n%s", err, p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// challenge sends the challenge request to API_VIP:80 from ns.
func challenge(ns *netns.Namespace, vip netip.Addr) (int, string, error) {
	return get(ns, netip.AddrPortFrom(vip, 80), "/.well-known/acme-challenge/"+token)
}

func get(ns *netns.Namespace, target netip.AddrPort, path string) (int, string, error) {
	return getWithin(ns, target, path, 5*time.Second)
}

// getWithin is get with the client's overall timeout given.
func getWithin(ns *netns.Namespace, target netip.AddrPort, path string, timeout time.Duration) (int, string, error) {
	resp, err := getResponse(ns, target, path, timeout)
	return resp.status, resp.body, err
}

// response is an HTTP response, read to its end.
type response struct {
	status int
	header http.Header
	body   string
}

// getResponse sends GET path with Host apiHost to target from ns.
func getResponse(ns *netns.Namespace, target netip.AddrPort, path string, timeout time.Duration) (response, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+target.String()+path, nil)
	if err != nil {
		return response{}, err
	}
	req.Host = apiHost
	resp, err := ns.HTTPClient(timeout).Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}, err
}

// requestLog records what an HTTP server in a namespace received.
type requestLog struct {
	mu   sync.Mutex
	seen []seenRequest
}

type seenRequest struct {
	local, host, path, xff string
}

func (l *requestLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.seen)
}

func (l *requestLog) last() seenRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.seen) == 0 {
		return seenRequest{}
	}
	return l.seen[len(l.seen)-1]
}

// serveRouter serves handler on both ingress VIPs, port 80, inside ns,
// recording every request.
func serveRouter(t *testing.T, ns *netns.Namespace, handler http.HandlerFunc) *requestLog {
	t.Helper()
	log := &requestLog{}
	recording := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		log.mu.Lock()
		log.seen = append(log.seen, seenRequest{local: local.String(), host: r.Host, path: r.URL.Path, xff: r.Header.Get("X-Forwarded-For")})
		log.mu.Unlock()
		handler(w, r)
	})
	for _, vip := range []netip.Addr{ingressVIP4, ingressVIP6} {
		serve(t, ns, netip.AddrPortFrom(vip, 80), recording)
	}
	return log
}

// serve serves handler on address inside ns until the test ends.
func serve(t *testing.T, ns *netns.Namespace, address netip.AddrPort, handler http.Handler) {
	t.Helper()
	ln, err := ns.Listen("tcp", address.String())
	if err != nil {
		t.Fatalf("listening on %s in %s: %v", address, ns.Name, err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

// nftConn returns a netlink connection to the nftables of ns, independent of
// the daemon's own code.
func nftConn(t *testing.T, ns *netns.Namespace) *nftables.Conn {
	t.Helper()
	f, err := ns.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	conn, err := nftables.New(nftables.WithNetNSFd(int(f.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// ourTablePresent reports whether the daemon's table exists in ns.
func ourTablePresent(t *testing.T, ns *netns.Namespace) bool {
	t.Helper()
	tables, err := nftConn(t, ns).ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		t.Fatalf("listing tables: %v", err)
	}
	for _, table := range tables {
		if table.Name == ourTable {
			return true
		}
	}
	return false
}

// desiredRuleCounts is how many rules each chain of our table holds for the
// default daemon arguments: one redirect per API VIP in each NAT chain, and
// in the guard one accept per API VIP and the reject.
var desiredRuleCounts = map[string]int{"prerouting": 2, "output": 2, "input": 3}

// checkRuleCounts returns an error unless every chain of our table in ns
// holds as many rules as desiredRuleCounts says, and no other chain exists.
func checkRuleCounts(t *testing.T, ns *netns.Namespace) error {
	t.Helper()
	if counts := ruleCounts(t, ns); !maps.Equal(counts, desiredRuleCounts) {
		return fmt.Errorf("rules per chain %v, want %v", counts, desiredRuleCounts)
	}
	return nil
}

// ruleCounts returns the number of rules in each chain of our table. It
// reads them as the daemon does: google/nftables cannot decode the guard's.
func ruleCounts(t *testing.T, ns *netns.Namespace) map[string]int {
	t.Helper()
	f, err := ns.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table, err := rules.NewKernel(nftables.WithNetNSFd(int(f.Fd()))).Read()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, chain := range table.Chains {
		counts[chain.Name] = len(chain.Rules)
	}
	return counts
}

// metric returns the value of one sample line of the daemon's metrics, e.g.
// `http01_challenge_proxy_rules_present`, or "" if it is absent.
func metric(t *testing.T, ns *netns.Namespace, sample string) string {
	t.Helper()
	value, err := scrapeMetric(ns, sample)
	if err != nil {
		t.Fatal(err)
	}
	return value
}

// scrapeMetric is metric for callers that wait for the daemon to come up.
func scrapeMetric(ns *netns.Namespace, sample string) (string, error) {
	resp, err := ns.HTTPClient(5 * time.Second).Get(metricsURL)
	if err != nil {
		return "", fmt.Errorf("scraping metrics: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if value, ok := strings.CutPrefix(line, sample+" "); ok {
			return value, nil
		}
	}
	return "", nil
}

// eventually polls cond every 10ms until it holds, and returns how long that
// took, failing the test after timeout.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		err := cond()
		if err == nil {
			return time.Since(start)
		}
		if time.Since(start) > timeout {
			t.Fatalf("%s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// statusOK turns the result of an HTTP request into an error unless it is a
// 200, closing the body.
func statusOK(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// challengeServed is a condition for eventually: the challenge request from
// ns to vip is answered with the key authorization.
func challengeServed(ns *netns.Namespace, vip netip.Addr) func() error {
	return func() error {
		status, body, err := challenge(ns, vip)
		if err != nil {
			return err
		}
		if status != http.StatusOK || body != keyAuth {
			return fmt.Errorf("got %d %q", status, body)
		}
		return nil
	}
}
