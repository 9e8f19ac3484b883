package proxy

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/netip"
	"net/textproto"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// requestSeeds are the fuzzers' starting points: the shapes of the hostile
// table (test/integration/daemon/hostile_table_test.go).
func requestSeeds() []string {
	challenge := ChallengePathPrefix + certManagerToken
	return []string{
		get(challenge),
		get(challenge, "User-Agent: validator\r\n", "Accept: */*\r\n"),
		"HEAD " + challenge + " HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET " + challenge + " HTTP/1.1\nHost: h\n\n",
		get(challenge, "User-Agent: a\r\n", " folded\r\n"),
		get("http://169.254.169.254" + challenge),
		get(ChallengePathPrefix + "%2e%2e/" + certManagerToken),
		get(challenge, "Connection: Upgrade\r\n", "Upgrade: websocket\r\n"),
		get(challenge, "Transfer-Encoding: chunked\r\n", "Content-Length: 3\r\n") + "0\r\n\r\n",
		get(challenge, "Content-Length: 0\r\n", "Content-Length: 0\r\n"),
		get(challenge, "Content-Length: 0\r\n", "Content-Length: 44\r\n"),
		get(challenge, "Host: 169.254.169.254\r\n"),
		"GET " + challenge + " HTTP/1.1\r\nHost: user@h\r\n\r\n",
		get(challenge, "Cookie: a=b\r\n", "X-Forwarded-For: 203.0.113.66\r\n", "Accept: */*\r\n"),
		get(challenge, "X-A: b\rInjected: 1\r\n"),
		get(challenge, "Transfer-Encoding : chunked\r\n"),
		"CONNECT 10.0.0.1:443 HTTP/1.1\r\nHost: 10.0.0.1:443\r\n\r\n",
		"GET " + challenge + " HTTP/1.0\r\n\r\n",
		"GET " + challenge + " HTTP/1.0\r\nHost: h\r\n\r\n",
		"GET " + challenge + " HTTP/2.0\r\nHost: h\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"POST " + challenge + " HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi",
	}
}

// FuzzParseRequest holds parseRequest against net/http's server: every
// request it accepts, net/http reads as the same method, target and Host,
// without a body or an upgrade, with the same Accept and User-Agent values,
// and passes its own server checks (one valid Host; HTTP/1.1 has one).
// Whatever net/http would refuse or read differently, the proxy refuses.
// It then checks the request the proxy would send upstream for it.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range requestSeeds() {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		end := headEnd(raw, 0)
		if end < 0 || end > maxHeadBytes {
			return
		}
		ours, perr := parseRequest(raw[:end])
		if perr != nil {
			return
		}
		theirs, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw[:end])))
		if err != nil {
			t.Fatalf("accepted what net/http refuses (%v): %q", err, raw[:end])
		}
		// ReadRequest moves Host out of the header; the server checks the
		// fields as sent.
		hosts := hostFields(t, raw[:end])
		switch {
		case theirs.Method != ours.Method || theirs.RequestURI != ours.Target:
			t.Fatalf("net/http reads %q %q, we read %q %q", theirs.Method, theirs.RequestURI, ours.Method, ours.Target)
		case theirs.ProtoMinor != ours.ProtoMinor && ours.Method != "PRI":
			t.Fatalf("net/http reads HTTP/1.%d, we read 1.%d", theirs.ProtoMinor, ours.ProtoMinor)
		case len(hosts) > 1 || len(hosts) == 1 && !httpguts.ValidHostHeader(hosts[0]):
			t.Fatalf("accepted Host fields net/http's server refuses: %q", hosts)
		case theirs.ProtoAtLeast(1, 1) && len(hosts) == 0 && ours.Method != "PRI":
			t.Fatal("accepted an HTTP/1.1 request without Host")
		case strings.HasPrefix(ours.Target, "/") && theirs.Host != ours.Host:
			// For an absolute-form target net/http takes Host from it; the
			// classifier refuses those targets.
			t.Fatalf("net/http reads Host %q, we read %q", theirs.Host, ours.Host)
		case !ours.HasBody && ours.Method != "PRI" && (theirs.ContentLength != 0 || len(theirs.TransferEncoding) > 0):
			t.Fatalf("net/http reads a body (length %d, encoding %v) we do not see", theirs.ContentLength, theirs.TransferEncoding)
		case !ours.Upgrade && theirs.Header.Get("Upgrade") != "":
			t.Fatalf("net/http reads an upgrade to %q we do not see", theirs.Header.Get("Upgrade"))
		}
		for _, name := range forwardedHeaders {
			var values []string
			for _, f := range ours.Forwarded {
				if f.name == name {
					values = append(values, f.value)
				}
			}
			if want := theirs.Header[name]; len(want) <= maxForwardedValues && !slices.Equal(values, want) {
				t.Fatalf("%s: net/http reads %q, we read %q", name, want, values)
			}
		}

		decision := Classify(ours.classifierInput())
		if !decision.Forward() {
			return
		}
		client := netip.MustParseAddrPort("203.0.113.7:40000")
		out := appendUpstreamRequest(nil, &ours, client, decision.Token)
		checkForwarded(t, out, theirs)
	})
}

// hostFields returns the Host fields of a request head, as net/textproto
// reads them.
func hostFields(t *testing.T, head []byte) []string {
	t.Helper()
	_, fields, _ := bytes.Cut(head, []byte{'\n'})
	header, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(fields))).ReadMIMEHeader()
	if err != nil {
		t.Fatalf("net/textproto refuses the fields we accepted (%v): %q", err, head)
	}
	return header["Host"]
}

// checkForwarded fails the test unless out is one request of the only kind
// the proxy may send for in: GET or HEAD of the challenge path with a valid
// token, the client's Host, no body, and no client header beyond the
// allowed ones.
func checkForwarded(t *testing.T, out []byte, in *http.Request) {
	t.Helper()
	r := bufio.NewReader(bytes.NewReader(out))
	req, err := http.ReadRequest(r)
	if err != nil {
		t.Fatalf("the upstream request does not parse (%v): %q", err, out)
	}
	if rest, _ := io.ReadAll(r); len(rest) > 0 {
		t.Fatalf("bytes after the upstream request: %q", rest)
	}
	token, isChallenge := strings.CutPrefix(req.URL.Path, ChallengePathPrefix)
	switch {
	case req.Method != http.MethodGet && req.Method != http.MethodHead:
		t.Fatalf("forwarded method %q", req.Method)
	case !isChallenge || !validToken(token) || req.RequestURI != req.URL.Path:
		t.Fatalf("forwarded target %q", req.RequestURI)
	case req.Host != in.Host || in.Host == "":
		t.Fatalf("forwarded Host %q for client Host %q", req.Host, in.Host)
	case req.ContentLength != 0 || len(req.TransferEncoding) > 0:
		t.Fatalf("forwarded a body (length %d, encoding %v)", req.ContentLength, req.TransferEncoding)
	case !req.Close:
		t.Fatal("forwarded without Connection: close")
	}
	allowed := append(slices.Clone(forwardedHeaders), "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "Via", "Connection")
	for name := range req.Header {
		if !slices.Contains(allowed, name) {
			t.Fatalf("forwarded client header %q", name)
		}
	}
	if xff := req.Header.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != "203.0.113.7" {
		t.Fatalf("X-Forwarded-For %q, want the real client only", xff)
	}
	if via := req.Header.Values("Via"); len(via) != 1 || via[0] != viaEntry(in.ProtoMajor, in.ProtoMinor) {
		t.Fatalf("forwarded Via %q, want only our entry", via)
	}
}
