package proxy

// Benchmarks of the request path, from the pure classifier to the whole
// server over loopback TCP. They print figures; they assert nothing about
// speed. docs/performance.md has the results and how to reproduce them:
//
//	go test -run '^$' -bench . -benchmem ./pkg/daemon/proxy

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

const benchToken = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

var benchDecision Decision

// BenchmarkClassify runs the classifier on what reaches the port: challenge
// requests and the rejections scanners cause most.
func BenchmarkClassify(b *testing.B) {
	get := func(target string) Request {
		return Request{Method: http.MethodGet, Target: target, Host: "api.cluster.example.test"}
	}
	cases := []struct {
		name string
		req  Request
	}{
		{"challenge", get(ChallengePathPrefix + benchToken)},
		{"challenge_128_char_token", get(ChallengePathPrefix + strings.Repeat("A", maxTokenLength))},
		{"reject_root", get("/")},
		{"reject_method", Request{Method: http.MethodPost, Target: ChallengePathPrefix + benchToken, Host: "h"}},
		{"reject_short_token", get(ChallengePathPrefix + "short")},
		{"reject_query", get(ChallengePathPrefix + benchToken + "?x=1")},
		{"reject_traversal", get(ChallengePathPrefix + "../../../etc/passwd")},
		{"reject_absolute_form", get("http://169.254.169.254/latest/meta-data/")},
		// The longest target the server lets through (8 KiB of headers).
		{"reject_8k_target", get("/" + strings.Repeat("a/", 4<<10))},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchDecision = Classify(c.req)
			}
		})
	}
}

type benchObserver struct{}

func (benchObserver) RequestHandled(string, int)      {}
func (benchObserver) UpstreamResponded(time.Duration) {}
func (benchObserver) ConnectionOpened()               {}
func (benchObserver) ConnectionClosed()               {}

// BenchmarkHandlerReject is the reject path without a socket: parse the
// request, classify it, build the 404.
func BenchmarkHandlerReject(b *testing.B) {
	raw := []byte("GET / HTTP/1.1\r\nHost: api.cluster.example.test\r\nUser-Agent: bench\r\nConnection: close\r\n\r\n")
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		req, err := parseRequest(raw)
		if err != nil {
			b.Fatal(err)
		}
		d := Classify(req.classifierInput())
		if d.Forward() {
			b.Fatal("forwarded")
		}
		buf = appendEnd(appendStatusLine(buf[:0], d.Reject.Status()), len(d.Reject.Message()))
	}
}

// benchStack is the proxy's server, handler and connection cap on a
// loopback port, forwarding to an upstream on another loopback port.
type benchStack struct {
	proxyAddress string
}

func newBenchStack(b *testing.B) *benchStack {
	b.Helper()
	upstreamLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	upstream := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, benchToken+".account-key-thumbprint")
	})}
	go upstream.Serve(upstreamLn)
	b.Cleanup(func() { upstream.Close() })

	port := uint16(upstreamLn.Addr().(*net.TCPAddr).Port)
	proxyLn, err := listenTCP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	server := NewServer(NewHandler(HandlerConfig{IngressVIPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}, UpstreamPort: port}, benchObserver{}))
	go server.Serve(NewLimitListener(proxyLn, DefaultMaxConnections, benchObserver{}))
	b.Cleanup(func() { server.Close() })
	return &benchStack{proxyAddress: proxyLn.Addr().String()}
}

// roundTrip sends raw on a new connection and reads until the server closes
// it, as an ACME validator does; it returns the status line's code.
func (s *benchStack) roundTrip(raw []byte, buf []byte) (int, error) {
	conn, err := net.Dial("tcp", s.proxyAddress)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	if _, err := conn.Write(raw); err != nil {
		return 0, err
	}
	n := 0
	for n < len(buf) {
		m, err := conn.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, err
		}
	}
	if n < 12 || !bytes.HasPrefix(buf, []byte("HTTP/1.1 ")) {
		return 0, fmt.Errorf("not a response: %q", buf[:n])
	}
	var code int
	_, err = fmt.Sscanf(string(buf[9:12]), "%d", &code)
	return code, err
}

// BenchmarkServer is the whole proxy over loopback TCP, a new connection per
// request, from 8 clients per GOMAXPROCS at once. The figure includes the
// client's and the upstream's work in this process; its use is comparing
// the challenge and reject paths, and profiling:
//
//	go test -run '^$' -bench Server -cpuprofile cpu.out ./pkg/daemon/proxy
func BenchmarkServer(b *testing.B) {
	for _, c := range []struct {
		name   string
		target string
		status int
	}{
		{"challenge", ChallengePathPrefix + benchToken, http.StatusOK},
		{"reject", "/", http.StatusNotFound},
	} {
		b.Run(c.name, func(b *testing.B) {
			stack := newBenchStack(b)
			raw := []byte("GET " + c.target + " HTTP/1.1\r\nHost: api.cluster.example.test\r\nConnection: close\r\n\r\n")
			b.ReportAllocs()
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				buf := make([]byte, 4096)
				for pb.Next() {
					code, err := stack.roundTrip(raw, buf)
					if err != nil {
						b.Error(err)
						return
					}
					if code != c.status {
						b.Errorf("status %d, want %d", code, c.status)
						return
					}
				}
			})
		})
	}
}
