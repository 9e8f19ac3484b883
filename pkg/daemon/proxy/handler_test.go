package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	apiHost = "api.cluster.example.test"
	keyAuth = certManagerToken + ".thumbprint-of-the-account-key"
)

// seenRequest is what the upstream (the router, in production) received.
type seenRequest struct {
	method, target, host, xff, xfProto, via string
}

// fakeRouter stands in for the ingress VIP: it counts every request and
// answers the challenge path with a key authorization.
type fakeRouter struct {
	server *httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	seen   []seenRequest
}

func newFakeRouter(t *testing.T, network, address string, handler http.HandlerFunc) *fakeRouter {
	t.Helper()
	if handler == nil {
		handler = func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != ChallengePathPrefix+certManagerToken {
				http.NotFound(w, r)
				return
			}
			io.WriteString(w, keyAuth)
		}
	}
	ln := listen(t, network, address)
	router := &fakeRouter{}
	router.server = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		router.hits.Add(1)
		router.mu.Lock()
		router.seen = append(router.seen, seenRequest{
			method: r.Method, target: r.RequestURI, host: r.Host,
			xff: strings.Join(r.Header.Values("X-Forwarded-For"), ","), xfProto: r.Header.Get("X-Forwarded-Proto"),
			via: strings.Join(r.Header.Values("Via"), ","),
		})
		router.mu.Unlock()
		handler(w, r)
	})}}
	router.server.Start()
	t.Cleanup(router.server.Close)
	return router
}

func (r *fakeRouter) addrPort() netip.AddrPort {
	return netip.MustParseAddrPort(r.server.Listener.Addr().String())
}

func (r *fakeRouter) lastSeen() seenRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[len(r.seen)-1]
}

// recordingObserver collects what the handler and listener report.
type recordingObserver struct {
	mu        sync.Mutex
	handled   []string // "outcome code"
	latencies int
	open      int
}

func (o *recordingObserver) RequestHandled(outcome string, code int) {
	o.mu.Lock()
	o.handled = append(o.handled, fmt.Sprintf("%s %d", outcome, code))
	o.mu.Unlock()
}
func (o *recordingObserver) UpstreamResponded(time.Duration) {
	o.mu.Lock()
	o.latencies++
	o.mu.Unlock()
}
func (o *recordingObserver) ConnectionOpened() { o.mu.Lock(); o.open++; o.mu.Unlock() }
func (o *recordingObserver) ConnectionClosed() { o.mu.Lock(); o.open--; o.mu.Unlock() }

func (o *recordingObserver) snapshot() (handled []string, latencies, open int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.handled...), o.latencies, o.open
}

