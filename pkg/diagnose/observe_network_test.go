package diagnose

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestDescribeFailure(t *testing.T) {
	dial := func(err error) error {
		return &url.Error{Op: "Get", URL: "http://192.0.2.100:80/", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	tests := []struct {
		name   string
		err    error
		expect string
	}{
		{"refused", dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)), failureRefused},
		{"host unreachable", dial(os.NewSyscallError("connect", syscall.EHOSTUNREACH)), failureUnreachable},
		{"network unreachable", dial(os.NewSyscallError("connect", syscall.ENETUNREACH)), failureUnreachable},
		{"reset", &url.Error{Op: "Get", Err: &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}}, failureReset},
		{"deadline", &url.Error{Op: "Get", Err: context.DeadlineExceeded}, "no answer within 3s"},
		{"dial timeout", dial(os.ErrDeadlineExceeded), "no answer within 3s"},
		{"anything else, without the URL", &url.Error{Op: "Get", URL: "http://x/", Err: errors.New("malformed HTTP response")}, "malformed HTTP response"},
		{"not a URL error", errors.New("boom"), "boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := describeFailure(tc.err, 3*time.Second); got != tc.expect {
				t.Errorf("describeFailure(%v) = %q, want %q", tc.err, got, tc.expect)
			}
		})
	}
}

func TestSortedUnique(t *testing.T) {
	in := []netip.Addr{
		netip.MustParseAddr("2001:db8::100"), netip.MustParseAddr("192.0.2.100"),
		netip.MustParseAddr("::ffff:192.0.2.100"), netip.MustParseAddr("192.0.2.9"),
	}
	expect := []netip.Addr{netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("192.0.2.100"), netip.MustParseAddr("2001:db8::100")}
	if got := sortedUnique(in); !reflect.DeepEqual(got, expect) {
		t.Errorf("sortedUnique = %v, want %v", got, expect)
	}
}

// listenOnPort80 serves handler on port 80 of a loopback address of its
// own (127.0.0.80), as get always asks port 80. It skips the test where
// the port cannot be bound (not root, or taken).
func listenOnPort80(t *testing.T, handler http.Handler) netip.Addr {
	t.Helper()
	addr := netip.MustParseAddr("127.0.0.80")
	ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 80).String())
	if err != nil {
		t.Skipf("cannot listen on port 80 of %s (the integration tests cover this as root): %v", addr, err)
	}
	server := &httptest.Server{Listener: ln, Config: &http.Server{Handler: handler}}
	server.Start()
	t.Cleanup(server.Close)
	return addr
}

func TestGetRecordsWhatAValidatorWouldSee(t *testing.T) {
	var seen *http.Request
	addr := listenOnPort80(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Clone(context.Background())
		w.Header().Add("Via", "1.1 router")
		w.Header().Add("Via", "1.1 http01-challenge-proxy")
		w.Header().Set("Proxy-Status", "http01-challenge-proxy; error=http_request_denied")
		w.Header().Set("Server", "test")
		w.Header().Set("Location", "http://elsewhere.example/")
		w.WriteHeader(http.StatusFound)
		fmt.Fprint(w, strings.Repeat("x", maxBodyBytes+10))
	}))
	n := newNetwork("api.cluster.example.test", "", 5*time.Second)
	got := n.get(context.Background(), addr, "/.well-known/acme-challenge/abc")
	expect := HTTPObservation{
		Status: http.StatusFound, Via: "1.1 router, 1.1 http01-challenge-proxy",
		ProxyStatus: "http01-challenge-proxy; error=http_request_denied", Server: "test", Body: strings.Repeat("x", maxBodyBytes),
	}
	if !reflect.DeepEqual(got, expect) {
		t.Errorf("get = %+v, want %+v (the redirect is not followed)", got, expect)
	}
	if seen.Host != "api.cluster.example.test" || seen.URL.Path != "/.well-known/acme-challenge/abc" || seen.UserAgent() != userAgent {
		t.Errorf("the server saw Host %q, path %q, User-Agent %q", seen.Host, seen.URL.Path, seen.UserAgent())
	}
}

func TestGetWithNothingListening(t *testing.T) {
	// 127.0.0.81:80 is free wherever the test can run: nothing binds it.
	n := newNetwork("api.cluster.example.test", "", 5*time.Second)
	if got := n.get(context.Background(), netip.MustParseAddr("127.0.0.81"), "/"); got.Failure != failureRefused {
		t.Errorf("get = %+v, want %q", got, failureRefused)
	}
}
