//go:build integration

// Package diagnose runs the real binary's diagnose subcommand in a client
// network namespace against a stand-in bare-metal cluster: a node holding
// the API VIPs (with the real daemon, or something else, or nothing), a
// router holding the ingress VIPs, a DNS server, all on one bridge, and a
// real kube-apiserver with the cluster's objects. Each case breaks one hop
// and checks the exact line diagnose prints for it, and its exit code.
package diagnose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// Addresses come from the documentation ranges only (RFC 5737, RFC 3849).
var (
	apiVIP4     = netip.MustParseAddr("192.0.2.100")
	apiVIP6     = netip.MustParseAddr("2001:db8::100")
	ingressVIP4 = netip.MustParseAddr("192.0.2.200")
	ingressVIP6 = netip.MustParseAddr("2001:db8::200")
	dnsAddress  = netip.MustParseAddrPort("192.0.2.53:53")

	nodeAddrs   = netns.Prefixes("192.0.2.11/24", "2001:db8::11/64", "192.0.2.100/24", "2001:db8::100/64")
	routerAddrs = netns.Prefixes("192.0.2.21/24", "2001:db8::21/64", "192.0.2.200/24", "2001:db8::200/64")
	clientAddrs = netns.Prefixes("192.0.2.31/24", "2001:db8::31/64")
	dnsAddrs    = netns.Prefixes("192.0.2.53/24")
)

const (
	apiHost = "api.cluster.example.test"
	// routerServer is the Server header of the router stand-in, so that a
	// line naming it shows who answered.
	routerServer = "haproxy"
	// healthAddress is the daemon's readiness endpoint on the node.
	healthAddress = "127.0.0.1:29448"
	// diagnoseTimeout is diagnose's --timeout: longer than the proxy's
	// own upstream limits, short enough for a quick test.
	diagnoseTimeout = "--timeout=8s"
)

// testbed is one case's network: fresh namespaces, the router serving, DNS
// answering for apiHost with the API VIPs. Nothing listens on port 80 of
// the API VIPs until the case starts something there.
type testbed struct {
	binary                    string
	sw                        *netns.Switch
	node, router, client, dns *netns.Namespace
	dnsServer                 *dnsServer
	routerServer              *http.Server
	// solverAnswers are the key authorizations the router's solver serves,
	// by token.
	solverMu      sync.Mutex
	solverAnswers map[string]string
}

func newTestbed(t *testing.T) *testbed {
	t.Helper()
	netns.RequireRoot(t)
	netns.RequireCommands(t, "ip", "nft")
	tb := &testbed{binary: apiserver.BinaryUnderTest(t), solverAnswers: map[string]string{}}
	tb.sw = netns.NewSwitch(t)
	tb.node, tb.router, tb.client, tb.dns = netns.New(t, "node"), netns.New(t, "router"), netns.New(t, "client"), netns.New(t, "dns")
	tb.sw.Attach(t, tb.node, "eth0", nodeAddrs...)
	tb.sw.Attach(t, tb.router, "eth0", routerAddrs...)
	tb.sw.Attach(t, tb.client, "eth0", clientAddrs...)
	tb.sw.Attach(t, tb.dns, "eth0", dnsAddrs...)
	tb.dnsServer = startDNS(t, tb.dns, dnsAddress)
	tb.dnsServer.set(apiHost, apiVIP4, apiVIP6)
	tb.startRouter(t)
	t.Cleanup(tb.stopRouter)
	return tb
}

// startRouter serves on both ingress VIPs, port 80, as OpenShift's router
// does: the solver's key authorization for a token it knows, and 503 for
// everything else, which has no route.
func (tb *testbed) startRouter(t *testing.T) {
	t.Helper()
	tb.routerServer = &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", routerServer)
		token, _ := strings.CutPrefix(r.URL.Path, "/.well-known/acme-challenge/")
		if key, ok := tb.solverAnswer(token); ok && r.Host == apiHost {
			io.WriteString(w, key)
			return
		}
		http.Error(w, "Application is not available", http.StatusServiceUnavailable)
	})}
	for _, vip := range []netip.Addr{ingressVIP4, ingressVIP6} {
		ln, err := tb.router.Listen("tcp", netip.AddrPortFrom(vip, 80).String())
		if err != nil {
			t.Fatal(err)
		}
		go tb.routerServer.Serve(ln)
	}
}