// startProxy serves NewHandler on a loopback port with NewServer's limits.
func startProxy(t *testing.T, listenAddress string, cfg HandlerConfig, maxConnections int) (string, *recordingObserver) {
	t.Helper()
	observer := &recordingObserver{}
	ln, err := listenTCP(listenAddress)
	if err != nil && strings.Contains(listenAddress, "::") {
		t.Skipf("IPv6 loopback unavailable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(NewHandler(cfg, observer))
	go srv.Serve(NewLimitListener(ln, maxConnections, observer))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String(), observer
}

// listen fails the test if it cannot listen, except on IPv6 loopback,
// which some CI containers lack: the IPv6 test is skipped there.
func listen(t *testing.T, network, address string) net.Listener {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil && strings.Contains(address, "::") {
		t.Skipf("IPv6 loopback unavailable: %v", err)
	}
	if err != nil {
		t.Fatalf("listening on %s %s: %v", network, address, err)
	}
	return ln
}

func configFor(router *fakeRouter) HandlerConfig {
	return HandlerConfig{IngressVIPs: []netip.Addr{router.addrPort().Addr()}, UpstreamPort: router.addrPort().Port()}
}

type response struct {
	status int
	header http.Header
	body   string
}

// send writes raw bytes, so that request targets reach the server exactly as
// a hostile client would send them, and reads one response.
func send(t *testing.T, address, raw string) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", address, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading response to %q: %v", raw, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func get(target string, headers ...string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: " + apiHost + "\r\n" + strings.Join(headers, "") + "\r\n"
}

func TestHandlerForwardsChallengeRequests(t *testing.T) {
	router := newFakeRouter(t, "tcp", "127.0.0.1:0", nil)
	address, observer := startProxy(t, "127.0.0.1:0", configFor(router), 16)
	challenge := ChallengePathPrefix + certManagerToken

	tests := []struct {
		name         string
		raw          string
		expectMethod string
		expectBody   string
		expectUpXFF  string
		expectUpHost string
	}{
		{
			name:         "GET",
			raw:          get(challenge),
			expectMethod: "GET", expectBody: keyAuth, expectUpHost: apiHost, expectUpXFF: "127.0.0.1",
		},
		{
			name:         "HEAD",
			raw:          "HEAD " + challenge + " HTTP/1.1\r\nHost: " + apiHost + "\r\n\r\n",
			expectMethod: "HEAD", expectUpHost: apiHost, expectUpXFF: "127.0.0.1",
		},
		{
			name:         "a forged X-Forwarded-For is replaced by the real client",
			raw:          get(challenge, "X-Forwarded-For: 203.0.113.66\r\n"),
			expectMethod: "GET", expectBody: keyAuth, expectUpHost: apiHost, expectUpXFF: "127.0.0.1",
		},
		{
			name:         "Host with a port is kept as sent",
			raw:          "GET " + challenge + " HTTP/1.1\r\nHost: " + apiHost + ":80\r\n\r\n",
			expectMethod: "GET", expectBody: keyAuth, expectUpHost: apiHost + ":80", expectUpXFF: "127.0.0.1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := router.hits.Load()
			resp := send(t, address, tc.raw)
			if resp.status != http.StatusOK || resp.body != tc.expectBody {
				t.Fatalf("got %d %q, want 200 %q", resp.status, resp.body, tc.expectBody)
			}
			if hits := router.hits.Load() - before; hits != 1 {
				t.Fatalf("router saw %d requests, want 1", hits)
			}
			seen := router.lastSeen()
			expect := seenRequest{method: tc.expectMethod, target: challenge, host: tc.expectUpHost, xff: tc.expectUpXFF, xfProto: "http", via: "1.1 " + Pseudonym}
			if seen != expect {
				t.Errorf("router saw %+v, want %+v", seen, expect)
			}
			if via := resp.header.Values("Via"); len(via) != 1 || via[0] != "1.1 "+Pseudonym {
				t.Errorf("response Via %q, want our entry", via)
			}
			if ps := resp.header.Get("Proxy-Status"); ps != "" {
				t.Errorf("the router's answer carries Proxy-Status %q, want none", ps)
			}
		})
	}
	handled, latencies, _ := observer.snapshot()
	if len(handled) != len(tests) || handled[0] != "forwarded 200" || latencies != len(tests) {
		t.Errorf("observed %v with %d latencies, want %d forwarded 200s with latencies", handled, latencies, len(tests))
	}
}

func TestHandlerRejectsWithoutContactingTheUpstream(t *testing.T) {
	router := newFakeRouter(t, "tcp", "127.0.0.1:0", nil)
	address, observer := startProxy(t, "127.0.0.1:0", configFor(router), 16)
	challenge := ChallengePathPrefix + certManagerToken

	tests := []struct {
		name         string
		raw          string
		expectStatus int
		expectAllow  bool
	}{
		{"other path", get("/api/v1/secrets"), http.StatusNotFound, false},
		{"other path over HTTP/1.0", "GET / HTTP/1.0\r\nHost: " + apiHost + "\r\n\r\n", http.StatusNotFound, false},
		{"root", get("/"), http.StatusNotFound, false},
		{"short token", get(ChallengePathPrefix + "abc"), http.StatusNotFound, false},
		{"traversal", get(ChallengePathPrefix + "../../" + certManagerToken), http.StatusBadRequest, false},
		{"encoded traversal", get(ChallengePathPrefix + "%2e%2e/%2e%2e/" + certManagerToken), http.StatusBadRequest, false},
		{"encoded slash", get("/.well-known%2Facme-challenge%2F" + certManagerToken), http.StatusBadRequest, false},
		{"query", get(challenge + "?redirect=http://internal"), http.StatusBadRequest, false},
		{"absolute-form to another host", get("http://169.254.169.254" + challenge), http.StatusBadRequest, false},
		{"POST", "POST " + challenge + " HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi", http.StatusMethodNotAllowed, true},
		{"OPTIONS", "OPTIONS " + challenge + " HTTP/1.1\r\nHost: h\r\n\r\n", http.StatusMethodNotAllowed, true},
		{"TRACE", "TRACE " + challenge + " HTTP/1.1\r\nHost: h\r\n\r\n", http.StatusMethodNotAllowed, true},
		{"OPTIONS * is not answered by Go itself", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", http.StatusMethodNotAllowed, true},
		{"CONNECT", "CONNECT 169.254.169.254:80 HTTP/1.1\r\nHost: 169.254.169.254:80\r\n\r\n", http.StatusMethodNotAllowed, true},
		{"GET with a body", "GET " + challenge + " HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi", http.StatusBadRequest, false},
		{"GET chunked", "GET " + challenge + " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", http.StatusBadRequest, false},
		{"websocket upgrade", get(challenge, "Connection: Upgrade\r\n", "Upgrade: websocket\r\n"), http.StatusBadRequest, false},
		{"h2c upgrade", get(challenge, "Connection: Upgrade, HTTP2-Settings\r\n", "Upgrade: h2c\r\n", "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"), http.StatusBadRequest, false},
		{"HTTP/1.0 without Host", "GET " + challenge + " HTTP/1.0\r\n\r\n", http.StatusBadRequest, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := send(t, address, tc.raw)
			if resp.status != tc.expectStatus {
				t.Errorf("status %d (%q), want %d", resp.status, resp.body, tc.expectStatus)
			}
			if answer := ReadAnswer(resp.header); !answer.Refused() || answer.NextHop != "" {
				t.Errorf("Via %q, Proxy-Status %q: want a refusal by the proxy, naming no upstream", resp.header.Values("Via"), resp.header.Values("Proxy-Status"))
			}
			if allow := resp.header.Get("Allow"); (allow == "GET, HEAD") != tc.expectAllow {
				t.Errorf("Allow header %q", allow)
			}
			if ct := resp.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want plain text", ct)
			}
			if len(resp.body) == 0 || len(resp.body) > 200 {
				t.Errorf("body %q, want a short reason", resp.body)
			}
		})
	}
	// What the parser refuses carries our marks too: diagnose can tell the
	// proxy's 431 from anybody else's.
	t.Run("oversized headers are refused by the parser, with our headers", func(t *testing.T) {
		resp := send(t, address, get(challenge, "X-Pad: "+strings.Repeat("a", 16<<10)+"\r\n"))
		if resp.status != http.StatusRequestHeaderFieldsTooLarge || !ReadAnswer(resp.header).Refused() {
			t.Errorf("status %d with Via %q, Proxy-Status %q; want 431 refused by the proxy", resp.status, resp.header.Get("Via"), resp.header.Get("Proxy-Status"))
		}
	})
	if hits := router.hits.Load(); hits != 0 {
		t.Errorf("router saw %d requests, want none", hits)
	}
	handled, latencies, _ := observer.snapshot()
	for _, h := range handled {
		if !strings.HasPrefix(h, "rejected 4") {
			t.Errorf("observed %q, want only rejections", h)
		}
	}
	if latencies != 0 {
		t.Errorf("observed %d upstream latencies, want none", latencies)
	}
}

