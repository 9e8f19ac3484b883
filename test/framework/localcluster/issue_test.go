package localcluster

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"
)

func TestChallengeResponder(t *testing.T) {
	r := &challengeResponder{domain: "api.cluster.example.test", answers: map[string]string{}}
	r.set("/.well-known/acme-challenge/tok", "tok.thumbprint")
	for _, tc := range []struct {
		name, host, path string
		wantStatus       int
		wantBody         string
	}{
		{"the challenge", "api.cluster.example.test", "/.well-known/acme-challenge/tok", http.StatusOK, "tok.thumbprint"},
		{"the challenge, Host with port", "api.cluster.example.test:80", "/.well-known/acme-challenge/tok", http.StatusOK, "tok.thumbprint"},
		// The router routes by Host: a proxy that loses it gets no answer.
		{"another Host", "192.0.2.10", "/.well-known/acme-challenge/tok", http.StatusServiceUnavailable, ""},
		{"an unknown token", "api.cluster.example.test", "/.well-known/acme-challenge/other", http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "http://x"+tc.path, nil)
			req.Host = tc.host
			req.Header.Set("X-Forwarded-For", "192.0.2.100")
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			body, _ := io.ReadAll(rec.Body)
			if rec.Code != tc.wantStatus || (tc.wantBody != "" && string(body) != tc.wantBody) {
				t.Errorf("got %d %q, want %d %q", rec.Code, body, tc.wantStatus, tc.wantBody)
			}
			seen := r.seen()
			last := seen[len(seen)-1]
			if last.Host != tc.host || last.Status != tc.wantStatus || last.ForwardedFor != "192.0.2.100" {
				t.Errorf("recorded %+v", last)
			}
		})
	}
}

func TestGroupRequests(t *testing.T) {
	a := RouterRequest{Method: "GET", Path: "/p", Host: "h", Remote: netip.MustParseAddrPort("192.0.2.11:40000"), Status: 200}
	b := a
	b.Remote = netip.MustParseAddrPort("192.0.2.11:40001") // another connection, same node
	c := a
	c.Remote = netip.MustParseAddrPort("192.0.2.12:40000")
	groups := groupRequests([]RouterRequest{a, b, c})
	if len(groups) != 2 || groups[0].count != 2 || groups[1].count != 1 {
		t.Errorf("got %+v, want the two requests from 192.0.2.11 merged", groups)
	}
}

func TestVIPRedirects(t *testing.T) {
	r := &IssueResult{
		APIVIP: netip.MustParseAddr("192.0.2.10"),
		RedirectRules: []string{
			`ip daddr 192.0.2.10 tcp dport 80 redirect to :8888 comment "x"`,
			`ip6 daddr 2001:db8::10 tcp dport 80 redirect to :8888 comment "x"`,
			`oifname "lo" ip daddr 192.0.2.10 tcp dport 80 redirect to :8888 comment "x"`,
			`ip daddr 192.0.2.100 tcp dport 80 redirect to :8888`,
		},
	}
	want := []string{"ip daddr 192.0.2.10 tcp dport 80 redirect to :8888"}
	if got := r.VIPRedirects(); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
