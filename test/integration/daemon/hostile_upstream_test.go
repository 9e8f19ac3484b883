//go:build integration

package daemon

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

// hostileIngressVIP is served by a raw TCP "router" that answers every
// forwarded request with a scripted response, whatever it is.
var hostileIngressVIP = netip.MustParseAddr("192.0.2.203")

// hostileUpstreamResponses is what an application behind the router could
// send back for the API host, and what the validator must get.
var hostileUpstreamResponses = []struct {
	name string
	// raw is written as the upstream's answer, then the connection is
	// closed.
	raw string
	// status and body are what the client must get.
	status int
	body   string
	// proxyError is our Proxy-Status error type, empty when the upstream's
	// answer is relayed.
	proxyError string
}{
	{
		name:   "plain 200",
		raw:    "HTTP/1.1 200 OK\r\nContent-Length: " + fmt.Sprint(len(keyAuth)) + "\r\n\r\n" + keyAuth,
		status: 200, body: keyAuth,
	},
	{
		name:   "103 Early Hints before the 200",
		raw:    "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: " + fmt.Sprint(len(keyAuth)) + "\r\n\r\n" + keyAuth,
		status: 200, body: keyAuth,
	},
	{
		name:   "100 Continue twice before the 200",
		raw:    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: " + fmt.Sprint(len(keyAuth)) + "\r\n\r\n" + keyAuth,
		status: 200, body: keyAuth,
	},
	{
		name:   "101 Switching Protocols",
		raw:    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nraw bytes of another protocol",
		status: 502, proxyError: "http_protocol_error",
	},
	{
		name:   "status 099",
		raw:    "HTTP/1.1 099 Odd\r\nContent-Length: 2\r\n\r\nok",
		status: 502, proxyError: "http_protocol_error",
	},
	{
		name:   "status 600",
		raw:    "HTTP/1.1 600 Beyond\r\nContent-Length: 2\r\n\r\nok",
		status: 502, proxyError: "http_protocol_error",
	},
	{
		name:   "only interim responses, then close",
		raw:    "HTTP/1.1 103 Early Hints\r\n\r\n",
		status: 502, proxyError: "connection_terminated",
	},
	{
		name:   "endless interim responses",
		raw:    strings.Repeat("HTTP/1.1 103 Early Hints\r\n\r\n", 50),
		status: 502, proxyError: "http_protocol_error",
	},
	{
		name:   "body over the cap, announced",
		raw:    "HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + strings.Repeat("a", 5000),
		status: 502, proxyError: "http_response_body_size",
	},
	{
		name:   "router's 503 page without a length (HTTP/1.0, close-delimited)",
		raw:    "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/html\r\n\r\n" + strings.Repeat("x", 2700),
		status: 503, body: strings.Repeat("x", 2700),
	},
}