func TestHandlerUpstreamFailures(t *testing.T) {
	challenge := get(ChallengePathPrefix + certManagerToken)

	// A refused connection is a 502 at once, not the 504 of a dial that
	// waited for its timeout.
	t.Run("closed port is a 502", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := netip.MustParseAddrPort(ln.Addr().String())
		ln.Close()
		address, observer := startProxy(t, "127.0.0.1:0", HandlerConfig{IngressVIPs: []netip.Addr{closed.Addr()}, UpstreamPort: closed.Port()}, 16)
		resp := send(t, address, challenge)
		expectUpstreamFailure(t, resp, http.StatusBadGateway, ErrorConnectionRefused, closed,
			"upstream unavailable: ingress VIP "+closed.String()+": connection refused")
		if handled, _, _ := observer.snapshot(); len(handled) != 1 || handled[0] != "upstream_error 502" {
			t.Errorf("observed %v", handled)
		}
	})

	t.Run("slow upstream is a 504", func(t *testing.T) {
		release := make(chan struct{})
		router := newFakeRouter(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) { <-release })
		defer close(release)
		cfg := configFor(router)
		cfg.ResponseHeaderTimeout = 100 * time.Millisecond
		address, observer := startProxy(t, "127.0.0.1:0", cfg, 16)
		resp := send(t, address, challenge)
		expectUpstreamFailure(t, resp, http.StatusGatewayTimeout, ErrorResponseTimeout, router.addrPort(),
			"upstream timed out: ingress VIP "+router.addrPort().String()+": no response headers within the response timeout")
		if handled, _, _ := observer.snapshot(); len(handled) != 1 || handled[0] != "upstream_error 504" {
			t.Errorf("observed %v", handled)
		}
	})

	t.Run("announced oversized body is a 502", func(t *testing.T) {
		router := newFakeRouter(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(DefaultMaxResponseBytes+1))
			w.Write(make([]byte, DefaultMaxResponseBytes+1))
		})
		address, _ := startProxy(t, "127.0.0.1:0", configFor(router), 16)
		expectUpstreamFailure(t, send(t, address, challenge), http.StatusBadGateway, ErrorResponseBodySize, router.addrPort(),
			"upstream unavailable: ingress VIP "+router.addrPort().String()+": response too large")
	})

	t.Run("the upstream's Via is kept and ours appended", func(t *testing.T) {
		router := newFakeRouter(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Via", "1.1 router")
			http.NotFound(w, r)
		})
		address, _ := startProxy(t, "127.0.0.1:0", configFor(router), 16)
		resp := send(t, address, challenge)
		if via := resp.header.Values("Via"); resp.status != http.StatusNotFound || len(via) != 1 || via[0] != "1.1 router, 1.1 "+Pseudonym {
			t.Errorf("got %d with Via %q, want the router's 404 with Via \"1.1 router, 1.1 %s\"", resp.status, via, Pseudonym)
		}
		if !ReadAnswer(resp.header).FromUpstream() {
			t.Errorf("ReadAnswer(%v) does not say the router answered", resp.header)
		}
	})

	t.Run("streamed oversized body is cut off at the cap", func(t *testing.T) {
		router := newFakeRouter(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 4096)
			for range 64 {
				w.Write(chunk)
				w.(http.Flusher).Flush()
			}
		})
		cfg := configFor(router)
		cfg.MaxResponseBytes = 10000
		address, observer := startProxy(t, "127.0.0.1:0", cfg, 16)
		conn, err := net.Dial("tcp", address)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(conn, challenge)
		all, _ := io.ReadAll(conn)
		if len(all) > 12000 {
			t.Errorf("client received %d bytes, want the body cut off near 10000", len(all))
		}
		waitFor(t, func() bool {
			handled, _, _ := observer.snapshot()
			return len(handled) == 1 && strings.HasPrefix(handled[0], "upstream_error")
		})
	})

	t.Run("redirects are passed back, not followed", func(t *testing.T) {
		router := newFakeRouter(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, ChallengePathPrefix+"another-token-0123456789", http.StatusFound)
		})
		address, _ := startProxy(t, "127.0.0.1:0", configFor(router), 16)
		resp := send(t, address, challenge)
		if resp.status != http.StatusFound || router.hits.Load() != 1 {
			t.Errorf("status %d after %d upstream requests, want the 302 after 1", resp.status, router.hits.Load())
		}
	})
}

