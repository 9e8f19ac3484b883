package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// certManagerToken has the shape of a real token: 43 base64url characters.
const certManagerToken = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"

func TestClassify(t *testing.T) {
	getRequest := func(target string) Request {
		return Request{Method: http.MethodGet, Target: target, Host: "api.cluster.example.test"}
	}
	challenge := ChallengePathPrefix + certManagerToken

	tests := []struct {
		name    string
		request Request
		// expect is the reason for a rejection, or "" for a request that
		// must be forwarded with the token at the end of its target.
		expect Reason
	}{
		// Requests to forward.
		{name: "cert-manager token", request: getRequest(challenge)},
		{name: "HEAD", request: Request{Method: http.MethodHead, Target: challenge, Host: "api.cluster.example.test"}},
		{name: "shortest token", request: getRequest(ChallengePathPrefix + strings.Repeat("a", 16))},
		{name: "longest token", request: getRequest(ChallengePathPrefix + strings.Repeat("Z", 128))},
		{name: "token with every symbol of the alphabet", request: getRequest(ChallengePathPrefix + "AZaz09-_AZaz09-_")},
		{name: "Host with a port", request: Request{Method: http.MethodGet, Target: challenge, Host: "api.cluster.example.test:80"}},
		{name: "Content-Length 0 is no body", request: Request{Method: http.MethodGet, Target: challenge, Host: "h", ContentLength: 0}},

		// Methods.
		{name: "POST", request: Request{Method: http.MethodPost, Target: challenge, Host: "h"}, expect: MethodNotAllowed},
		{name: "PUT", request: Request{Method: http.MethodPut, Target: challenge, Host: "h"}, expect: MethodNotAllowed},
		{name: "DELETE", request: Request{Method: http.MethodDelete, Target: challenge, Host: "h"}, expect: MethodNotAllowed},
		{name: "OPTIONS", request: Request{Method: http.MethodOptions, Target: challenge, Host: "h"}, expect: MethodNotAllowed},
		{name: "OPTIONS *", request: Request{Method: http.MethodOptions, Target: "*", Host: "h"}, expect: MethodNotAllowed},
		{name: "TRACE", request: Request{Method: http.MethodTrace, Target: challenge, Host: "h"}, expect: MethodNotAllowed},
		{name: "CONNECT", request: Request{Method: http.MethodConnect, Target: "internal.example:443", Host: "internal.example:443"}, expect: MethodNotAllowed},
		{name: "lower-case get", request: Request{Method: "get", Target: challenge, Host: "h"}, expect: MethodNotAllowed},
		{name: "made-up method", request: Request{Method: "PROPFIND", Target: challenge, Host: "h"}, expect: MethodNotAllowed},

		// Bodies.
		{name: "GET with a body", request: Request{Method: http.MethodGet, Target: challenge, Host: "h", ContentLength: 5}, expect: BodyNotAllowed},
		{name: "GET chunked", request: Request{Method: http.MethodGet, Target: challenge, Host: "h", ContentLength: -1, TransferEncoding: []string{"chunked"}}, expect: BodyNotAllowed},

		// Protocol upgrades.
		{name: "websocket upgrade", request: Request{Method: http.MethodGet, Target: challenge, Host: "h", Upgrade: "websocket"}, expect: UpgradeNotAllowed},
		{name: "h2c upgrade", request: Request{Method: http.MethodGet, Target: challenge, Host: "h", Upgrade: "h2c"}, expect: UpgradeNotAllowed},

		// Host and target forms.
		{name: "no Host (HTTP/1.0)", request: Request{Method: http.MethodGet, Target: challenge}, expect: MissingHost},
		{name: "absolute-form, same host", request: getRequest("http://api.cluster.example.test" + challenge), expect: AbsoluteForm},
		{name: "absolute-form, other host", request: getRequest("http://169.254.169.254" + challenge), expect: AbsoluteForm},
		{name: "absolute-form https", request: getRequest("https://internal.example" + challenge), expect: AbsoluteForm},
		{name: "authority-form", request: getRequest("internal.example:80"), expect: InvalidTarget},
		{name: "asterisk-form with GET", request: getRequest("*"), expect: InvalidTarget},
		{name: "empty target", request: getRequest(""), expect: InvalidTarget},
		{name: "space in target", request: getRequest(ChallengePathPrefix + "abcdefgh ijklmnopq"), expect: InvalidTarget},
		{name: "NUL in target", request: getRequest(challenge + "\x00"), expect: InvalidTarget},
		{name: "non-ASCII in target", request: getRequest(ChallengePathPrefix + "abcdefghijklmnopé"), expect: InvalidTarget},

		// Query strings.
		{name: "query", request: getRequest(challenge + "?x=1"), expect: QueryNotAllowed},
		{name: "empty query", request: getRequest(challenge + "?"), expect: QueryNotAllowed},

		// Traversal, plain and encoded.
		{name: "dot-dot out of the challenge directory", request: getRequest(ChallengePathPrefix + "../../etc/passwd"), expect: PathTraversal},
		{name: "dot-dot back into the challenge directory", request: getRequest("/.well-known/x/../acme-challenge/" + certManagerToken), expect: PathTraversal},
		{name: "single dot segment", request: getRequest("/.well-known/./acme-challenge/" + certManagerToken), expect: PathTraversal},
		{name: "trailing dot-dot", request: getRequest(challenge + "/.."), expect: PathTraversal},
		{name: "backslash traversal", request: getRequest(ChallengePathPrefix + "..\\..\\secret"), expect: PathTraversal},
		{name: "encoded dots", request: getRequest(ChallengePathPrefix + "%2e%2e/" + certManagerToken), expect: EncodedPath},
		{name: "encoded dots, upper case", request: getRequest(ChallengePathPrefix + "%2E%2E/" + certManagerToken), expect: EncodedPath},
		{name: "encoded slash", request: getRequest("/.well-known%2facme-challenge%2f" + certManagerToken), expect: EncodedPath},
		{name: "double-encoded dots", request: getRequest(ChallengePathPrefix + "%252e%252e/x"), expect: EncodedPath},
		{name: "encoded token character", request: getRequest(ChallengePathPrefix + "%41" + certManagerToken), expect: EncodedPath},
		{name: "overlong UTF-8 dot", request: getRequest(ChallengePathPrefix + "%c0%ae%c0%ae/x"), expect: EncodedPath},

		// Other paths.
		{name: "root", request: getRequest("/"), expect: NotFound},
		{name: "API path", request: getRequest("/api/v1/namespaces"), expect: NotFound},
		{name: "other well-known", request: getRequest("/.well-known/openid-configuration"), expect: NotFound},
		{name: "prefix without trailing slash", request: getRequest("/.well-known/acme-challenge"), expect: NotFound},
		{name: "prefix in another case", request: getRequest("/.Well-Known/ACME-Challenge/" + certManagerToken), expect: NotFound},
		{name: "double slash before the prefix", request: getRequest("//.well-known/acme-challenge/" + certManagerToken), expect: NotFound},
		{name: "prefix further down the path", request: getRequest("/x" + challenge), expect: NotFound},

		// Tokens.
		{name: "no token", request: getRequest(ChallengePathPrefix), expect: InvalidToken},
		{name: "token too short", request: getRequest(ChallengePathPrefix + strings.Repeat("a", 15)), expect: InvalidToken},
		{name: "token too long", request: getRequest(ChallengePathPrefix + strings.Repeat("a", 129)), expect: InvalidToken},
		{name: "base64 padding", request: getRequest(ChallengePathPrefix + certManagerToken + "="), expect: InvalidToken},
		{name: "standard base64 plus", request: getRequest(ChallengePathPrefix + "abcdefgh+ijklmnop"), expect: InvalidToken},
		{name: "sub-path under the token", request: getRequest(challenge + "/more"), expect: InvalidToken},
		{name: "trailing slash", request: getRequest(challenge + "/"), expect: InvalidToken},
		{name: "double slash before the token", request: getRequest(ChallengePathPrefix + "/" + certManagerToken), expect: InvalidToken},
		{name: "path parameter", request: getRequest(challenge + ";jsessionid=1"), expect: InvalidToken},
		{name: "fragment", request: getRequest(challenge + "#frag"), expect: InvalidToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Classify(tc.request)
			if got.Reject != tc.expect {
				t.Fatalf("Classify(%+v) rejects with %q, want %q", tc.request, got.Reject, tc.expect)
			}
			if got.Forward() {
				if !strings.HasSuffix(tc.request.Target, "/"+got.Token) || got.Token == "" {
					t.Errorf("forwarded token %q is not the end of %q", got.Token, tc.request.Target)
				}
				return
			}
			if status := got.Reject.Status(); status < 400 || status > 499 {
				t.Errorf("status %d for %s is not a 4xx", status, got.Reject)
			}
			if got.Token != "" {
				t.Errorf("rejected request carries token %q", got.Token)
			}
		})
	}
}