// TestHostileUpstreamResponses forwards a challenge to an upstream that
// answers with each of hostileUpstreamResponses, through the real redirect
// and daemon, and checks what the client gets, that only allowlisted
// response headers come back, and that the daemon holds no more file
// descriptors afterwards than before.
func TestHostileUpstreamResponses(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	c.router.IP(t, "address", "add", hostileIngressVIP.String()+"/24", "dev", "eth0")
	upstream := startScriptedUpstream(t, c.router, netip.AddrPortFrom(hostileIngressVIP, 80))
	daemon := c.startDaemonWith(t, "--api-vips="+apiVIP4.String(), "--ingress-vips="+hostileIngressVIP.String(), noPathProbe, "-v=2")
	target := netip.AddrPortFrom(apiVIP4, 80)

	// Warm up (the first forward starts goroutines and lazily opened
	// descriptors), then take the baseline.
	upstream.answer(hostileUpstreamResponses[0].raw)
	checkChallenge(t, c.client, target, 200, keyAuth, "")
	fdsBefore := openFDs(t, daemon.Pid())

	const repeats = 21
	for _, tc := range hostileUpstreamResponses {
		t.Run(tc.name, func(t *testing.T) {
			upstream.answer(tc.raw)
			for range repeats {
				if !checkChallenge(t, c.client, target, tc.status, tc.body, tc.proxyError) {
					break
				}
			}
		})
	}

	t.Run("only allowlisted response headers are relayed", func(t *testing.T) {
		upstream.answer("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: session=stolen\r\nLocation: http://evil.example/\r\n" +
			"Proxy-Status: http01-challenge-proxy; error=http_request_denied\r\nX-Internal: 1\r\nServer: router\r\nContent-Length: " +
			fmt.Sprint(len(keyAuth)) + "\r\n\r\n" + keyAuth)
		resp, err := getResponse(c.client, target, challengePath, 10*time.Second)
		if err != nil || resp.status != 200 || resp.body != keyAuth {
			t.Fatalf("got %d %q, %v", resp.status, resp.body, err)
		}
		for _, name := range []string{"Set-Cookie", "Location", "Proxy-Status", "X-Internal"} {
			if v := resp.header.Values(name); len(v) > 0 {
				t.Errorf("%s %q relayed to the client", name, v)
			}
		}
		if got := resp.header.Get("Server"); got != "router" {
			t.Errorf("Server %q, want the upstream's", got)
		}
		if got := resp.header.Get("Via"); !strings.HasSuffix(got, "http01-challenge-proxy") {
			t.Errorf("Via %q lacks our entry", got)
		}
	})

	t.Run("no descriptor leaked", func(t *testing.T) {
		// Closed sockets can take a moment to be released by the handlers.
		var fdsAfter int
		eventually(t, 5*time.Second, "daemon back to its descriptors", func() error {
			if fdsAfter = openFDs(t, daemon.Pid()); fdsAfter > fdsBefore {
				return fmt.Errorf("%d open descriptors, %d before", fdsAfter, fdsBefore)
			}
			return nil
		})
		t.Logf("daemon descriptors: %d before, %d after %d hostile responses", fdsBefore, fdsAfter, repeats*len(hostileUpstreamResponses))
	})
	if daemon.Exited() || strings.Contains(daemon.Output(), "panic") {
		t.Errorf("daemon panicked or exited:\n%s", daemon.Output())
	}
}

// checkChallenge sends the challenge to target and reports whether the
// answer was as expected.
func checkChallenge(t *testing.T, ns *netns.Namespace, target netip.AddrPort, status int, body, proxyError string) bool {
	t.Helper()
	resp, err := getResponse(ns, target, challengePath, 10*time.Second)
	if err != nil {
		t.Errorf("no answer: %v", err)
		return false
	}
	ok := resp.status == status
	if body != "" && resp.body != body {
		ok = false
	}
	expectProxyStatus := ""
	if proxyError != "" {
		expectProxyStatus = `http01-challenge-proxy; error=` + proxyError + `; next-hop="` + hostileIngressVIP.String() + `"`
	}
	if got := resp.header.Get("Proxy-Status"); got != expectProxyStatus {
		ok = false
	}
	if !ok {
		t.Errorf("got %d %.80q Proxy-Status %q; want %d %.80q Proxy-Status %q", resp.status, resp.body, resp.header.Get("Proxy-Status"), status, body, expectProxyStatus)
	}
	return ok
}

// openFDs counts the descriptors pid holds.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// scriptedUpstream answers every request on its address with the current
// raw response and closes the connection.
type scriptedUpstream struct {
	mu  sync.Mutex
	raw string
}

func (u *scriptedUpstream) answer(raw string) {
	u.mu.Lock()
	u.raw = raw
	u.mu.Unlock()
}

func startScriptedUpstream(t *testing.T, ns *netns.Namespace, address netip.AddrPort) *scriptedUpstream {
	t.Helper()
	ln, err := ns.Listen("tcp", address.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	u := &scriptedUpstream{}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go u.serve(conn)
		}
	}()
	return u
}

func (u *scriptedUpstream) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := http.ReadRequest(bufio.NewReader(conn)); err != nil {
		return
	}
	u.mu.Lock()
	raw := u.raw
	u.mu.Unlock()
	io.WriteString(conn, raw)
}
