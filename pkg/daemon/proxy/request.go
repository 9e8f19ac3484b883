package proxy

import (
	"bytes"
	"net/http"
)

// The proxy reads requests with a parser of its own, for the small grammar
// a validator uses: a request line and header fields (RFC 9112 sections 3
// and 5), no body. It looks at the handful of fields the classifier and the
// upstream request need and checks the syntax of every other line; what it
// cannot read exactly one way it refuses. FuzzParseRequest holds it against
// net/http's server: whatever this parser accepts, net/http reads as the
// same method, target and Host.

const (
	// maxHeadBytes bounds the request line and header fields together, as
	// net/http's 8 KiB MaxHeaderBytes plus the 4 KiB it allows on top.
	maxHeadBytes = maxHeaderBytes + 4<<10
	// maxForwardedValues bounds the Accept and User-Agent lines passed on.
	maxForwardedValues = 4
)

// wireRequest is what the proxy uses of a request.
type wireRequest struct {
	Method, Target string
	// ProtoMinor is the y of HTTP/1.y.
	ProtoMinor int
	Host       string
	// HasBody: a Content-Length over 0 or a chunked Transfer-Encoding.
	HasBody bool
	// Upgrade: a non-empty Upgrade field.
	Upgrade bool
	// Forwarded are the Accept and User-Agent fields, in order.
	Forwarded []field
}

type field struct{ name, value string }

// classifierInput is the classifier's view of the request.
func (r *wireRequest) classifierInput() Request {
	in := Request{Method: r.Method, Target: r.Target, Host: r.Host}
	if r.HasBody {
		in.ContentLength = 1
	}
	if r.Upgrade {
		in.Upgrade = "yes"
	}
	return in
}

// requestError is a request the parser refuses, and the answer it gets.
type requestError struct {
	status int
	text   string
}

var (
	errMalformedRequest  = &requestError{http.StatusBadRequest, "malformed HTTP request"}
	errMalformedVersion  = &requestError{http.StatusBadRequest, "malformed HTTP version"}
	errUnsupportedProto  = &requestError{http.StatusHTTPVersionNotSupported, "unsupported protocol version"}
	errInvalidMethod     = &requestError{http.StatusBadRequest, "invalid method"}
	errInvalidTarget     = &requestError{http.StatusBadRequest, "invalid request target"}
	errInvalidFieldName  = &requestError{http.StatusBadRequest, "invalid header name"}
	errInvalidFieldValue = &requestError{http.StatusBadRequest, "invalid header value"}
	errFolding           = &requestError{http.StatusBadRequest, "obsolete line folding in a field the proxy reads"}
	errTooManyHosts      = &requestError{http.StatusBadRequest, "too many Host headers"}
	errMalformedHost     = &requestError{http.StatusBadRequest, "malformed Host header"}
	errMissingHost       = &requestError{http.StatusBadRequest, "missing required Host header"}
	errContentLength     = &requestError{http.StatusBadRequest, "invalid Content-Length"}
	errTransferEncoding  = &requestError{http.StatusNotImplemented, "Unsupported transfer encoding"}
	errHeadTooLarge      = &requestError{http.StatusRequestHeaderFieldsTooLarge, ""}
	errHeadIncomplete    = &requestError{http.StatusBadRequest, ""}
)

// headEnd returns the length of the request head in b, up to and including
// the empty line that ends it (CRLF or a bare LF, as net/http accepts), or
// -1 if it is not complete. from is where the previous search stopped.
func headEnd(b []byte, from int) int {
	for i := max(from, 0); i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
	}
	return -1
}

// nextLine splits b at its first line end, LF or CRLF. A CR anywhere else is
// refused: some parsers end lines at a bare CR, others do not.
func nextLine(b []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return nil, nil, false
	}
	line, rest = b[:i], b[i+1:]
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if bytes.IndexByte(line, '\r') >= 0 {
		return nil, nil, false
	}
	return line, rest, true
}

// parseRequestLine reads "method SP target SP HTTP/1.y" (RFC 9112 section
// 3). It is checked as soon as the first line is in, so that something that
// is not HTTP is answered at once.
func parseRequestLine(line []byte) (method, target []byte, protoMinor int, err *requestError) {
	method, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return nil, nil, 0, errMalformedRequest
	}
	target, proto, ok := bytes.Cut(rest, []byte{' '})
	if !ok || len(target) == 0 {
		return nil, nil, 0, errMalformedRequest
	}
	if len(method) == 0 || !isToken(method) {
		return nil, nil, 0, errInvalidMethod
	}
	for _, c := range target {
		if c <= ' ' || c == 0x7f {
			return nil, nil, 0, errInvalidTarget
		}
	}
	switch string(proto) {
	case "HTTP/1.1":
		return method, target, 1, nil
	case "HTTP/1.0":
		return method, target, 0, nil
	case "HTTP/2.0":
		// The HTTP/2 preface ("PRI * HTTP/2.0") reads as a request
		// with method PRI, which the classifier refuses like net/http's
		// handler does (405).
		if string(method) == "PRI" && string(target) == "*" {
			return method, target, 0, nil
		}
		return nil, nil, 0, errUnsupportedProto
	}
	if len(proto) == 8 && string(proto[:5]) == "HTTP/" && isDigit(proto[5]) && proto[6] == '.' && isDigit(proto[7]) {
		return nil, nil, 0, errUnsupportedProto
	}
	return nil, nil, 0, errMalformedVersion
}

