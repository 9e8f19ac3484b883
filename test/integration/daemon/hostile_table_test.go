//go:build integration

package daemon

import (
	"strings"
)

// The hostile-input table: what an attacker who reaches API_VIP:80 can send,
// what the daemon answers and why. TestHostileTable sends every row to the
// real daemon behind its nftables redirect; docs/security.md shows the same
// rows, generated from this table (TestHostileTableDocumented keeps the two
// equal; -update-doc rewrites the document).

// answeredBy names the layer that decides a request's fate.
type answeredBy string

const (
	byParser     answeredBy = "request parser"
	byClassifier answeredBy = "classifier"
	byRouter     answeredBy = "router, via the proxy"
)

// hostileRequest is one row of the table.
type hostileRequest struct {
	category string
	attack   string
	// raw is sent at once, byte for byte, on a new connection to
	// API_VIP:80. With trickle, it is sent one byte at a time and never
	// finished.
	raw     string
	trickle bool
	// status is the status of the one response expected before the daemon
	// closes the connection.
	status int
	// says is a part of the response body that tells which layer answered.
	says string
	by   answeredBy
	// forwarded means the router sees exactly one request: the challenge
	// path, rebuilt by the proxy. Otherwise it sees nothing at all.
	forwarded bool
	// routerHost is the Host the router sees, when it is not apiHost.
	routerHost string
	why        string
}

const (
	challengePath = "/.well-known/acme-challenge/" + token
	crlf          = "\r\n"
)

// request is a request line and headers (one string each, without line
// ends), ended by an empty line.
func request(requestLine string, headers ...string) string {
	return requestLine + crlf + strings.Join(append(headers, ""), crlf) + crlf
}

func getChallenge(headers ...string) string {
	return request("GET "+challengePath+" HTTP/1.1", append([]string{"Host: " + apiHost}, headers...)...)
}

func getTarget(target string) string {
	return request("GET "+target+" HTTP/1.1", "Host: "+apiHost)
}

// tlsClientHello is the start of a TLS 1.2 ClientHello, as sent by a client
// that speaks HTTPS to port 80.
const tlsClientHello = "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f" + crlf + crlf

