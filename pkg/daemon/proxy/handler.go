package proxy

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
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
	// DefaultResponseHeaderTimeout bounds waiting for the solver's answer
	// (and then, once more, for its body).
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

// Handler answers each request the server has read: it classifies it and
// forwards challenge requests to an ingress VIP; everything else gets a 4xx
// without any upstream contact.
type Handler struct {
	ingressVIPs           []netip.Addr
	upstreamPort          uint16
	dialer                *guardedDialer
	responseHeaderTimeout time.Duration
	maxResponseBytes      int
	observer              Observer
}

// NewHandler returns the proxy's request handler.
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
		ingressVIPs:           cfg.IngressVIPs,
		upstreamPort:          cfg.UpstreamPort,
		dialer:                newGuardedDialer(cfg.IngressVIPs, cfg.UpstreamPort, cfg.DialTimeout),
		responseHeaderTimeout: cfg.ResponseHeaderTimeout,
		maxResponseBytes:      int(cfg.MaxResponseBytes),
		observer:              observer,
	}
}

// answers lends each request the buffer its response is built in, so that
// it goes out in one write.
var answers = sync.Pool{New: func() any { b := make([]byte, 0, 8<<10); return &b }}

func (h *Handler) serve(conn net.Conn, req *wireRequest) {
	decision := Classify(req.classifierInput())
	if !decision.Forward() {
		h.reject(conn, req, decision.Reject)
		return
	}
	h.forward(conn, req, decision.Token)
}

// refuse answers a request the parser refused. Its body says what was wrong
// with it, in net/http's words.
func (h *Handler) refuse(conn net.Conn, err *requestError) {
	body := strconv.Itoa(err.status) + " " + http.StatusText(err.status)
	switch {
	case err == errTransferEncoding:
		body = err.text
	case err.text != "":
		body += ": " + err.text
	}
	// Counted before the answer goes out, so that a scrape right after it
	// sees the request.
	h.observer.RequestHandled(OutcomeRejected, err.status)
	h.writeAnswer(conn, err.status, nil, proxyStatusDenied, body, false)
	if logger := klog.V(4); logger.Enabled() {
		if ok, suppressed := rejectLines.take(time.Now()); ok {
			logger.InfoS("Refused malformed request", "client", conn.RemoteAddr(), "status", err.status, "problem", body, "suppressed", suppressed)
		}
	}
}

var allowGetHead = []string{"Allow: GET, HEAD"}

func (h *Handler) reject(conn net.Conn, req *wireRequest, reason Reason) {
	var extra []string
	if reason == MethodNotAllowed {
		extra = allowGetHead
	}
	h.observer.RequestHandled(OutcomeRejected, reason.Status())
	h.writeAnswer(conn, reason.Status(), extra, proxyStatusDenied, reason.Message()+"\n", req.Method == http.MethodHead)
	// Rejections are logged one level quieter than forwards: anything on the
	// internet that scans port 80 of the API VIP ends up here.
	if logger := klog.V(4); logger.Enabled() {
		if ok, suppressed := rejectLines.take(time.Now()); ok {
			logger.InfoS("Rejected request", "client", conn.RemoteAddr(), "host", truncate(req.Host), "method", truncate(req.Method),
				"target", truncate(req.Target), "status", reason.Status(), "reason", reason, "suppressed", suppressed)
		}
	}
}

