package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"slices"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// UpstreamPort is where the router serves plain HTTP on the ingress VIP.
const UpstreamPort = 80

// Outcomes of a request, as metrics labels.
const (
	OutcomeForwarded     = "forwarded"
	OutcomeRejected      = "rejected"
	OutcomeUpstreamError = "upstream_error"
)

const (
	// DefaultDialTimeout bounds connecting to the router: it is on the same
	// L2 segment, so anything slower means it is down.
	DefaultDialTimeout = 2 * time.Second
	// DefaultResponseHeaderTimeout bounds waiting for the solver's answer.
	DefaultResponseHeaderTimeout = 5 * time.Second
	// DefaultMaxResponseBytes caps the body served back. A key authorization
	// is under 200 bytes and the router's own error pages under 3 KiB; the
	// cap keeps a misrouted request from streaming anything larger through us.
	DefaultMaxResponseBytes = 4 << 10
	// maxUpstreamHeaderBytes caps the upstream's response headers.
	maxUpstreamHeaderBytes = 16 << 10
)

// Observer is told about every request (metrics).
type Observer interface {
	RequestHandled(outcome string, code int)
	UpstreamResponded(latency time.Duration)
}

// HandlerConfig configures NewHandler. Zero durations and sizes take the
// defaults above.
type HandlerConfig struct {
	IngressVIPs []netip.Addr
	// UpstreamPort is UpstreamPort in production; tests point it at a
	// local test server.
	UpstreamPort          uint16
	DialTimeout           time.Duration
	ResponseHeaderTimeout time.Duration
	MaxResponseBytes      int64
}

// Handler classifies each request and forwards challenge requests to an
// ingress VIP; everything else gets a 4xx without any upstream contact.
type Handler struct {
	ingressVIPs  []netip.Addr
	upstreamPort uint16
	reverseProxy *httputil.ReverseProxy
	observer     Observer
}

