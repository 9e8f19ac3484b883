package proxy

import (
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

	// DefaultMaxConnections caps concurrent client connections.
	DefaultMaxConnections = 256
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
		ErrorLog:                     klog.NewStandardLogger("WARNING"),
	}
	srv.SetKeepAlivesEnabled(false)
	return srv
}

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
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(int(port))))
	if err != nil {
		return nil, fmt.Errorf("listening on port %d: %w", port, err)
	}
	return NewLimitListener(ln, maxConnections, observer), nil
}

// limitListener accepts at most max connections at a time. When full, it
// stops calling accept: further connections wait in the kernel's listen
// backlog, costing this process no memory, until a slot frees up. Server
// timeouts bound how long any one connection can keep its slot.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	observer  ConnObserver
}

// NewLimitListener wraps ln so that at most max accepted connections are
// open at once.
func NewLimitListener(ln net.Listener, max int, observer ConnObserver) net.Listener {
	return &limitListener{
		Listener: ln,
		slots:    make(chan struct{}, max),
		closed:   make(chan struct{}),
		observer: observer,
	}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.closed:
		return nil, net.ErrClosed
	}
	conn, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	l.observer.ConnectionOpened()
	return &limitedConn{Conn: conn, release: l.release}, nil
}

func (l *limitListener) release() {
	<-l.slots
	l.observer.ConnectionClosed()
}

// Close unblocks an Accept waiting for a slot and closes the socket.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

type limitedConn struct {
	net.Conn
	releaseOnce sync.Once
	release     func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.releaseOnce.Do(c.release)
	return err
}