// expectUpstreamFailure checks a gateway error the proxy produced: its
// status, body, and the Proxy-Status member that names the error and the
// ingress VIP tried.
func expectUpstreamFailure(t *testing.T, resp response, status int, errorType string, upstream netip.AddrPort, body string) {
	t.Helper()
	if resp.status != status || strings.TrimSpace(resp.body) != body {
		t.Errorf("got %d %q, want %d %q", resp.status, resp.body, status, body)
	}
	expect := Answer{ThroughProxy: true, ProxyError: errorType, NextHop: upstream.Addr().String()}
	if got := ReadAnswer(resp.header); got != expect {
		t.Errorf("Via %q, Proxy-Status %q read as %+v, want %+v", resp.header.Values("Via"), resp.header.Values("Proxy-Status"), got, expect)
	}
}

// TestHandlerOpensOneUpstreamConnectionPerRequest checks that no connection
// to the router is kept between requests: each forward dials its own and
// asks the router to close it.
func TestHandlerOpensOneUpstreamConnectionPerRequest(t *testing.T) {
	var mu sync.Mutex
	connections := map[string]bool{}
	asksToClose := 0
	router := newFakeRouter(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		connections[r.RemoteAddr] = true
		if r.Close {
			asksToClose++
		}
		mu.Unlock()
		io.WriteString(w, keyAuth)
	})
	address, _ := startProxy(t, "127.0.0.1:0", configFor(router), 16)
	const requests = 3
	for range requests {
		if resp := send(t, address, get(ChallengePathPrefix+certManagerToken)); resp.status != http.StatusOK {
			t.Fatalf("status %d, want 200", resp.status)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(connections) != requests || asksToClose != requests {
		t.Errorf("%d requests came over %d connections, %d asking to close; want %d of each", requests, len(connections), asksToClose, requests)
	}
}

// TestHandlerForwardsOnlyAllowedHeaders checks that the router gets Accept,
// User-Agent and the X-Forwarded-* the proxy sets, whatever else the client
// sent.
func TestHandlerForwardsOnlyAllowedHeaders(t *testing.T) {
	var seen http.Header
	router := newFakeRouter(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		io.WriteString(w, keyAuth)
	})
	address, _ := startProxy(t, "127.0.0.1:0", configFor(router), 16)
	resp := send(t, address, get(ChallengePathPrefix+certManagerToken,
		"Accept: */*\r\n", "User-Agent: validator\r\n",
		"Cookie: session=1\r\n", "Authorization: Bearer token\r\n", "Expect: 100-continue\r\n", "Range: bytes=0-1\r\n",
		"Forwarded: for=203.0.113.66\r\n", "X-Forwarded-Host: evil.example\r\n", "X-Real-IP: 203.0.113.66\r\n",
		"Accept-Encoding: gzip\r\n", "Via: 1.1 evil\r\n", "TE: trailers\r\n", "X-Custom: x\r\n"))
	if resp.status != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.status)
	}
	expect := http.Header{
		"Accept":            {"*/*"},
		"User-Agent":        {"validator"},
		"Connection":        {"close"},
		"X-Forwarded-For":   {"127.0.0.1"},
		"X-Forwarded-Host":  {apiHost},
		"X-Forwarded-Proto": {"http"},
		"Via":               {"1.1 " + Pseudonym},
	}
	if !reflect.DeepEqual(seen, expect) {
		t.Errorf("router saw headers\n  %v\nwant\n  %v", seen, expect)
	}
}

