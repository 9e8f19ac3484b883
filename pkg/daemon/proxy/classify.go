// Package proxy serves the port that API_VIP:80 is redirected to: a reverse
// proxy that forwards ACME HTTP-01 challenge requests, and nothing else, to
// the ingress VIP on port 80, where the router exposes cert-manager's solver.
package proxy

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
)

const (
	// ChallengePathPrefix is where RFC 8555 section 8.3 puts HTTP-01 key
	// authorizations.
	ChallengePathPrefix = "/.well-known/acme-challenge/"

	// Token length bounds. RFC 8555 requires at least 128 bits of entropy
	// (22 base64url characters; cert-manager's tokens are 43); 16 leaves room
	// for other CAs without letting through paths that cannot be tokens, and
	// 128 bounds what we forward and log.
	minTokenLength = 16
	maxTokenLength = 128
)

// Request is what the classifier looks at: only fields a client controls
// directly, taken from the request before any decoding.
type Request struct {
	Method string
	// Target is the raw request-target as sent (http.Request.RequestURI),
	// not the decoded path: %2e%2e must never look like "..".
	Target           string
	Host             string
	ContentLength    int64
	TransferEncoding []string
	// Upgrade is the Upgrade header: the request asks to switch protocols.
	Upgrade string
}

// RequestFrom extracts the classifier's input from an incoming request.
func RequestFrom(r *http.Request) Request {
	return Request{
		Method:           r.Method,
		Target:           r.RequestURI,
		Host:             r.Host,
		ContentLength:    r.ContentLength,
		TransferEncoding: r.TransferEncoding,
		Upgrade:          r.Header.Get("Upgrade"),
	}
}

// Reason says why a request is rejected. The values are metrics labels.
type Reason string

const (
	MethodNotAllowed  Reason = "method_not_allowed"
	BodyNotAllowed    Reason = "body_not_allowed"
	UpgradeNotAllowed Reason = "upgrade_not_allowed"
	MissingHost       Reason = "missing_host"
	AbsoluteForm      Reason = "absolute_form"
	InvalidTarget     Reason = "invalid_target"
	QueryNotAllowed   Reason = "query_not_allowed"
	EncodedPath       Reason = "encoded_path"
	PathTraversal     Reason = "path_traversal"
	NotFound          Reason = "not_found"
	InvalidToken      Reason = "invalid_token"
)

// rejections maps each reason to its status and the short plain-text
// explanation sent back.
var rejections = map[Reason]struct {
	status  int
	message string
}{
	MethodNotAllowed: {http.StatusMethodNotAllowed, "only GET and HEAD are served here"},
	BodyNotAllowed:   {http.StatusBadRequest, "an ACME challenge request has no body"},
	// httputil.ReverseProxy forwards an upgrade and, if the upstream
	// agrees with a 101, splices the two connections: from then on bytes
	// flow unfiltered. A validator never asks for one.
	UpgradeNotAllowed: {http.StatusBadRequest, "protocol upgrades are not accepted"},
	MissingHost:       {http.StatusBadRequest, "missing Host header"},
	// Go's server replaces Host with the authority of an absolute-form
	// target (RFC 9112 section 3.2.2), so a mismatch between the two cannot
	// be seen here. Validators send origin-form; absolute-form is how
	// clients talk to a forward proxy, which this is not.
	AbsoluteForm:    {http.StatusBadRequest, "absolute-form request targets are not accepted: this is not a forward proxy"},
	InvalidTarget:   {http.StatusBadRequest, "the request target must be an absolute path"},
	QueryNotAllowed: {http.StatusBadRequest, "query strings are not accepted"},
	EncodedPath:     {http.StatusBadRequest, "percent-encoded paths are not accepted"},
	PathTraversal:   {http.StatusBadRequest, "dot segments and backslashes are not accepted"},
	NotFound:        {http.StatusNotFound, "only " + ChallengePathPrefix + "<token> is served here"},
	InvalidToken:    {http.StatusNotFound, "not an ACME challenge token"},
}

// Status is the HTTP status a request rejected for this reason gets.
func (r Reason) Status() int { return rejections[r].status }

// Message is the plain-text body a request rejected for this reason gets.
func (r Reason) Message() string { return rejections[r].message }

// Decision is the classifier's verdict. Exactly one of Token (forward) and
// Reject (reject) is set.
type Decision struct {
	Token  string
	Reject Reason
}

// Forward reports whether the request is a challenge request to forward.
func (d Decision) Forward() bool { return d.Reject == "" }

// Classify decides whether a request is an ACME HTTP-01 challenge request:
// GET or HEAD of exactly /.well-known/acme-challenge/<token>, no query, no
// body, no protocol upgrade. It is pure and cheap: it runs on every request that reaches the port,
// hostile or not, before anything is dialled.
func Classify(r Request) Decision {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return reject(MethodNotAllowed)
	}
	if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		return reject(BodyNotAllowed)
	}
	if r.Upgrade != "" {
		return reject(UpgradeNotAllowed)
	}
	if r.Host == "" {
		return reject(MissingHost)
	}
	if reason := checkTarget(r.Target); reason != "" {
		return reject(reason)
	}
	token, ok := strings.CutPrefix(r.Target, ChallengePathPrefix)
	if !ok {
		return reject(NotFound)
	}
	if !validToken(token) {
		return reject(InvalidToken)
	}
	return Decision{Token: token}
}

func reject(reason Reason) Decision { return Decision{Reject: reason} }

// checkTarget rejects request targets that are not a plain absolute path.
func checkTarget(target string) Reason {
	if !strings.HasPrefix(target, "/") {
		if strings.Contains(target, "://") {
			return AbsoluteForm
		}
		return InvalidTarget
	}
	for i := 0; i < len(target); i++ {
		if c := target[i]; c <= ' ' || c >= 0x7f {
			return InvalidTarget
		}
	}
	if strings.ContainsRune(target, '?') {
		return QueryNotAllowed
	}
	// A token never needs percent-encoding, and refusing all of it is
	// simpler and safer than deciding which encodings are harmless.
	if strings.ContainsRune(target, '%') {
		return EncodedPath
	}
	if strings.ContainsRune(target, '\\') {
		return PathTraversal
	}
	for segment := range strings.SplitSeq(target, "/") {
		if segment == "." || segment == ".." {
			return PathTraversal
		}
	}
	return ""
}

// validToken reports whether token is 16..128 characters of the base64url
// alphabet (RFC 8555 section 8.3; RFC 4648 section 5, no padding).
func validToken(token string) bool {
	if len(token) < minTokenLength || len(token) > maxTokenLength {
		return false
	}
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// RandomToken returns a well-formed token that no ACME order has issued:
// 256 random bits, base64url-encoded to 43 characters like cert-manager's.
// Probes ask for it to exercise the whole path without any solver knowing
// the answer, so the upstream's reply is always a miss (404 or 503).
func RandomToken() string {
	var b [32]byte
	// crypto/rand.Read never fails (Go 1.24+): it crashes the program
	// rather than return predictable bytes.
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