// NewHandler returns the proxy's HTTP handler.
func NewHandler(cfg HandlerConfig, observer Observer) *Handler {
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.ResponseHeaderTimeout == 0 {
		cfg.ResponseHeaderTimeout = DefaultResponseHeaderTimeout
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	return &Handler{
		ingressVIPs:  cfg.IngressVIPs,
		upstreamPort: cfg.UpstreamPort,
		observer:     observer,
		reverseProxy: &httputil.ReverseProxy{
			Rewrite:        rewrite,
			Transport:      &timedTransport{next: newUpstreamTransport(cfg), observer: observer},
			ModifyResponse: modifyResponse(cfg.MaxResponseBytes),
			ErrorHandler:   upstreamError,
			ErrorLog:       serverErrorLog(),
			BufferPool:     copyBuffers,
		},
	}
}

// newUpstreamTransport returns the transport to the router. There is no
// proxy environment to honour (HTTP_PROXY and friends): the only upstream is
// the ingress VIP, reached directly. The solver's answer passes through byte
// for byte (no Accept-Encoding is added).
//
// One connection per challenge request, as on the client side. A pooled
// connection to a router that has since vanished would make a request wait
// for ResponseHeaderTimeout instead of failing at DialTimeout, and one to an
// ingress VIP that moved would have to be retried. The request says
// "Connection: close", so the router closes first and keeps the TIME_WAIT: a
// flood of forwards cannot use up the node's ports towards the ingress VIP.
func newUpstreamTransport(cfg HandlerConfig) http.RoundTripper {
	return &oneShotTransport{
		dial:                  newGuardedDialer(cfg.IngressVIPs, cfg.UpstreamPort, cfg.DialTimeout).DialContext,
		responseHeaderTimeout: cfg.ResponseHeaderTimeout,
		maxHeaderBytes:        maxUpstreamHeaderBytes,
	}
}

// forward is what the handler decided for a request, handed to rewrite and
// upstreamError through the request context.
type forward struct {
	upstream netip.AddrPort
	path     string
	err      error // set by upstreamError
}

type forwardKey struct{}

func forwardFrom(ctx context.Context) *forward {
	f, _ := ctx.Value(forwardKey{}).(*forward)
	return f
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	decision := Classify(RequestFrom(r))
	if !decision.Forward() {
		h.reject(w, r, decision.Reject)
		return
	}
	h.forward(w, r, decision.Token)
}

func (h *Handler) forward(w http.ResponseWriter, r *http.Request, token string) {
	start := time.Now()
	client := clientAddr(r.RemoteAddr)
	vip, ok := SelectUpstream(client, h.ingressVIPs)
	if !ok {
		// Options validation requires an ingress VIP; this is unreachable.
		answer(w, http.StatusBadGateway, proxyStatus(ErrorConfiguration, netip.Addr{}), "no upstream configured")
		h.observer.RequestHandled(OutcomeUpstreamError, http.StatusBadGateway)
		return
	}
	f := &forward{upstream: netip.AddrPortFrom(vip, h.upstreamPort), path: ChallengePathPrefix + token}
	recorder := &statusRecorder{ResponseWriter: w}
	defer func() {
		// ReverseProxy aborts with http.ErrAbortHandler when the upstream
		// body fails (or exceeds the cap) after the headers were sent:
		// account for the request, then let the server close the connection.
		aborted := recover()
		outcome := OutcomeForwarded
		if f.err != nil || aborted != nil {
			outcome = OutcomeUpstreamError
		}
		h.observer.RequestHandled(outcome, recorder.code())
		// Tokens are logged in full: they are public (the CA fetches them
		// over plain HTTP and publishes them in the authorization), and they
		// are what ties this line to a cert-manager Challenge. The arguments
		// are only built when the line is written: boxing them costs more
		// allocations than the rest of the handler.
		if logger := klog.V(2); logger.Enabled() {
			if ok, suppressed := forwardLines.take(time.Now()); ok {
				logger.InfoS("Forwarded ACME challenge request", "client", client, "host", truncate(r.Host), "method", r.Method,
					"token", token, "upstream", f.upstream, "status", recorder.code(), "outcome", outcome,
					"latency", time.Since(start), "err", errText(f.err), "suppressed", suppressed)
			}
		}
		if aborted != nil {
			panic(aborted)
		}
	}()
	h.reverseProxy.ServeHTTP(recorder, r.WithContext(context.WithValue(r.Context(), forwardKey{}, f)))
}

func (h *Handler) reject(w http.ResponseWriter, r *http.Request, reason Reason) {
	if reason == MethodNotAllowed {
		w.Header().Set("Allow", "GET, HEAD")
	}
	answer(w, reason.Status(), proxyStatus(ErrorRequestDenied, netip.Addr{}), reason.Message())
	h.observer.RequestHandled(OutcomeRejected, reason.Status())
	// Rejections are logged one level quieter than forwards: anything on the
	// internet that scans port 80 of the API VIP ends up here.
	if logger := klog.V(4); logger.Enabled() {
		if ok, suppressed := rejectLines.take(time.Now()); ok {
			logger.InfoS("Rejected request", "client", r.RemoteAddr, "host", truncate(r.Host), "method", truncate(r.Method),
				"target", truncate(r.RequestURI), "status", reason.Status(), "reason", reason, "suppressed", suppressed)
		}
	}
}

// errText is err's text, cut like a client's fields: a parse error quotes
// what the upstream sent.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return truncate(err.Error())
}

// forwardedHeaders are the only client headers passed on to the router.
// A validator needs nothing else; anything more (cookies, credentials,
// Expect, Range, made-up headers) would only carry an attacker's input to
// the router and to whatever application answers the Host.
var forwardedHeaders = []string{"Accept", "User-Agent"}

// rewrite builds the upstream request from the handler's decision only: the
// validated path, the chosen ingress VIP, the client's Host (the router
// routes on it), forwardedHeaders and X-Forwarded-* naming the client. Go
// serialises it afresh, so no byte of the client's request line or header
// block reaches the router as sent: a parsing difference between Go and the
// router cannot be used to smuggle a second request.
func rewrite(pr *httputil.ProxyRequest) {
	f := forwardFrom(pr.In.Context())
	if f == nil {
		// Not reachable through Handler; an empty URL fails the round trip.
		pr.Out.URL = &url.URL{}
		return
	}
	pr.Out.URL = &url.URL{Scheme: "http", Host: f.upstream.String(), Path: f.path}
	pr.Out.Host = pr.In.Host
	pr.Out.Header = allowedHeaders(pr.In.Header)
	pr.SetXForwarded()
	// Our entry only: the client's Via is dropped with every other header
	// it sent, since it is as unverifiable as a forged Forwarded.
	pr.Out.Header.Set(viaHeader, viaEntry(pr.In.ProtoMajor, pr.In.ProtoMinor))
}

// allowedHeaders returns a copy of the forwardedHeaders of h.
func allowedHeaders(h http.Header) http.Header {
	out := make(http.Header, len(forwardedHeaders))
	for _, name := range forwardedHeaders {
		if values, ok := h[name]; ok {
			out[name] = slices.Clone(values)
		}
	}
	return out
}