func TestHandlerIgnoresProxyEnvironment(t *testing.T) {
	// A proxy that must not be used: if the transport honoured HTTP_PROXY,
	// the request would go here.
	decoy := newFakeRouter(t, "tcp", "127.0.0.1:0", nil)
	t.Setenv("HTTP_PROXY", "http://"+decoy.server.Listener.Addr().String())
	t.Setenv("http_proxy", "http://"+decoy.server.Listener.Addr().String())
	router := newFakeRouter(t, "tcp", "127.0.0.1:0", nil)
	address, _ := startProxy(t, "127.0.0.1:0", configFor(router), 16)
	if resp := send(t, address, get(ChallengePathPrefix+certManagerToken)); resp.status != http.StatusOK {
		t.Errorf("status %d, want 200", resp.status)
	}
	if decoy.hits.Load() != 0 || router.hits.Load() != 1 {
		t.Errorf("proxy from the environment saw %d requests, router %d", decoy.hits.Load(), router.hits.Load())
	}
}

func TestHandlerKeepsIPv6ClientsOnIPv6(t *testing.T) {
	router6 := newFakeRouter(t, "tcp6", "[::1]:0", nil)
	port := router6.addrPort().Port()
	router4 := newFakeRouter(t, "tcp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))), nil)
	cfg := HandlerConfig{IngressVIPs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, UpstreamPort: port}
	address, _ := startProxy(t, "[::1]:0", cfg, 16)

	if resp := send(t, address, get(ChallengePathPrefix+certManagerToken)); resp.status != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.status)
	}
	if router6.hits.Load() != 1 || router4.hits.Load() != 0 {
		t.Errorf("IPv6 router saw %d requests, IPv4 router %d; want 1 and 0", router6.hits.Load(), router4.hits.Load())
	}
	if xff := router6.lastSeen().xff; xff != "::1" {
		t.Errorf("X-Forwarded-For %q, want ::1", xff)
	}
}