// exposeSolver makes the router serve key for token, as it does once
// cert-manager's solver Ingress for it is admitted.
func (tb *testbed) exposeSolver(token, key string) {
	tb.solverMu.Lock()
	defer tb.solverMu.Unlock()
	tb.solverAnswers[token] = key
}

func (tb *testbed) solverAnswer(token string) (string, bool) {
	tb.solverMu.Lock()
	defer tb.solverMu.Unlock()
	key, ok := tb.solverAnswers[token]
	return key, ok
}

// stopRouter closes the router's listeners, so that its port refuses.
func (tb *testbed) stopRouter() { tb.routerServer.Close() }

// startDaemon runs the real daemon on the node and waits until it is ready.
func (tb *testbed) startDaemon(t *testing.T) {
	t.Helper()
	p := tb.node.Start(t, apiserver.DaemonBinaryUnderTest(t),
		"--api-vips="+apiVIP4.String()+","+apiVIP6.String(),
		"--ingress-vips="+ingressVIP4.String()+","+ingressVIP6.String(),
		"-v=2")
	client := tb.node.HTTPClient(time.Second)
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := client.Get("http://" + healthAddress + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if p.Exited() || time.Now().After(deadline) {
			t.Fatalf("the daemon did not get ready:\n%s", p.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serveOnAPIVIPs serves handler on port 80 of both API VIPs on the node,
// where the daemon's redirect would otherwise be.
func (tb *testbed) serveOnAPIVIPs(t *testing.T, handler http.Handler) {
	t.Helper()
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: handler}
	for _, vip := range []netip.Addr{apiVIP4, apiVIP6} {
		ln, err := tb.node.Listen("tcp", netip.AddrPortFrom(vip, 80).String())
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
	}
	t.Cleanup(func() { srv.Close() })
}

// result is one run of diagnose.
type result struct {
	exitCode int
	stdout   string
	stderr   string
}

// lines are stdout's lines.
func (r result) lines() []string { return strings.Split(strings.TrimSpace(r.stdout), "\n") }

// diagnose runs `<binary> diagnose --domain apiHost` in the client
// namespace, asking the testbed's DNS server, with args added.
func (tb *testbed) diagnose(t *testing.T, args ...string) result {
	t.Helper()
	args = append([]string{"diagnose", "--domain=" + apiHost, "--dns-server=" + dnsAddress.String(), diagnoseTimeout}, args...)
	cmd := tb.client.Command(tb.binary, args...)
	// Only what the test gives: no KUBECONFIG from the environment.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("diagnose still running after 2 minutes; output so far:\n%s", stdout.String())
	}
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		r.exitCode = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("running diagnose: %v", err)
	}
	t.Logf("diagnose %s: exit %d\n%s%s", strings.Join(args[1:], " "), r.exitCode, r.stdout, r.stderr)
	return r
}

// expectLines fails the test unless every one of lines is a line of r's
// output, exactly.
func expectLines(t *testing.T, r result, lines ...string) {
	t.Helper()
	for _, want := range lines {
		found := false
		for _, got := range r.lines() {
			if got == want {
				found = true
			}
		}
		if !found {
			t.Errorf("no line\n  %s\nin the output:\n%s", want, r.stdout)
		}
	}
}

// expectExit fails the test unless diagnose exited with code.
func expectExit(t *testing.T, r result, code int) {
	t.Helper()
	if r.exitCode != code {
		t.Errorf("exit code %d, want %d; stderr: %s", r.exitCode, code, r.stderr)
	}
}

// forwardLoopback makes target (in the test's own namespace) reachable on
// 127.0.0.1:port inside ns, the way `oc port-forward` would: the client
// namespace has no route to the host's loopback, where kube-apiserver
// listens.
func forwardLoopback(t *testing.T, ns *netns.Namespace, port int, target string) {
	t.Helper()
	ln, err := ns.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); splice(conn, target) }()
		}
	}()
}

// splice copies between conn and a new connection to target until either
// side closes.
func splice(conn net.Conn, target string) {
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	upstream, err := (&net.Dialer{}).DialContext(ctx, "tcp", target)
	if err != nil {
		return
	}
	defer upstream.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(upstream, conn); done <- struct{}{} }()
	go func() { io.Copy(conn, upstream); done <- struct{}{} }()
	<-done
}
