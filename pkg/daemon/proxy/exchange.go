package proxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The exchange with the router is one connection per challenge request: one
// write of a request the proxy builds afresh, one buffered read of the
// response, then the connection is closed.
//
// No pooling, on purpose. A pooled connection to a router that has since
// vanished would make a request wait for the response timeout instead of
// failing at the dial timeout, and one to an ingress VIP that moved would
// have to be retried. The request says "Connection: close", so the router
// closes first and keeps the TIME_WAIT: a flood of forwards cannot use up the
// node's ports towards the ingress VIP.

// forwardedHeaders are the only client headers passed on to the router.
// A validator needs nothing else; anything more (cookies, credentials,
// Expect, Range, made-up headers) would only carry an attacker's input to
// the router and to whatever application answers the Host.
var forwardedHeaders = []string{"Accept", "User-Agent"}

// appendUpstreamRequest builds the upstream request from the classifier's
// decision only: the validated path, the client's Host (the router routes on
// it), forwardedHeaders and X-Forwarded-* naming the client. No byte of the
// client's request line or header block reaches the router as sent, so a
// parsing difference between the proxy and the router cannot be used to
// smuggle a second request. Every value was checked by parseRequest: no CR,
// LF or other control character.
func appendUpstreamRequest(b []byte, req *wireRequest, client netip.AddrPort, token string) []byte {
	b = append(b, req.Method...)
	b = append(b, ' ')
	b = append(b, ChallengePathPrefix...)
	b = append(b, token...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, req.Host...)
	for _, f := range req.Forwarded {
		b = append(b, "\r\n"...)
		b = append(b, f.name...)
		b = append(b, ": "...)
		b = append(b, f.value...)
	}
	b = append(b, "\r\nX-Forwarded-For: "...)
	b = client.Addr().AppendTo(b)
	b = append(b, "\r\nX-Forwarded-Host: "...)
	b = append(b, req.Host...)
	// Our entry only: the client's Via is dropped with every other header
	// it sent, since it is as unverifiable as a forged Forwarded.
	b = append(b, "\r\nX-Forwarded-Proto: http\r\nVia: "...)
	if req.ProtoMinor == 0 {
		b = append(b, viaEntry10...)
	} else {
		b = append(b, viaEntry11...)
	}
	return append(b, "\r\nConnection: close\r\n\r\n"...)
}

// relayedResponse is the client's answer, built from the upstream's.
type relayedResponse struct {
	status int
	wire   []byte
	buf    *[]byte
}

func (r *relayedResponse) release() {
	*r.buf = r.wire[:0]
	answers.Put(r.buf)
}

// upstreamReader reads one response, its headers bounded by
// maxUpstreamHeaderBytes; pooled with its buffer.
type upstreamReader struct {
	limit io.LimitedReader
	br    *bufio.Reader
}

var upstreamReaders = sync.Pool{New: func() any {
	r := &upstreamReader{}
	r.br = bufio.NewReaderSize(&r.limit, 4<<10)
	return r
}}

// Requests for http.ReadResponse, which only looks at the method (a
// response to HEAD has no body).
var (
	getRequest  = &http.Request{Method: http.MethodGet}
	headRequest = &http.Request{Method: http.MethodHead}
)

func (h *Handler) exchange(req *wireRequest, client, upstream netip.AddrPort, token string) (relayedResponse, error) {
	start := time.Now()
	bp := answers.Get().(*[]byte)
	resp := relayedResponse{buf: bp}
	b := appendUpstreamRequest((*bp)[:0], req, client, token)
	conn, err := h.dialer.dialAndWrite(upstream, b)
	if err != nil {
		resp.wire = b
		resp.release()
		return relayedResponse{}, err
	}
	defer conn.Close()
	// The response headers come back within responseHeaderTimeout; then
	// the body gets as long again.
	conn.SetDeadline(time.Now().Add(h.responseHeaderTimeout))

	r := upstreamReaders.Get().(*upstreamReader)
	defer func() { r.limit.R = nil; r.br.Reset(&r.limit); upstreamReaders.Put(r) }()
	r.limit = io.LimitedReader{R: conn, N: maxUpstreamHeaderBytes}
	r.br.Reset(&r.limit)
	forRequest := getRequest
	if req.Method == http.MethodHead {
		forRequest = headRequest
	}
	upstreamResp, err := readFinalResponse(r.br, forRequest)
	if err != nil {
		resp.wire = b
		resp.release()
		if errors.Is(err, io.ErrUnexpectedEOF) && r.limit.N <= 0 {
			err = fmt.Errorf("upstream response headers exceed %d bytes", maxUpstreamHeaderBytes)
		}
		return relayedResponse{}, err
	}
	h.observer.UpstreamResponded(time.Since(start))

	// The body is capped below; the limit was for the headers.
	r.limit.N = 1 << 62
	conn.SetDeadline(time.Now().Add(h.responseHeaderTimeout))
	body, err := h.readBody(upstreamResp, b[:0])
	if err != nil {
		resp.wire = b
		resp.release()
		return relayedResponse{}, err
	}
	// The body sits at the start of the buffer; the response is built
	// after it and then moved to the front.
	wire := appendRelayedHead(body, upstreamResp, len(body), req.Method == http.MethodHead)
	wire = append(wire, body...)
	n := copy(wire, wire[len(body):])
	resp.status, resp.wire = upstreamResp.StatusCode, wire[:n]
	return resp, nil
}