func TestEveryReasonHasAStatusAndMessage(t *testing.T) {
	for reason, r := range rejections {
		if r.status < 400 || r.status > 499 || r.message == "" || strings.ContainsAny(r.message, "\r\n") {
			t.Errorf("%s: status %d, message %q", reason, r.status, r.message)
		}
	}
	if got := MethodNotAllowed.Status(); got != http.StatusMethodNotAllowed {
		t.Errorf("MethodNotAllowed.Status() = %d", got)
	}
}

// FuzzClassify checks the classifier's promises on arbitrary input: it never
// panics, it forwards only GET or HEAD of exactly the challenge prefix and a
// well-formed token with no body, and every rejection is a 4xx with a reason.
func FuzzClassify(f *testing.F) {
	seeds := []struct {
		method, target, host string
		contentLength        int64
		transferEncoding     string
		upgrade              string
	}{
		{"GET", ChallengePathPrefix + certManagerToken, "api.cluster.example.test", 0, "", ""},
		{"HEAD", ChallengePathPrefix + strings.Repeat("a", 16), "h", 0, "", ""},
		{"GET", ChallengePathPrefix + "%2e%2e/%2e%2e/etc/passwd", "h", 0, "", ""},
		{"GET", ChallengePathPrefix + "../" + certManagerToken, "h", 0, "", ""},
		{"GET", "http://evil.example" + ChallengePathPrefix + certManagerToken, "h", 0, "", ""},
		{"CONNECT", "evil.example:443", "evil.example:443", 0, "", ""},
		{"POST", ChallengePathPrefix + certManagerToken, "h", 10, "", ""},
		{"GET", ChallengePathPrefix + certManagerToken, "h", -1, "chunked", ""},
		{"GET", ChallengePathPrefix + certManagerToken + "?a=b", "h", 0, "", ""},
		{"GET", "*", "", 0, "", ""},
		{"GET", ChallengePathPrefix + "\\..\\x", "h", 0, "", ""},
		{"GET", ChallengePathPrefix + certManagerToken, "h", 0, "", "websocket"},
	}
	for _, s := range seeds {
		f.Add(s.method, s.target, s.host, s.contentLength, s.transferEncoding, s.upgrade)
	}
	f.Fuzz(func(t *testing.T, method, target, host string, contentLength int64, transferEncoding, upgrade string) {
		r := Request{Method: method, Target: target, Host: host, ContentLength: contentLength, Upgrade: upgrade}
		if transferEncoding != "" {
			r.TransferEncoding = []string{transferEncoding}
		}
		d := Classify(r)
		if !d.Forward() {
			if d.Token != "" {
				t.Fatalf("rejected request carries token %q", d.Token)
			}
			if status := d.Reject.Status(); status < 400 || status > 499 || d.Reject.Message() == "" {
				t.Fatalf("reason %q has status %d and message %q", d.Reject, status, d.Reject.Message())
			}
			return
		}
		switch {
		case method != http.MethodGet && method != http.MethodHead:
			t.Fatalf("forwarded method %q", method)
		case contentLength > 0 || transferEncoding != "":
			t.Fatalf("forwarded a request with a body")
		case upgrade != "":
			t.Fatalf("forwarded a protocol upgrade")
		case host == "":
			t.Fatalf("forwarded a request without Host")
		case target != ChallengePathPrefix+d.Token:
			t.Fatalf("forwarded target %q is not the prefix and token %q", target, d.Token)
		case len(d.Token) < minTokenLength || len(d.Token) > maxTokenLength:
			t.Fatalf("forwarded token of length %d", len(d.Token))
		case strings.Trim(d.Token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "":
			t.Fatalf("forwarded token %q outside the base64url alphabet", d.Token)
		}
	})
}

func TestRandomTokenIsForwarded(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		token := RandomToken()
		if len(token) != 43 || seen[token] {
			t.Fatalf("token %q: want 43 characters, never seen before", token)
		}
		seen[token] = true
		if d := Classify(Request{Method: http.MethodGet, Target: ChallengePathPrefix + token, Host: "h"}); !d.Forward() || d.Token != token {
			t.Fatalf("the classifier does not forward %q: %+v", token, d)
		}
	}
}
