package pathprobe

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"os"
	"syscall"
	"testing"
)

// TestJudge judges recorded answers to a probe of API_VIP:80.
func TestJudge(t *testing.T) {
	refused := &url.Error{Op: "Get", URL: "http://192.0.2.100:80/.well-known/acme-challenge/x",
		Err: &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}
	tests := []struct {
		name   string
		obs    Observation
		expect Verdict
	}{
		{
			name:   "the router's 404 through the proxy",
			obs:    Observation{Status: 404, Header: http.Header{"Via": {"1.1 http01-challenge-proxy"}}},
			expect: Verdict{PathOK: true, Detail: "the router answered 404 through the proxy"},
		},
		{
			name:   "the router's 503 for an unknown host, with a Via of its own",
			obs:    Observation{Status: 503, Header: http.Header{"Via": {"1.1 haproxy, 1.1 http01-challenge-proxy"}}},
			expect: Verdict{PathOK: true, Detail: "the router answered 503 through the proxy"},
		},
		{
			name: "the proxy's 502: router down",
			obs: Observation{Status: 502, Header: http.Header{
				"Via": {"1.1 http01-challenge-proxy"}, "Proxy-Status": {`http01-challenge-proxy; error=connection_refused; next-hop="192.0.2.200"`},
			}},
			expect: Verdict{Detail: "the proxy answered 502: it could not reach ingress VIP 192.0.2.200 (connection_refused)"},
		},
		{
			name: "the proxy's 504: router silent",
			obs: Observation{Status: 504, Header: http.Header{
				"Via": {"1.1 http01-challenge-proxy"}, "Proxy-Status": {`http01-challenge-proxy; error=http_response_timeout; next-hop="2001:db8::200"`},
			}},
			expect: Verdict{Detail: "the proxy answered 504: it could not reach ingress VIP 2001:db8::200 (http_response_timeout)"},
		},
		{
			name:   "a refusal by the filter",
			obs:    Observation{Status: 404, Header: http.Header{"Via": {"1.1 http01-challenge-proxy"}, "Proxy-Status": {"http01-challenge-proxy; error=http_request_denied"}}},
			expect: Verdict{Detail: "the proxy refused the probe with 404"},
		},
		{
			name:   "another web server on port 80",
			obs:    Observation{Status: 200, Header: http.Header{"Server": {"nginx"}}},
			expect: Verdict{Detail: "answered 200 without the proxy's Via header: something other than the proxy serves port 80 of the API VIP"},
		},
		{
			name:   "nothing listens: the redirect is missing",
			obs:    Observation{Err: refused},
			expect: Verdict{Detail: "no answer from port 80 of the API VIP: dial tcp: connect: connection refused"},
		},
		{
			name:   "an error that is not a URL error",
			obs:    Observation{Err: errors.New("boom")},
			expect: Verdict{Detail: "no answer from port 80 of the API VIP: boom"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Judge(tc.obs); got != tc.expect {
				t.Errorf("Judge = %+v\nwant   %+v", got, tc.expect)
			}
		})
	}
}
