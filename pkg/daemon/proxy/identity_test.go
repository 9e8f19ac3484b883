package proxy

import (
	"net/http"
	"net/netip"
	"reflect"
	"testing"
)

func TestAppendVia(t *testing.T) {
	tests := []struct {
		name         string
		upstream     []string
		major, minor int
		expect       string
	}{
		{name: "no Via from upstream", major: 1, minor: 1, expect: "1.1 http01-challenge-proxy"},
		{name: "after the upstream's entry", upstream: []string{"1.1 router"}, major: 1, minor: 1, expect: "1.1 router, 1.1 http01-challenge-proxy"},
		{name: "after several field lines, joined", upstream: []string{"1.0 a", "1.1 b (comment, with a comma)"}, major: 1, minor: 1,
			expect: "1.0 a, 1.1 b (comment, with a comma), 1.1 http01-challenge-proxy"},
		{name: "an HTTP/1.0 response", major: 1, minor: 0, expect: "1.0 http01-challenge-proxy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.upstream {
				h.Add("Via", v)
			}
			appendVia(h, tc.major, tc.minor)
			if got := h.Values("Via"); len(got) != 1 || got[0] != tc.expect {
				t.Errorf("Via %q, want the one line %q", got, tc.expect)
			}
		})
	}
}

func TestProxyStatus(t *testing.T) {
	tests := []struct {
		errorType string
		nextHop   netip.Addr
		expect    string
	}{
		{ErrorRequestDenied, netip.Addr{}, "http01-challenge-proxy; error=http_request_denied"},
		{ErrorConnectionRefused, netip.MustParseAddr("192.0.2.200"), `http01-challenge-proxy; error=connection_refused; next-hop="192.0.2.200"`},
		{ErrorConnectionTimeout, netip.MustParseAddr("2001:db8::200"), `http01-challenge-proxy; error=connection_timeout; next-hop="2001:db8::200"`},
	}
	for _, tc := range tests {
		if got := proxyStatus(tc.errorType, tc.nextHop); got != tc.expect {
			t.Errorf("proxyStatus(%s, %s) = %q, want %q", tc.errorType, tc.nextHop, got, tc.expect)
		}
	}
}

// TestReadAnswer reads the headers of recorded answers: what the proxy
// itself sends, and what others in front of or behind it may send.
func TestReadAnswer(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		expect Answer
	}{
		{
			name:   "the router's answer through the proxy",
			header: http.Header{"Via": {"1.1 router, 1.1 http01-challenge-proxy"}, "Server": {"haproxy"}},
			expect: Answer{ThroughProxy: true},
		},
		{
			name:   "a refusal by the filter",
			header: http.Header{"Via": {"1.1 http01-challenge-proxy"}, "Proxy-Status": {"http01-challenge-proxy; error=http_request_denied"}},
			expect: Answer{ThroughProxy: true, ProxyError: ErrorRequestDenied},
		},
		{
			name:   "a 502 naming the ingress VIP",
			header: http.Header{"Via": {"1.1 http01-challenge-proxy"}, "Proxy-Status": {`http01-challenge-proxy; error=connection_refused; next-hop="192.0.2.200"`}},
			expect: Answer{ThroughProxy: true, ProxyError: ErrorConnectionRefused, NextHop: "192.0.2.200"},
		},
		{
			name: "our member among others, with quoted commas and escapes",
			header: http.Header{
				"Via":          {"HTTP/1.1 cdn (x, y)", "1.1 http01-challenge-proxy"},
				"Proxy-Status": {`cdn; error=dns_error; details="a, \"b\"; c", http01-challenge-proxy; error=connection_timeout; next-hop="2001:db8::200"`},
			},
			expect: Answer{ThroughProxy: true, ProxyError: ErrorConnectionTimeout, NextHop: "2001:db8::200"},
		},
		{
			name:   "a plain web server",
			header: http.Header{"Server": {"nginx"}},
			expect: Answer{},
		},
		{
			name:   "another proxy's refusal",
			header: http.Header{"Via": {"1.1 squid"}, "Proxy-Status": {"squid; error=http_request_denied"}},
			expect: Answer{},
		},
		{
			name:   "our name as a comment or a prefix is not our entry",
			header: http.Header{"Via": {"1.1 other (http01-challenge-proxy), 1.1 http01-challenge-proxy-fake"}},
			expect: Answer{},
		},
		{
			name:   "garbage",
			header: http.Header{"Via": {",,;\"("}, "Proxy-Status": {`"unterminated; error=`}},
			expect: Answer{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ReadAnswer(tc.header); got != tc.expect {
				t.Errorf("ReadAnswer = %+v, want %+v", got, tc.expect)
			}
		})
	}
}

func TestAnswerVerdicts(t *testing.T) {
	tests := []struct {
		answer                                Answer
		fromUpstream, refused, upstreamFailed bool
	}{
		{Answer{}, false, false, false},
		{Answer{ThroughProxy: true}, true, false, false},
		{Answer{ThroughProxy: true, ProxyError: ErrorRequestDenied}, false, true, false},
		{Answer{ThroughProxy: true, ProxyError: ErrorResponseTimeout}, false, false, true},
		// Proxy-Status without our Via is not trusted to be ours.
		{Answer{ProxyError: ErrorConnectionRefused}, false, false, false},
	}
	for _, tc := range tests {
		got := []bool{tc.answer.FromUpstream(), tc.answer.Refused(), tc.answer.UpstreamFailed()}
		if expect := []bool{tc.fromUpstream, tc.refused, tc.upstreamFailed}; !reflect.DeepEqual(got, expect) {
			t.Errorf("%+v: FromUpstream, Refused, UpstreamFailed = %v, want %v", tc.answer, got, expect)
		}
	}
}

func TestViaReceivedBy(t *testing.T) {
	tests := map[string][]string{
		"":                               nil,
		"1.1 a":                          {"a"},
		"1.0 fred, 1.1 p.example.net":    {"fred", "p.example.net"},
		"HTTP/1.1 a (x, y),1.1   b":      {"a", "b"},
		"1.1":                            nil,
		"1.1 a (unclosed, 1.1 b":         {"a"},
		"1.1 a ), 1.1 b":                 {"a", "b"},
		" 1.1 http01-challenge-proxy  ,": {"http01-challenge-proxy"},
	}
	for value, expect := range tests {
		if got := ViaReceivedBy(value); !reflect.DeepEqual(got, expect) {
			t.Errorf("ViaReceivedBy(%q) = %q, want %q", value, got, expect)
		}
	}
}
