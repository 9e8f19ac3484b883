package proxy

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Pseudonym names the proxy in the Via and Proxy-Status headers it adds. It
// names the product, never the node: whoever asks learns that the answer
// went through this proxy, not which control-plane node holds the API VIP
// or what its addresses are.
const Pseudonym = "http01-challenge-proxy"

// Proxy error types of RFC 9209 section 2.3 that the proxy reports in its
// Proxy-Status header. A response without our Proxy-Status member came from
// the upstream.
const (
	// ErrorRequestDenied: the classifier refused the request; nothing was
	// sent upstream.
	ErrorRequestDenied = "http_request_denied"
	// ErrorConnectionRefused: the ingress VIP refused the connection.
	ErrorConnectionRefused = "connection_refused"
	// ErrorConnectionTimeout: no connection to the ingress VIP within the
	// dial timeout.
	ErrorConnectionTimeout = "connection_timeout"
	// ErrorDestinationUnroutable: no route to the ingress VIP.
	ErrorDestinationUnroutable = "destination_ip_unroutable"
	// ErrorConnectionTerminated: the upstream closed or reset the
	// connection before it answered.
	ErrorConnectionTerminated = "connection_terminated"
	// ErrorResponseTimeout: connected, but no response headers within the
	// response-header timeout.
	ErrorResponseTimeout = "http_response_timeout"
	// ErrorResponseBodySize: the upstream's body is over the cap.
	ErrorResponseBodySize = "http_response_body_size"
	// ErrorProtocol: the upstream answered with something that is not a
	// usable HTTP/1 response.
	ErrorProtocol = "http_protocol_error"
	// ErrorConfiguration: the proxy has no upstream to forward to.
	ErrorConfiguration = "proxy_configuration_error"
)

const (
	viaHeader         = "Via"
	proxyStatusHeader = "Proxy-Status"
)

// Our Via entries for HTTP/1.0 and 1.1, the only versions served.
var (
	viaEntry10 = viaEntry(1, 0)
	viaEntry11 = viaEntry(1, 1)
)

// viaEntry is our member of a Via header (RFC 9110 section 7.6.3): the
// protocol version of the message we received, then our pseudonym.
func viaEntry(protoMajor, protoMinor int) string {
	return fmt.Sprintf("%d.%d %s", protoMajor, protoMinor, Pseudonym)
}

// appendVia adds our entry after those of the intermediaries before us, as
// one field line, so that a reader that only looks at the first line still
// sees the whole chain.
func appendVia(h http.Header, protoMajor, protoMinor int) {
	entries := append(h.Values(viaHeader), viaEntry(protoMajor, protoMinor))
	h.Set(viaHeader, strings.Join(entries, ", "))
}

// proxyStatus is our member of a Proxy-Status header (RFC 9209): the error
// type, and the ingress VIP we tried when there is one. The VIP is the
// cluster's, the same on every node, and it is what an admin has to check
// when the router cannot be reached.
func proxyStatus(errorType string, nextHop netip.Addr) string {
	member := Pseudonym + "; error=" + errorType
	if nextHop.IsValid() {
		member += fmt.Sprintf("; next-hop=%q", nextHop.String())
	}
	return member
}

// Answer is what the headers of a response to a request sent to
// API_VIP:80 tell about who produced it.
type Answer struct {
	// ThroughProxy: our pseudonym is in Via.
	ThroughProxy bool
	// ProxyError is the error type of our Proxy-Status member, empty when
	// the response came from the upstream.
	ProxyError string
	// NextHop is the ingress VIP the proxy tried, when it says.
	NextHop string
}

// FromUpstream reports whether the upstream (the router) answered, through
// the proxy.
func (a Answer) FromUpstream() bool { return a.ThroughProxy && a.ProxyError == "" }

// Refused reports whether the proxy's filter refused the request.
func (a Answer) Refused() bool { return a.ThroughProxy && a.ProxyError == ErrorRequestDenied }

// UpstreamFailed reports whether the proxy could not get an answer from the
// upstream.
func (a Answer) UpstreamFailed() bool {
	return a.ThroughProxy && a.ProxyError != "" && a.ProxyError != ErrorRequestDenied
}

// ReadAnswer reads our marks from the headers of a response: our pseudonym
// in Via, and our member of Proxy-Status.
func ReadAnswer(h http.Header) Answer {
	var a Answer
	for _, received := range ViaReceivedBy(strings.Join(h.Values(viaHeader), ", ")) {
		if received == Pseudonym {
			a.ThroughProxy = true
		}
	}
	for _, member := range parseStructuredList(strings.Join(h.Values(proxyStatusHeader), ", ")) {
		if member.name == Pseudonym {
			a.ProxyError = member.params["error"]
			a.NextHop = member.params["next-hop"]
		}
	}
	return a
}

// ViaReceivedBy returns the received-by part of every entry of a Via field
// value ("1.1 a, HTTP/1.0 b (comment)" gives a and b).
func ViaReceivedBy(value string) []string {
	var names []string
	for _, entry := range splitOutside(value, ',', '(', ')') {
		fields := strings.Fields(entry)
		if len(fields) >= 2 {
			names = append(names, fields[1])
		}
	}
	return names
}

// structuredMember is one member of a Structured Fields list (RFC 8941):
// a token or string, and its parameters.
type structuredMember struct {
	name   string
	params map[string]string
}

// parseStructuredList parses the subset of RFC 8941 lists that Proxy-Status
// uses: members that are tokens or strings, with parameters whose values
// are tokens, strings or numbers. It is lenient: what it cannot read it
// skips, since a header from another intermediary must never break ours.
func parseStructuredList(value string) []structuredMember {
	var members []structuredMember
	for _, raw := range splitOutsideQuotes(value, ',') {
		parts := splitOutsideQuotes(raw, ';')
		m := structuredMember{name: unquote(strings.TrimSpace(parts[0])), params: map[string]string{}}
		for _, param := range parts[1:] {
			key, val, _ := strings.Cut(param, "=")
			m.params[strings.TrimSpace(key)] = unquote(strings.TrimSpace(val))
		}
		members = append(members, m)
	}
	return members
}

// splitOutsideQuotes splits s at sep where sep is not inside a quoted
// string, honouring backslash escapes within quotes.
func splitOutsideQuotes(s string, sep byte) []string {
	var parts []string
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case c == sep && !quoted:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// splitOutside splits s at sep where sep is not between open and close (Via
// comments are parenthesised and may hold commas).
func splitOutside(s string, sep, open, close byte) []string {
	var parts []string
	start, depth := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case open:
			depth++
		case close:
			depth = max(depth-1, 0)
		case sep:
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

// unquote returns the content of an RFC 8941 string, or s as it is when it
// is not quoted.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var b strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