var hostileRequests = []hostileRequest{
	{
		category: "Control", attack: "A validator's challenge request",
		raw:    getChallenge("User-Agent: validator"),
		status: 200, says: keyAuth, by: byRouter, forwarded: true,
		why: "The one request the proxy exists for: GET of the challenge path with a well-formed token.",
	},

	// Forward-proxy abuse.
	{
		category: "Proxy abuse", attack: "Absolute-form URI for the challenge",
		raw:    request("GET http://"+apiHost+challengePath+" HTTP/1.1", "Host: "+apiHost),
		status: 400, says: "absolute-form request targets are not accepted", by: byClassifier,
		why: "Absolute form is how clients talk to a forward proxy; validators send origin form.",
	},
	{
		category: "Proxy abuse", attack: "Absolute-form URI to the cloud metadata service",
		raw:    request("GET http://169.254.169.254/latest/meta-data/ HTTP/1.1", "Host: 169.254.169.254"),
		status: 400, says: "absolute-form request targets are not accepted", by: byClassifier,
		why: "The upstream is never taken from the request: absolute form is refused outright.",
	},
	{
		category: "Proxy abuse", attack: "Absolute-form URI with userinfo to the API server",
		raw:    request("GET http://user@192.0.2.11:6443/api HTTP/1.1", "Host: "+apiHost),
		status: 400, says: "absolute-form request targets are not accepted", by: byClassifier,
		why: "Same rule, whatever the authority holds.",
	},
	{
		category: "Proxy abuse", attack: "CONNECT tunnel to the API server",
		raw:    request("CONNECT 192.0.2.11:6443 HTTP/1.1", "Host: 192.0.2.11:6443"),
		status: 405, says: "only GET and HEAD are served here", by: byClassifier,
		why: "Only GET and HEAD are served; there is no tunnelling code path.",
	},
	{
		category: "Proxy abuse", attack: "WebSocket upgrade on the challenge path",
		raw:    getChallenge("Connection: Upgrade", "Upgrade: websocket", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13"),
		status: 400, says: "protocol upgrades are not accepted", by: byClassifier,
		why: "A validator never asks for one; the proxy speaks no other protocol, and relays no 101 from the upstream either.",
	},
	{
		category: "Proxy abuse", attack: "h2c upgrade on the challenge path",
		raw:    getChallenge("Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA"),
		status: 400, says: "protocol upgrades are not accepted", by: byClassifier,
		why: "Same rule for every protocol upgrade.",
	},

	// Host spoofing.
	{
		category: "Host spoofing", attack: "Host naming the node's API server",
		raw:    request("GET "+challengePath+" HTTP/1.1", "Host: 127.0.0.1:6443"),
		status: 200, says: keyAuth, by: byRouter, forwarded: true, routerHost: "127.0.0.1:6443",
		why: "Host never chooses the upstream: the request goes to the ingress VIP, where the router routes on Host as it would for a direct request.",
	},
	{
		category: "Host spoofing", attack: "Host naming the cloud metadata service",
		raw:    request("GET "+challengePath+" HTTP/1.1", "Host: 169.254.169.254"),
		status: 200, says: keyAuth, by: byRouter, forwarded: true, routerHost: "169.254.169.254",
		why: "As above: only the ingress VIP is ever dialled.",
	},
	{
		category: "Host spoofing", attack: "Two Host headers",
		raw:    request("GET "+challengePath+" HTTP/1.1", "Host: "+apiHost, "Host: 169.254.169.254"),
		status: 400, says: "400 Bad Request", by: byParser,
		why: "RFC 9112 section 3.2: a request with more than one Host is invalid.",
	},
	{
		category: "Host spoofing", attack: "Host with userinfo",
		raw:    request("GET "+challengePath+" HTTP/1.1", "Host: user@169.254.169.254"),
		status: 400, says: "malformed Host header", by: byParser,
		why: "Not a valid Host value.",
	},
	{
		category: "Host spoofing", attack: "HTTP/1.1 without Host",
		raw:    request("GET " + challengePath + " HTTP/1.1"),
		status: 400, says: "missing required Host header", by: byParser,
		why: "RFC 9112 section 3.2: Host is required in HTTP/1.1.",
	},
	{
		category: "Host spoofing", attack: "HTTP/1.0 without Host",
		raw:    request("GET " + challengePath + " HTTP/1.0"),
		status: 400, says: "missing Host header", by: byClassifier,
		why: "The router routes on Host; without one there is nothing sensible to forward.",
	},
	{
		category: "Host spoofing", attack: "Forged X-Forwarded-For, Forwarded and X-Forwarded-Host",
		raw:    getChallenge("X-Forwarded-For: 203.0.113.66", "Forwarded: for=203.0.113.66;host=evil.example", "X-Forwarded-Host: evil.example"),
		status: 200, says: keyAuth, by: byRouter, forwarded: true,
		why: "Forwarded, but the router sees only the X-Forwarded-* the proxy sets, naming the real client (checked for every forwarded row).",
	},

	// Methods.
	{
		category: "Methods", attack: "POST with a body",
		raw:    request("POST "+challengePath+" HTTP/1.1", "Host: "+apiHost, "Content-Length: 5") + "hello",
		status: 405, says: "only GET and HEAD are served here", by: byClassifier,
		why: "Only GET and HEAD are served.",
	},
	{
		category: "Methods", attack: "TRACE (cross-site tracing)",
		raw:    request("TRACE "+challengePath+" HTTP/1.1", "Host: "+apiHost),
		status: 405, says: "only GET and HEAD are served here", by: byClassifier,
		why: "Only GET and HEAD are served.",
	},
	{
		category: "Methods", attack: "OPTIONS *",
		raw:    request("OPTIONS * HTTP/1.1", "Host: "+apiHost),
		status: 405, says: "only GET and HEAD are served here", by: byClassifier,
		why: "Only GET and HEAD are served; nothing answers OPTIONS itself.",
	},
	{
		category: "Methods", attack: "Lower-case method",
		raw:    request("get "+challengePath+" HTTP/1.1", "Host: "+apiHost),
		status: 405, says: "only GET and HEAD are served here", by: byClassifier,
		why: "Methods are case-sensitive (RFC 9110 section 9.1); \"get\" is not GET.",
	},
	{
		category: "Methods", attack: "Over-long method token",
		raw:    request(strings.Repeat("G", 4000)+" "+challengePath+" HTTP/1.1", "Host: "+apiHost),
		status: 405, says: "only GET and HEAD are served here", by: byClassifier,
		why: "Any method but GET and HEAD is refused; the log truncates what it records.",
	},

	// Paths.
	{
		category: "Paths", attack: "Dot-dot traversal",
		raw:    getTarget("/.well-known/acme-challenge/../../api/v1/secrets"),
		status: 400, says: "dot segments and backslashes are not accepted", by: byClassifier,
		why: "The classifier reads the raw target; dot segments are refused, not resolved.",
	},
	{
		category: "Paths", attack: "Percent-encoded dot-dot (%2e%2e)",
		raw:    getTarget("/.well-known/acme-challenge/%2e%2e/%2e%2e/api/v1/secrets"),
		status: 400, says: "percent-encoded paths are not accepted", by: byClassifier,
		why: "A token never needs percent-encoding, so none is accepted, and nothing is decoded before the check.",
	},
	{
		category: "Paths", attack: "Percent-encoded slashes (%2f)",
		raw:    getTarget("/.well-known%2facme-challenge%2f" + token),
		status: 400, says: "percent-encoded paths are not accepted", by: byClassifier,
		why: "As above.",
	},
	{
		category: "Paths", attack: "Overlong UTF-8 dots (%c0%ae)",
		raw:    getTarget("/.well-known/acme-challenge/%c0%ae%c0%ae/" + token),
		status: 400, says: "percent-encoded paths are not accepted", by: byClassifier,
		why: "As above.",
	},
	{
		category: "Paths", attack: "Backslash traversal",
		raw:    getTarget(`/.well-known/acme-challenge/..\..\` + token),
		status: 400, says: "dot segments and backslashes are not accepted", by: byClassifier,
		why: "Some servers treat a backslash as a separator; it is refused.",
	},
	{
		category: "Paths", attack: "Double slash before the prefix",
		raw:    getTarget("//.well-known/acme-challenge/" + token),
		status: 404, says: "only /.well-known/acme-challenge/<token> is served here", by: byClassifier,
		why: "The path must start with the prefix exactly; nothing cleans it first.",
	},
	{
		category: "Paths", attack: "Double slash inside the prefix",
		raw:    getTarget("/.well-known//acme-challenge/" + token),
		status: 404, says: "only /.well-known/acme-challenge/<token> is served here", by: byClassifier,
		why: "As above.",
	},
	{
		category: "Paths", attack: "Double slash before the token",
		raw:    getTarget("/.well-known/acme-challenge//" + token),
		status: 404, says: "not an ACME challenge token", by: byClassifier,
		why: "The token is everything after the prefix and must be base64url only.",
	},
	{
		category: "Paths", attack: "Query string carrying a URL",
		raw:    getTarget(challengePath + "?url=http://169.254.169.254/"),
		status: 400, says: "query strings are not accepted", by: byClassifier,
		why: "Challenge URLs have no query.",
	},
	{
		category: "Paths", attack: "Fragment in the request target",
		raw:    getTarget(challengePath + "#x"),
		status: 404, says: "not an ACME challenge token", by: byClassifier,
		why: "'#' is not in the token alphabet.",
	},
	{
		category: "Paths", attack: "NUL byte in the request target",
		raw:    getTarget(challengePath + "\x00"),
		status: 400, says: "400 Bad Request", by: byParser,
		why: "Control characters make the request line invalid.",
	},
	{
		category: "Paths", attack: "Over-long token (129 characters)",
		raw:    getTarget("/.well-known/acme-challenge/" + strings.Repeat("A", 129)),
		status: 404, says: "not an ACME challenge token", by: byClassifier,
		why: "Tokens are 16 to 128 characters; longer ones are not forwarded (or logged in full).",
	},
	{
		category: "Paths", attack: "Over-long request target (20 KiB)",
		raw:    getTarget("/.well-known/acme-challenge/" + strings.Repeat("A", 20<<10)),
		status: 431, says: "431 Request Header Fields Too Large", by: byParser,
		why: "The request line and headers together are capped at 12 KiB (net/http's 8 KiB header limit plus its 4 KiB of slack).",
	},

	// Headers.
	{
		category: "Headers", attack: "One 20 KiB header",
		raw:    getChallenge("X-Pad: " + strings.Repeat("a", 20<<10)),
		status: 431, says: "431 Request Header Fields Too Large", by: byParser,
		why: "Header bytes are capped at 12 KiB with the request line.",
	},
	{
		category: "Headers", attack: "3000 small headers",
		raw:    getChallenge(strings.Repeat("X-A: b"+crlf, 2999) + "X-A: b"),
		status: 431, says: "431 Request Header Fields Too Large", by: byParser,
		why: "The same cap bounds the number of headers.",
	},
	{
		category: "Headers", attack: "Space in a header name",
		raw:    getChallenge("X Evil: 1"),
		status: 400, says: "invalid header name", by: byParser,
		why: "Not a token (RFC 9110 section 5.1).",
	},
	{
		category: "Headers", attack: "Bare CR inside a header value",
		raw:    getChallenge("X-A: b\rInjected: 1"),
		status: 400, says: "400 Bad Request", by: byParser,
		why: "CR is not allowed in a field value (RFC 9110 section 5.5).",
	},
	{
		category: "Headers", attack: "Obsolete line folding",
		raw:    getChallenge("User-Agent: validator", " folded: into the user agent"),
		status: 200, says: keyAuth, by: byRouter, forwarded: true,
		why: "The parser unfolds the value as net/http does (and refuses folding in a field it reads, like Host); the router gets a request the proxy wrote afresh, never the client's bytes.",
	},
	{
		category: "Headers", attack: "Bare LF line endings",
		raw:    "GET " + challengePath + " HTTP/1.1\nHost: " + apiHost + "\n\n",
		status: 200, says: keyAuth, by: byRouter, forwarded: true,
		why: "Bare LF is accepted, as net/http does; the router still gets a request written afresh with CRLF.",
	},

	// Request smuggling.
	{
		category: "Smuggling", attack: "Content-Length and Transfer-Encoding together (CL.TE)",
		raw:    getChallenge("Content-Length: 5", "Transfer-Encoding: chunked") + "0\r\n\r\n",
		status: 400, says: "an ACME challenge request has no body", by: byClassifier,
		why: "Any chunked Transfer-Encoding, or a Content-Length over 0, is a body (RFC 9112 section 6.1), and a request with a body is refused.",
	},
	{
		category: "Smuggling", attack: "Two different Content-Length headers",
		raw:    getChallenge("Content-Length: 0", "Content-Length: 44"),
		status: 400, says: "400 Bad Request", by: byParser,
		why: "RFC 9112 section 6.3: differing lengths make the message invalid.",
	},
	{
		category: "Smuggling", attack: "Two identical Content-Length: 0 headers",
		raw:    getChallenge("Content-Length: 0", "Content-Length: 0"),
		status: 200, says: keyAuth, by: byRouter, forwarded: true,
		why: "Identical duplicates are one length (RFC 9112 section 6.3): no body, no ambiguity, forwarded without either header.",
	},
	{
		category: "Smuggling", attack: "Negative Content-Length",
		raw:    getChallenge("Content-Length: -1"),
		status: 400, says: "400 Bad Request", by: byParser,
		why: "Not a valid length.",
	},
	{
		category: "Smuggling", attack: "Chunked body hiding a second request (TE.CL)",
		raw:    getChallenge("Transfer-Encoding: chunked") + "0\r\n\r\n" + request("GET /api/v1/secrets HTTP/1.1", "Host: "+apiHost),
		status: 400, says: "an ACME challenge request has no body", by: byClassifier,
		why: "Refused for its body; keep-alive is off, so the bytes after it are never parsed as a request.",
	},
	{
		category: "Smuggling", attack: "Unknown transfer coding",
		raw:    getChallenge("Transfer-Encoding: xchunked"),
		status: 501, says: "Unsupported transfer encoding", by: byParser,
		why: "RFC 9112 section 6.1: an unknown coding gets 501.",
	},
	{
		category: "Smuggling", attack: "Space before the colon of Transfer-Encoding",
		raw:    getChallenge("Transfer-Encoding : chunked"),
		status: 400, says: "invalid header name", by: byParser,
		why: "RFC 9112 section 5.1: whitespace before the colon must be rejected.",
	},
	{
		category: "Smuggling", attack: "Two challenge requests pipelined",
		raw:    getChallenge() + getChallenge(),
		status: 200, says: keyAuth, by: byRouter, forwarded: true,
		why: "One response, then the connection closes: keep-alive is off, so the second request is never read.",
	},
	{
		category: "Smuggling", attack: "A rejected request with a challenge pipelined behind it",
		raw:    getTarget("/api/v1/secrets") + getChallenge(),
		status: 404, says: "only /.well-known/acme-challenge/<token> is served here", by: byClassifier,
		why: "As above: the second request is never read.",
	},

	// Other protocols and garbage.
	{
		category: "Protocols", attack: "HTTP/0.9 simple request",
		raw:    "GET " + challengePath + crlf,
		status: 400, says: "400 Bad Request", by: byParser,
		why: "HTTP/0.9 is not served; a request line needs a version.",
	},
	{
		category: "Protocols", attack: "HTTP/2 connection preface",
		raw:    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		status: 405, says: "only GET and HEAD are served here", by: byClassifier,
		why: "Plain-text HTTP/2 is not enabled, so the preface parses as an HTTP/1 request with method PRI.",
	},
	{
		category: "Protocols", attack: "HTTP/2.0 in an HTTP/1 request line",
		raw:    request("GET "+challengePath+" HTTP/2.0", "Host: "+apiHost),
		status: 505, says: "unsupported protocol version", by: byParser,
		why: "Only HTTP/1.x is served on this port.",
	},
	{
		category: "Protocols", attack: "TLS ClientHello (HTTPS to port 80)",
		raw:    tlsClientHello,
		status: 400, says: "400 Bad Request", by: byParser,
		why: "Not HTTP.",
	},
	{
		category: "Protocols", attack: "Binary garbage",
		raw:    "\x00\x01\x02\x03\xfe\xff\x80\x7f\r\n\r\n",
		status: 400, says: "400 Bad Request", by: byParser,
		why: "Not HTTP.",
	},
	{
		category: "Protocols", attack: "Slowloris: 16 connections trickling header bytes, never finishing",
		raw:     request("GET "+challengePath+" HTTP/1.1", "Host: "+apiHost, "X-Slow: "+strings.Repeat("a", 64)),
		trickle: true, status: 400, says: "400 Bad Request", by: byParser,
		why: "The read-header timeout (5s from the first byte, however slowly they come) ends each with a 400 and a close; a challenge sent meanwhile is served (checked).",
	},
}
