package proxy

import (
	"container/list"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// Server limits. A challenge request is one small GET answered with a few
// hundred bytes, so every limit can be tight; together with the connection
// cap they bound what a slow or hostile client can hold.
const (
	// readHeaderTimeout evicts slowloris clients that trickle headers.
	readHeaderTimeout = 5 * time.Second
	// readTimeout bounds reading the whole request.
	readTimeout = 10 * time.Second
	// writeTimeout must outlast dialling the router and waiting for its
	// response headers (DefaultDialTimeout + DefaultResponseHeaderTimeout).
	writeTimeout = 15 * time.Second
	// idleTimeout only matters if keep-alives are ever enabled again.
	idleTimeout = 10 * time.Second
	// maxHeaderBytes answers larger request headers with 431 (Go allows
	// 4 KiB of slack on top).
	maxHeaderBytes = 8 << 10

	// DefaultMaxConnections caps concurrent client connections. A slot costs
	// about 15 KiB, so a full proxy stays near 20 MiB; connections without a
	// request yet are evicted oldest first when it is full (limitListener),
	// and 1024 slots keep a validator's connection from being evicted before
	// it sends its request even while a flood churns through the rest
	// (docs/performance.md, "Flood").
	DefaultMaxConnections = 1024
)

// NewServer returns the HTTP server for handler with the limits above.
// Keep-alives are off: a validator makes one request per connection, and a
// connection that closes after its response frees its slot at once.
func NewServer(handler http.Handler) *http.Server {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// Go would answer "OPTIONS *" itself with a 200; the handler
		// answers it like every other method it does not serve.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     serverErrorLog(),
	}
	srv.SetKeepAlivesEnabled(false)
	// A connection from a limitListener stops being evictable once its
	// request headers are complete, which is when the handler is called.
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, c)
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := r.Context().Value(connKey{}).(*limitedConn); ok {
			c.requestStarted()
		}
		handler.ServeHTTP(w, r)
	})
	return srv
}

type connKey struct{}

// ConnObserver is told when connections are accepted and closed (metrics).
type ConnObserver interface {
	ConnectionOpened()
	ConnectionClosed()
}

// Listen listens on every address of the node on port, IPv4 and IPv6 alike.
// The wildcard is required: REDIRECT rewrites the destination to the
// address of the interface the packet came in on (or to loopback for the
// node's own traffic), not to the VIP. An empty host makes Go open one
// dual-stack socket, and fall back to IPv4 where IPv6 is disabled.
func Listen(port uint16, maxConnections int, observer ConnObserver) (net.Listener, error) {
	ln, err := listenTCP(net.JoinHostPort("", strconv.Itoa(int(port))))
	if err != nil {
		return nil, fmt.Errorf("listening on port %d: %w", port, err)
	}
	return NewLimitListener(ln, maxConnections, observer), nil
}

// listenTCP turns off TCP keep-alive probes on accepted connections. A
// connection lives for one request, bounded by the server's timeouts, so a
// probe would never fire; Go's default would still cost four setsockopt
// calls per connection, a quarter of the system calls a forward makes
// (docs/performance.md).
func listenTCP(address string) (net.Listener, error) {
	return (&net.ListenConfig{KeepAlive: -1}).Listen(context.Background(), "tcp", address)
}

// limitListener accepts at most max connections at a time. When it is full
// and another connection arrives, it closes the oldest connection that has
// not sent its request headers yet to make room: a client holding many
// connections open without a request cannot keep a validator's challenge
// request waiting in the kernel behind them. Only when every slot serves a
// request does it stop accepting, and further connections wait in the
// kernel's listen backlog. Server timeouts bound how long any one connection
// can keep its slot.
type limitListener struct {
	net.Listener
	max       int
	observer  ConnObserver
	closed    chan struct{}
	closeOnce sync.Once
	// freed is signalled when a slot frees, for an Accept holding a
	// connection while every slot serves a request.
	freed chan struct{}

	mu      sync.Mutex
	open    int
	waiting list.List // of *limitedConn without a request yet, oldest first
}

// NewLimitListener wraps ln so that at most max accepted connections are
// open at once.
func NewLimitListener(ln net.Listener, max int, observer ConnObserver) net.Listener {
	return &limitListener{
		Listener: ln,
		max:      max,
		observer: observer,
		closed:   make(chan struct{}),
		freed:    make(chan struct{}, 1),
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &limitedConn{Conn: conn, listener: l}
	var victim *limitedConn
	for {
		l.mu.Lock()
		if l.open >= l.max && l.waiting.Len() > 0 {
			victim = l.waiting.Remove(l.waiting.Front()).(*limitedConn)
			victim.waiting = nil
			l.open-- // victim's slot is c's now; its release gives nothing back
			victim.evicted = true
		}
		if l.open < l.max {
			l.open++
			c.waiting = l.waiting.PushBack(c)
			l.mu.Unlock()
			break
		}
		l.mu.Unlock()
		// Every slot serves a request: hold c until one is answered.
		select {
		case <-l.freed:
		case <-l.closed:
			conn.Close()
			return nil, net.ErrClosed
		}
	}
	if victim != nil {
		if logger := klog.V(4); logger.Enabled() {
			if ok, suppressed := evictionLines.take(time.Now()); ok {
				logger.InfoS("Closed the oldest connection without a request to make room", "client", victim.RemoteAddr(), "maxConnections", l.max, "suppressed", suppressed)
			}
		}
		victim.Close()
	}
	l.observer.ConnectionOpened()
	return c, nil
}

func (l *limitListener) release(c *limitedConn) {
	l.mu.Lock()
	if c.waiting != nil {
		l.waiting.Remove(c.waiting)
		c.waiting = nil
	}
	if !c.evicted {
		l.open--
	}
	l.mu.Unlock()
	l.signal()
	l.observer.ConnectionClosed()
}

func (l *limitListener) signal() {
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

// Close unblocks an Accept waiting for a slot and closes the socket.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	listener    *limitListener
	releaseOnce sync.Once
	// waiting is the connection's place in listener.waiting until its
	// request starts; evicted means its slot went to a newer connection.
	// Both are guarded by listener.mu.
	waiting *list.Element
	evicted bool
}

// requestStarted takes the connection off the eviction list: it has sent a
// complete request, which is being served.
func (c *limitedConn) requestStarted() {
	c.listener.mu.Lock()
	if c.waiting != nil {
		c.listener.waiting.Remove(c.waiting)
		c.waiting = nil
	}
	c.listener.mu.Unlock()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.releaseOnce.Do(func() { c.listener.release(c) })
	return err
}