var errResponseTooLarge = errors.New("upstream response too large")

// readBody appends the body of resp to b, refusing one announced or found
// to be over the cap.
func (h *Handler) readBody(resp *http.Response, b []byte) ([]byte, error) {
	if resp.ContentLength > int64(h.maxResponseBytes) {
		return b, fmt.Errorf("%w: Content-Length %d", errResponseTooLarge, resp.ContentLength)
	}
	b = b[:0]
	for {
		if len(b) > h.maxResponseBytes {
			return b, errResponseTooLarge
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		// One byte more than the cap tells "exactly max" from "more".
		n, err := resp.Body.Read(b[len(b):min(cap(b), h.maxResponseBytes+1)])
		b = b[:len(b)+n]
		if err == io.EOF {
			if len(b) > h.maxResponseBytes {
				return b, errResponseTooLarge
			}
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// relayedResponseHeaders are the only upstream response headers passed back
// to the client: what a validator reads (the body's type) and what tells an
// admin or diagnose who answered (Server, Via). Whatever else an application
// behind the router sets for the API host (Set-Cookie, redirects, its own
// Proxy-Status claiming to be ours) stays behind the proxy. Content-Length
// is the proxy's own: it has read the whole body.
var relayedResponseHeaders = []string{"Cache-Control", "Content-Type", "Date", "Retry-After", "Server"}

// appendRelayedHead appends the head of the answer to the client: the
// upstream's status, its relayedResponseHeaders, Via with our entry after
// the upstream's own, and our length.
func appendRelayedHead(b []byte, resp *http.Response, bodyLength int, head bool) []byte {
	b = appendStatusLine(b, resp.StatusCode)
	for _, name := range relayedResponseHeaders {
		if name == "Date" {
			continue // appendEnd writes ours
		}
		for _, v := range resp.Header[name] {
			if validFieldValue([]byte(v)) {
				b = append(append(append(append(b, name...), ": "...), v...), "\r\n"...)
			}
		}
	}
	b = append(b, "Via: "...)
	for _, v := range resp.Header[viaHeader] {
		if v = strings.TrimSpace(v); v != "" && validFieldValue([]byte(v)) {
			b = append(append(b, v...), ", "...)
		}
	}
	b = append(b, strconv.Itoa(resp.ProtoMajor)+"."+strconv.Itoa(resp.ProtoMinor)+" "+Pseudonym...)
	if head {
		// A response to HEAD announces the length of the body it omits.
		return appendEndLength(b, resp.ContentLength)
	}
	return appendEndLength(b, int64(bodyLength))
}

// appendEndLength is appendEnd with a length that may be unknown (-1).
func appendEndLength(b []byte, contentLength int64) []byte {
	if contentLength < 0 {
		b = append(b, "\r\nDate: "...)
		b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
		return append(b, "\r\nConnection: close\r\n\r\n"...)
	}
	return appendEnd(b, int(contentLength))
}

// maxInterimResponses bounds the 1xx responses skipped before the final one.
const maxInterimResponses = 4

// errNotFinalStatus is a response that cannot be relayed as the answer to a
// challenge request: 101 (a switch to a protocol we do not speak), a status
// outside 100-599, or too many interim responses.
var errNotFinalStatus = errors.New("upstream status is not a final 200-599 response")

// readFinalResponse reads the upstream's final response, skipping interim
// 1xx responses (RFC 9110 section 15.2) as a client must: a 103 Early Hints
// before the 200 must not become the answer, or the key authorization in
// the 200 is lost.
func readFinalResponse(r *bufio.Reader, req *http.Request) (*http.Response, error) {
	for range maxInterimResponses + 1 {
		resp, err := http.ReadResponse(r, req)
		if err != nil {
			return nil, err
		}
		switch code := resp.StatusCode; {
		case code >= 200 && code <= 599:
			return resp, nil
		case code >= 100 && code < 200 && code != http.StatusSwitchingProtocols:
			continue // interim responses have no body
		default:
			return nil, fmt.Errorf("%w: %d", errNotFinalStatus, code)
		}
	}
	return nil, fmt.Errorf("%w: more than %d interim responses", errNotFinalStatus, maxInterimResponses)
}
