//go:build integration

package operator

import (
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// The data plane's addresses, from the documentation ranges (RFC 5737,
// RFC 3849): a control-plane node holding the API VIPs, a router holding
// the ingress VIPs, and a client, as in test/integration/daemon.
var (
	dataPlaneAPIVIPs     = []string{"192.0.2.100", "2001:db8::100"}
	dataPlaneIngressVIPs = []string{"192.0.2.200", "2001:db8::200"}

	nodeAddrs   = netns.Prefixes("192.0.2.11/24", "2001:db8::11/64", "192.0.2.100/24", "2001:db8::100/64")
	routerAddrs = netns.Prefixes("192.0.2.21/24", "2001:db8::21/64", "192.0.2.200/24", "2001:db8::200/64")
	clientAddrs = netns.Prefixes("192.0.2.31/24", "2001:db8::31/64")
)

const (
	apiHost = "api.cluster.example.test"
	// token has the shape of cert-manager's: 43 base64url characters.
	token   = "Kd8vR2mWq9XbT4nLp0sYc7eUz3hJf6gAo1iNkB5xQwE"
	keyAuth = token + ".account-key-thumbprint"
)

// dataPlane is a control-plane node running the real daemon with the
// arguments the operator rendered into the DaemonSet, a router that answers
// the challenge, and a client that asks for it through the API VIP.
type dataPlane struct {
	node, router, client *netns.Namespace
	daemon               *netns.Process
	routed               atomic.Int64
}

// startDataPlane builds the namespaces, starts the router and the daemon,
// and waits until the daemon is ready. It returns nil, with a note in the
// log, when not run as root.
func startDataPlane(t *testing.T, ds *appsv1.DaemonSet) *dataPlane {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Logf("not checking the data plane: it needs root for network namespaces and nftables (CI runs as root)")
		return nil
	}
	netns.RequireCommands(t, "ip", "nft")
	dp := &dataPlane{}
	sw := netns.NewSwitch(t)
	dp.node, dp.router, dp.client = netns.New(t, "node"), netns.New(t, "router"), netns.New(t, "client")
	sw.Attach(t, dp.node, "eth0", nodeAddrs...)
	sw.Attach(t, dp.router, "eth0", routerAddrs...)
	sw.Attach(t, dp.client, "eth0", clientAddrs...)
	dp.serveRouter(t)

	container := ds.Spec.Template.Spec.Containers[0]
	args := append(append([]string{}, container.Command[1:]...), container.Args...)
	t.Logf("starting the daemon as the DaemonSet runs it: %v %v", container.Command[0], args)
	binary := filepath.Join(filepath.Dir(apiserver.DaemonBinaryUnderTest(t)), container.Command[0])
	dp.daemon = dp.node.Start(t, binary, args...)
	dp.waitReady(t)
	return dp
}

// serveRouter answers the challenge on port 80 of the ingress VIPs and
// counts the requests it gets.
func (dp *dataPlane) serveRouter(t *testing.T) {
	t.Helper()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dp.routed.Add(1)
		if r.URL.Path != "/.well-known/acme-challenge/"+token {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, keyAuth)
	})
	for _, vip := range dataPlaneIngressVIPs {
		address := netip.AddrPortFrom(netip.MustParseAddr(vip), 80).String()
		ln, err := dp.router.Listen("tcp", address)
		if err != nil {
			t.Fatalf("listening on %s in the router: %v", address, err)
		}
		srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
	}
}

// waitReady polls the daemon's readiness, which holds once it listens and
// its nftables rules are in place.
func (dp *dataPlane) waitReady(t *testing.T) {
	t.Helper()
	client := dp.node.HTTPClient(time.Second)
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", names.DaemonHealthPort)
	deadline := time.Now().Add(waitTimeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if dp.daemon.Exited() {
			t.Fatalf("the daemon exited before it was ready:\n%s", dp.daemon.Output())
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon is not ready after %v (%v):\n%s", waitTimeout, err, dp.daemon.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// challengeReachesRouter sends the challenge request from the client to
// port 80 of each API VIP and checks that the router answered it.
func (dp *dataPlane) challengeReachesRouter(t *testing.T) {
	t.Helper()
	for _, vip := range dataPlaneAPIVIPs {
		before := dp.routed.Load()
		target := "http://" + netip.AddrPortFrom(netip.MustParseAddr(vip), 80).String() + "/.well-known/acme-challenge/" + token
		req, err := http.NewRequest(http.MethodGet, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = apiHost
		resp, err := dp.client.HTTPClient(5 * time.Second).Do(req)
		if err != nil {
			t.Errorf("challenge via %s: %v", vip, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != keyAuth {
			t.Errorf("challenge via %s: %d %q, want 200 with the key authorization", vip, resp.StatusCode, body)
		}
		if got := dp.routed.Load() - before; got != 1 {
			t.Errorf("challenge via %s: the router got %d requests, want 1", vip, got)
		}
	}
	if dp.daemon.Exited() {
		t.Errorf("the daemon exited:\n%s", dp.daemon.Output())
	}
}