// upstreamError answers for an upstream that could not be reached (502),
// did not answer in time (504) or answered with too much (502). The answer
// names the ingress VIP that was tried, in the body for a human and in
// Proxy-Status for a program (the diagnose command), so that "the router is
// down" is told apart from "the proxy is broken" without reading our logs.
func upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	f := forwardFrom(r.Context())
	var upstream netip.AddrPort
	if f != nil {
		f.err = err
		upstream = f.upstream
	}
	failure := classifyUpstreamError(err)
	answer(w, failure.status, proxyStatus(failure.errorType, upstream.Addr()),
		fmt.Sprintf("%s: ingress VIP %s: %s", failure.summary(), upstream, failure.problem))
}

// answer sends a response the proxy produces itself: a short plain-text
// body, our Via entry and our Proxy-Status member, which is what tells it
// apart from an answer of the router. No message was received to name the
// protocol of, so Via names the one the proxy speaks, HTTP/1.1.
func answer(w http.ResponseWriter, status int, proxyStatusMember, message string) {
	w.Header().Set(viaHeader, viaEntry(1, 1))
	w.Header().Set(proxyStatusHeader, proxyStatusMember)
	http.Error(w, message, status)
}

// modifyResponse caps the upstream's response, keeps only relayedHeaders of
// it and adds our Via entry.
func modifyResponse(maxBytes int64) func(*http.Response) error {
	limit := capResponse(maxBytes)
	return func(resp *http.Response) error {
		if err := limit(resp); err != nil {
			return err
		}
		resp.Header = relayedHeaders(resp.Header)
		appendVia(resp.Header, resp.ProtoMajor, resp.ProtoMinor)
		return nil
	}
}

// relayedResponseHeaders are the only upstream response headers passed back
// to the client: what a validator reads (the body, its length and type) and what tells an
// admin or diagnose who answered (Server, Via). Whatever else an application
// behind the router sets for the API host (Set-Cookie, redirects, its own
// Proxy-Status claiming to be ours) stays behind the proxy.
var relayedResponseHeaders = []string{"Cache-Control", "Content-Length", "Content-Type", "Date", "Retry-After", "Server", viaHeader}

func relayedHeaders(h http.Header) http.Header {
	out := make(http.Header, len(relayedResponseHeaders)+1)
	for _, name := range relayedResponseHeaders {
		if values, ok := h[name]; ok {
			out[name] = values
		}
	}
	return out
}

var errResponseTooLarge = errors.New("upstream response too large")

// copyBuffers lends ReverseProxy the buffer it copies each response body
// through. Without a pool it allocates 32 KiB per request, for a body of a
// few hundred bytes: most of the garbage a forward makes.
var copyBuffers = &bufferPool{}

// copyBufferSize holds a key authorization many times over; a bigger body
// takes more reads, not more memory.
const copyBufferSize = 4 << 10

type bufferPool struct{ pool sync.Pool }

func (p *bufferPool) Get() []byte {
	if b, ok := p.pool.Get().(*[]byte); ok {
		return *b
	}
	return make([]byte, copyBufferSize)
}

func (p *bufferPool) Put(b []byte) {
	if cap(b) >= copyBufferSize {
		b = b[:copyBufferSize]
		p.pool.Put(&b)
	}
}

// capResponse refuses responses that announce a body over max bytes, and cuts
// off ones that turn out bigger than max while streaming.
func capResponse(max int64) func(*http.Response) error {
	return func(resp *http.Response) error {
		if resp.ContentLength > max {
			return fmt.Errorf("%w: Content-Length %d", errResponseTooLarge, resp.ContentLength)
		}
		resp.Body = &cappedBody{body: resp.Body, remaining: max}
		return nil
	}
}

type cappedBody struct {
	body      io.ReadCloser
	remaining int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.remaining <= 0 {
		// Read one byte more to tell "exactly max" from "more than max".
		var probe [1]byte
		n, err := b.body.Read(probe[:])
		if n > 0 {
			return 0, errResponseTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.body.Read(p)
	b.remaining -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.body.Close() }

// timedTransport measures how long the upstream takes to answer with headers.
type timedTransport struct {
	next     http.RoundTripper
	observer Observer
}

func (t *timedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.next.RoundTrip(r)
	if err == nil {
		t.observer.UpstreamResponded(time.Since(start))
	}
	return resp, err
}

// statusRecorder remembers the status code written.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	// 1xx responses are interim; the final status comes later.
	if s.status == 0 && code >= http.StatusOK {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the real writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}
