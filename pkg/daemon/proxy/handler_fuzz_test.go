package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// upstreamRecorder stands in for the router's transport: it records the
// requests the handler would send and answers each with a 200.
type upstreamRecorder struct{ requests []*http.Request }

func (u *upstreamRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	u.requests = append(u.requests, r)
	return &http.Response{
		StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{}, Body: io.NopCloser(strings.NewReader(keyAuth)), ContentLength: int64(len(keyAuth)), Request: r,
	}, nil
}

// FuzzHandler feeds arbitrary bytes to Go's request parser and whatever it
// accepts to the handler, and checks the promise that makes the proxy not an
// open proxy: the only request that ever leaves is GET or HEAD of the
// challenge path with a valid token, to the ingress VIP, with no body, no
// query, no upgrade and no client header beyond the allowed ones; anything
// else is answered with a 4xx and nothing leaves.
func FuzzHandler(f *testing.F) {
	challenge := ChallengePathPrefix + certManagerToken
	for _, seed := range []string{
		get(challenge),
		"HEAD " + challenge + " HTTP/1.1\r\nHost: h\r\n\r\n",
		get("http://169.254.169.254" + challenge),
		get(ChallengePathPrefix + "%2e%2e/" + certManagerToken),
		get(challenge, "Connection: Upgrade\r\n", "Upgrade: websocket\r\n"),
		get(challenge, "Transfer-Encoding: chunked\r\n", "Content-Length: 3\r\n") + "0\r\n\r\n",
		get(challenge, "Cookie: a=b\r\n", "X-Forwarded-For: 203.0.113.66\r\n", "Accept: */*\r\n"),
		"CONNECT 10.0.0.1:443 HTTP/1.1\r\nHost: 10.0.0.1:443\r\n\r\n",
		"GET " + challenge + " HTTP/1.0\r\n\r\n",
		"POST " + challenge + " HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi",
	} {
		f.Add([]byte(seed))
	}
	upstream := netip.MustParseAddrPort("192.0.2.200:80")
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			return // Go's parser refused it: the handler never sees it
		}
		in.RemoteAddr = "203.0.113.7:40000"
		recorder := &upstreamRecorder{}
		h := NewHandler(HandlerConfig{IngressVIPs: []netip.Addr{upstream.Addr()}, UpstreamPort: upstream.Port()}, &recordingObserver{})
		h.reverseProxy.Transport = &timedTransport{next: recorder, observer: &recordingObserver{}}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, in)

		if len(recorder.requests) == 0 {
			if w.Code < 400 || w.Code > 499 {
				t.Fatalf("nothing forwarded, yet answered %d", w.Code)
			}
			if !ReadAnswer(w.Header()).Refused() {
				t.Fatalf("a refusal without the proxy's Via and Proxy-Status: %v", w.Header())
			}
			return
		}
		if len(recorder.requests) > 1 {
			t.Fatalf("one request forwarded %d times", len(recorder.requests))
		}
		checkForwarded(t, recorder.requests[0], in, upstream)
	})
}

// checkForwarded fails the test unless out is the only kind of request the
// proxy may send for in.
func checkForwarded(t *testing.T, out, in *http.Request, upstream netip.AddrPort) {
	t.Helper()
	token, isChallenge := strings.CutPrefix(out.URL.Path, ChallengePathPrefix)
	switch {
	case out.Method != http.MethodGet && out.Method != http.MethodHead:
		t.Fatalf("forwarded method %q", out.Method)
	case out.URL.Scheme != "http" || out.URL.Host != upstream.String():
		t.Fatalf("forwarded to %s://%s, want http://%s", out.URL.Scheme, out.URL.Host, upstream)
	case !isChallenge || !validToken(token) || out.URL.RawPath != "" || out.URL.RawQuery != "" || out.URL.Fragment != "":
		t.Fatalf("forwarded URL %q", out.URL.String())
	case out.Host != in.Host || in.Host == "":
		t.Fatalf("forwarded Host %q for client Host %q", out.Host, in.Host)
	case out.ContentLength > 0 || len(out.TransferEncoding) > 0 || (out.Body != nil && out.Body != http.NoBody):
		t.Fatalf("forwarded a body (length %d, encoding %v)", out.ContentLength, out.TransferEncoding)
	}
	allowed := append(slices.Clone(forwardedHeaders), "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Via")
	for name := range out.Header {
		if !slices.Contains(allowed, name) {
			t.Fatalf("forwarded client header %q", name)
		}
	}
	if xff := out.Header.Get("X-Forwarded-For"); xff != "203.0.113.7" {
		t.Fatalf("X-Forwarded-For %q, want the real client only", xff)
	}
	if via := out.Header.Values("Via"); len(via) != 1 || via[0] != viaEntry(in.ProtoMajor, in.ProtoMinor) {
		t.Fatalf("forwarded Via %q, want only our entry", via)
	}
}