func TestLimitListenerEvictsTheOldestConnectionWithoutARequest(t *testing.T) {
	router := newFakeRouter(t, "tcp", "127.0.0.1:0", nil)
	address, observer := startProxy(t, "127.0.0.1:0", configFor(router), 2)

	// Two clients that started a request and stalled take both slots.
	var idle []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", address)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /.well-known/")
		idle = append(idle, c)
		waitFor(t, func() bool { _, _, open := observer.snapshot(); return open == len(idle) })
	}

	// A challenge request still gets through, at once: the oldest idle
	// connection makes room.
	third, err := net.Dial("tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	io.WriteString(third, get(ChallengePathPrefix+certManagerToken))
	third.SetReadDeadline(time.Now().Add(time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(third), nil)
	if err != nil {
		t.Fatalf("challenge request while idle connections held every slot: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d, want 200", resp.StatusCode)
	}
	idle[0].SetReadDeadline(time.Now().Add(time.Second))
	if _, err := idle[0].Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("oldest idle connection: read %v, want EOF (closed to make room)", err)
	}
	idle[1].SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := idle[1].Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("newer idle connection: read %v, want it still open", err)
	}
}

// A connection that sends nothing is not accepted (TCP_DEFER_ACCEPT): it
// takes no slot, and a challenge request needs no eviction to get through.
func TestSilentConnectionsTakeNoSlot(t *testing.T) {
	router := newFakeRouter(t, "tcp", "127.0.0.1:0", nil)
	address, observer := startProxy(t, "127.0.0.1:0", configFor(router), 1)
	for range 8 {
		c, err := net.Dial("tcp", address)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	time.Sleep(100 * time.Millisecond)
	if _, _, open := observer.snapshot(); open != 0 {
		t.Fatalf("%d silent connections were accepted, want none before their first byte", open)
	}
	if resp := send(t, address, get(ChallengePathPrefix+certManagerToken)); resp.status != http.StatusOK {
		t.Errorf("status %d, want 200", resp.status)
	}
	waitFor(t, func() bool { _, _, open := observer.snapshot(); return open == 0 })
	if handled, _, _ := observer.snapshot(); len(handled) != 1 {
		t.Errorf("handled %v, want only the challenge", handled)
	}
}

func TestLimitListenerCapsConcurrentRequests(t *testing.T) {
	release := make(chan struct{})
	router := newFakeRouter(t, "tcp", "127.0.0.1:0", func(w http.ResponseWriter, r *http.Request) {
		<-release
		io.WriteString(w, keyAuth)
	})
	address, observer := startProxy(t, "127.0.0.1:0", configFor(router), 2)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	// Two requests in flight take both slots, and are never evicted.
	var busy []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", address)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, get(ChallengePathPrefix+certManagerToken))
		busy = append(busy, c)
	}
	waitFor(t, func() bool { return router.hits.Load() == 2 })

	// A third connection completes the TCP handshake (the kernel backlog)
	// but is not served while the slots serve requests.
	third, err := net.Dial("tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	io.WriteString(third, get(ChallengePathPrefix+certManagerToken))
	third.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := third.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("third connection was served while two requests were in flight (read %d, %v)", n, err)
	}
	if _, _, open := observer.snapshot(); open != 2 {
		t.Errorf("open connections = %d, want 2", open)
	}

	// Once they are answered, it gets through, and so did they.
	close(release)
	for _, c := range append(busy, third) {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("reading a response: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d, want 200", resp.StatusCode)
		}
	}
}

func TestLimitListenerCloseUnblocksAccept(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limited := NewLimitListener(ln, 1, &recordingObserver{})
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	first, err := limited.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()

	done := make(chan error, 1)
	go func() { _, err := limited.Accept(); done <- err }()
	time.Sleep(20 * time.Millisecond)
	limited.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Accept after Close returned a connection")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Accept still blocked after Close")
	}
}

func TestServerLimits(t *testing.T) {
	// A forwarded request must be able to use its whole upstream budget
	// before the server gives up writing the response.
	if writeTimeout <= DefaultDialTimeout+2*DefaultResponseHeaderTimeout {
		t.Errorf("writeTimeout %v does not outlast the upstream timeouts", writeTimeout)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