func (h *Handler) forward(conn net.Conn, req *wireRequest, token string) {
	start := time.Now()
	client := remoteAddrPort(conn)
	vip, ok := SelectUpstream(client.Addr(), h.ingressVIPs)
	if !ok {
		// Options validation requires an ingress VIP; this is unreachable.
		h.observer.RequestHandled(OutcomeUpstreamError, http.StatusBadGateway)
		h.writeAnswer(conn, http.StatusBadGateway, nil, proxyStatus(ErrorConfiguration, netip.Addr{}), "no upstream configured\n", false)
		return
	}
	upstream := netip.AddrPortFrom(vip, h.upstreamPort)
	status, outcome, err := h.relay(conn, req, client, upstream, token)
	// Tokens are logged in full: they are public (the CA fetches them over
	// plain HTTP and publishes them in the authorization), and they are what
	// ties this line to a cert-manager Challenge. The arguments are only
	// built when the line is written: boxing them costs more allocations
	// than the rest of the forward.
	if logger := klog.V(2); logger.Enabled() {
		if ok, suppressed := forwardLines.take(time.Now()); ok {
			logger.InfoS("Forwarded ACME challenge request", "client", client.Addr(), "host", truncate(req.Host), "method", req.Method,
				"token", token, "upstream", upstream, "status", status, "outcome", outcome,
				"latency", time.Since(start), "err", errText(err), "suppressed", suppressed)
		}
	}
}

// relay forwards the request and answers the client with the upstream's
// response, or with a gateway error naming the ingress VIP tried.
func (h *Handler) relay(conn net.Conn, req *wireRequest, client, upstream netip.AddrPort, token string) (int, string, error) {
	resp, err := h.exchange(req, client, upstream, token)
	if err != nil {
		failure := classifyUpstreamError(err)
		h.observer.RequestHandled(OutcomeUpstreamError, failure.status)
		h.writeAnswer(conn, failure.status, nil, proxyStatus(failure.errorType, upstream.Addr()),
			failure.summary()+": ingress VIP "+upstream.String()+": "+failure.problem+"\n", false)
		return failure.status, OutcomeUpstreamError, err
	}
	defer resp.release()
	h.observer.RequestHandled(OutcomeForwarded, resp.status)
	// A client that went away gets nothing more; the forward is done.
	_, _ = conn.Write(resp.wire)
	return resp.status, OutcomeForwarded, nil
}

// proxyStatusDenied is our Proxy-Status member on what the proxy refuses.
var proxyStatusDenied = proxyStatus(ErrorRequestDenied, netip.Addr{})

// writeAnswer sends a response the proxy produces itself: a short plain-text
// body, our Via entry and our Proxy-Status member, which is what tells it
// apart from an answer of the router. No message was received to name the
// protocol of, so Via names the one the proxy speaks, HTTP/1.1.
func (h *Handler) writeAnswer(conn net.Conn, status int, extra []string, proxyStatusMember, body string, head bool) {
	bp := answers.Get().(*[]byte)
	b := appendStatusLine((*bp)[:0], status)
	b = append(b, "Content-Type: text/plain; charset=utf-8\r\nX-Content-Type-Options: nosniff\r\n"...)
	for _, line := range extra {
		b = append(append(b, line...), "\r\n"...)
	}
	b = append(b, "Via: "+viaEntry11+"\r\nProxy-Status: "...)
	b = append(b, proxyStatusMember...)
	b = appendEnd(b, len(body))
	if !head {
		b = append(b, body...)
	}
	conn.Write(b)
	*bp = b
	answers.Put(bp)
}

func appendStatusLine(b []byte, status int) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	text := http.StatusText(status)
	if text == "" {
		text = "status " + strconv.Itoa(status)
	}
	return append(append(b, text...), "\r\n"...)
}

// appendEnd ends a response head: the date, the body's length, and that the
// connection closes after it.
func appendEnd(b []byte, contentLength int) []byte {
	b = append(b, "\r\nDate: "...)
	b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(contentLength), 10)
	return append(b, "\r\nConnection: close\r\n\r\n"...)
}

// remoteAddrPort is the client's address. REDIRECT keeps the source address,
// so this is the real client (the CA, or a process on the node).
func remoteAddrPort(conn net.Conn) netip.AddrPort {
	if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		ap := a.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// errText is err's text, cut like a client's fields: a parse error quotes
// what the upstream sent.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return truncate(err.Error())
}