// parseRequest parses a complete request head, as delimited by headEnd.
func parseRequest(head []byte) (wireRequest, *requestError) {
	var req wireRequest
	line, rest, ok := nextLine(head)
	if !ok {
		return req, errMalformedRequest
	}
	method, target, minor, err := parseRequestLine(line)
	if err != nil {
		return req, err
	}
	req.Method, req.Target, req.ProtoMinor = string(method), string(target), minor

	var (
		hosts, transferEncodings int
		contentLength            []byte
		last                     *field // the previous field, if it is one passed on
		lastRead                 bool   // the previous field is one the proxy reads
		sawField                 bool
	)
	for {
		line, rest, ok = nextLine(rest)
		if !ok {
			return req, errMalformedRequest
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			// Obsolete line folding (RFC 9112 section 5.2): net/http
			// joins the line to the previous value with one space. For a
			// field the proxy passes on it does the same; in one it reads
			// (Host, Content-Length, ...) it refuses.
			value := trimOWS(line)
			switch {
			case !sawField:
				return req, errMalformedRequest
			case !validFieldValue(value):
				return req, errInvalidFieldValue
			case lastRead:
				return req, errFolding
			case last != nil && len(value) > 0:
				last.value += " " + string(value)
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok || len(name) == 0 || !isToken(name) {
			return req, errInvalidFieldName
		}
		value = trimOWS(value)
		if !validFieldValue(value) {
			return req, errInvalidFieldValue
		}
		sawField, last, lastRead = true, nil, true
		switch {
		case equalFold(name, "host"):
			hosts++
			if hosts > 1 {
				return req, errTooManyHosts
			}
			if !validHost(value) {
				return req, errMalformedHost
			}
			req.Host = string(value)
		case equalFold(name, "content-length"):
			if !validContentLength(value) || contentLength != nil && !bytes.Equal(value, contentLength) {
				return req, errContentLength
			}
			contentLength = value
			if len(bytes.TrimLeft(value, "0")) > 0 {
				req.HasBody = true
			}
		case equalFold(name, "transfer-encoding"):
			transferEncodings++
			if transferEncodings > 1 || !equalFold(value, "chunked") {
				return req, errTransferEncoding
			}
			req.HasBody = true
		case equalFold(name, "upgrade"):
			if len(value) > 0 {
				req.Upgrade = true
			}
		case equalFold(name, "accept"), equalFold(name, "user-agent"):
			if len(req.Forwarded) == maxForwardedValues {
				lastRead = false
				continue
			}
			canonical := "Accept"
			if len(name) != len("accept") {
				canonical = "User-Agent"
			}
			req.Forwarded = append(req.Forwarded, field{canonical, string(value)})
			last, lastRead = &req.Forwarded[len(req.Forwarded)-1], false
		default:
			lastRead = false
		}
	}
	if hosts == 0 && req.ProtoMinor >= 1 && req.Method != "PRI" {
		return req, errMissingHost
	}
	return req, nil
}

func trimOWS(b []byte) []byte {
	return bytes.Trim(b, " \t")
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// isToken reports whether b is an RFC 9110 token (methods, field names).
func isToken(b []byte) bool {
	for _, c := range b {
		if !tokenChars[c] {
			return false
		}
	}
	return true
}

var tokenChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// validFieldValue refuses control characters but HTAB (RFC 9110 section
// 5.5), NUL, CR and LF above all.
func validFieldValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validHost is net/http's check of a Host value: the characters of an
// RFC 3986 authority without userinfo.
func validHost(b []byte) bool {
	for _, c := range b {
		if !hostChars[c] {
			return false
		}
	}
	return true
}

var hostChars = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "!$%&'()*+,-.:;=[]_~" {
		t[c] = true
	}
	return t
}()

// validContentLength accepts 1-18 digits: no sign, no list, nothing that
// overflows.
func validContentLength(b []byte) bool {
	if len(b) == 0 || len(b) > 18 {
		return false
	}
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// equalFold compares b with a lower-case ASCII name.
func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
