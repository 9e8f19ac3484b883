package proxy

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// Server limits. A challenge request is one small GET answered with a few
// hundred bytes, so every limit can be tight; together with the connection
// cap they bound what a slow or hostile client can hold.
const (
	// readHeaderTimeout evicts slowloris clients that trickle headers: the
	// whole head must be in within it, however slowly it comes. No request
	// has a body, so it bounds reading the request.
	readHeaderTimeout = 5 * time.Second
	// writeTimeout bounds the whole exchange from the first byte read; it
	// must outlast dialling the router, waiting for its response and
	// reading its body (DefaultDialTimeout + 2 DefaultResponseHeaderTimeout).
	writeTimeout = 15 * time.Second
	// maxHeaderBytes is the size of request headers answered with 431
	// (4 KiB more are allowed for the request line, as net/http does).
	maxHeaderBytes = 8 << 10

	// DefaultMaxConnections caps concurrent client connections. A slot costs
	// about 15 KiB, so a full proxy stays near 20 MiB; connections without a
	// request yet are evicted oldest first when it is full (limitListener),
	// and 1024 slots keep a validator's connection from being evicted before
	// it sends its request even while a flood churns through the rest
	// (docs/performance.md, "Flood").
	DefaultMaxConnections = 1024
)

// Server serves the proxy port: one request per connection, read by
// parseRequest, answered by the Handler, then the connection is closed.
// Keep-alives are off: a validator makes one request per connection, and a
// connection that closes after its response frees its slot at once.
type Server struct {
	handler *Handler
	// work hands accepted connections to idle workers (see dispatch).
	work chan connJob

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	closing   bool
	active    sync.WaitGroup
}

// NewServer returns the proxy's server for handler.
func NewServer(handler *Handler) *Server {
	return &Server{handler: handler, work: make(chan connJob), listeners: map[net.Listener]struct{}{}, conns: map[net.Conn]struct{}{}}
}

// Serve accepts connections on ln until it is closed. It returns
// net.ErrClosed after Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return net.ErrClosed
	}
	s.listeners[ln] = struct{}{}
	s.mu.Unlock()
	var tempDelay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing || errors.Is(err, net.ErrClosed) {
				return net.ErrClosed
			}
			// Out of descriptors, say: back off as net/http does, rather
			// than spin or give up the port.
			tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
			time.Sleep(tempDelay)
			continue
		}
		tempDelay = 0
		if !s.track(conn) {
			conn.Close()
			return net.ErrClosed
		}
		if buf, n, answered := s.serveReady(conn); !answered {
			s.dispatch(connJob{conn, buf, n})
			// Let it run: while connections keep arriving, this loop never
			// blocks, and would hold its thread for a whole time slice
			// with every goroutine it started queued behind it.
			runtime.Gosched()
		}
	}
}

// connJob is an accepted connection and the bytes read from it so far.
type connJob struct {
	conn net.Conn
	buf  *[maxHeadBytes]byte
	n    int
}

// workerIdleTimeout is how long a worker waits for another connection
// before it exits, so that the goroutines a burst started do not outlive
// it for long.
const workerIdleTimeout = 10 * time.Second

// dispatch serves job on an idle worker, or on a new one. Workers are
// reused because a new goroutine's stack grows, by copying, to what a
// forward needs, on every connection.
func (s *Server) dispatch(job connJob) {
	select {
	case s.work <- job:
	default:
		go s.worker(job)
	}
}

func (s *Server) worker(job connJob) {
	idle := time.NewTimer(workerIdleTimeout)
	defer idle.Stop()
	for {
		s.serveConn(job.conn, job.buf, job.n)
		idle.Reset(workerIdleTimeout)
		select {
		case job = <-s.work:
		case <-idle.C:
			return
		}
	}
}

// serveReady answers, in the accepting goroutine, a request that needs
// nothing but the CPU: one whose head is already in the socket and that is
// rejected. Anything that has to wait, for more of the request, for room
// to write or for the router, goes to a goroutine of its own with the
// bytes read so far. Handing each rejection to a new goroutine would cost
// more than the rejection: a wake-up of another thread to run it, and that
// thread's spinning for work once it is done.
func (s *Server) serveReady(conn net.Conn) (buf *[maxHeadBytes]byte, n int, answered bool) {
	buf = heads.Get().(*[maxHeadBytes]byte)
	socket := socketOf(conn)
	if socket == nil {
		return buf, 0, false
	}
	socket.setNoWait(true)
	defer socket.setNoWait(false)
	n, err := socket.Read(buf[:])
	if err != nil {
		return buf, 0, false // errWouldBlock, or the client is gone: serveConn sees which
	}
	end := headEnd(buf[:n], 0)
	if end < 0 {
		return buf, n, false
	}
	req, perr := parseRequest(buf[:end])
	if perr != nil || req.HasBody {
		return buf, n, false // refused or lingering: both may wait
	}
	decision := Classify(req.classifierInput())
	if decision.Forward() {
		return buf, n, false
	}
	if c, ok := conn.(*limitedConn); ok {
		c.requestStarted()
	}
	s.handler.reject(conn, &req, decision.Reject)
	conn.Close()
	s.untrack(conn)
	heads.Put(buf)
	return nil, 0, true
}

// socketOf is the proxy's own socket under conn, if it is one.
func socketOf(conn net.Conn) *socketConn {
	if c, ok := conn.(*limitedConn); ok {
		conn = c.Conn
	}
	socket, _ := conn.(*socketConn)
	return socket
}

func (s *Server) track(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.conns[conn] = struct{}{}
	s.active.Add(1)
	return true
}

func (s *Server) untrack(conn net.Conn) {
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
	s.active.Done()
}

// Shutdown stops accepting, closes the connections that have not sent a
// complete request yet, and waits until the others are answered or ctx is
// done.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closeListeners()
	s.mu.Lock()
	for conn := range s.conns {
		if c, ok := conn.(*limitedConn); ok && c.idle() {
			conn.Close()
		}
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.active.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting and closes every connection.
func (s *Server) Close() error {
	s.closeListeners()
	s.mu.Lock()
	for conn := range s.conns {
		conn.Close()
	}
	s.mu.Unlock()
	return nil
}

func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	clear(s.listeners)
}

// heads lends each connection the buffer its request head is read into.
var heads = sync.Pool{New: func() any { return new([maxHeadBytes]byte) }}

// serveConn serves conn, of which n bytes are in buf already.
func (s *Server) serveConn(conn net.Conn, buf *[maxHeadBytes]byte, n int) {
	defer s.untrack(conn)
	defer heads.Put(buf)
	start := time.Now()
	conn.SetReadDeadline(start.Add(readHeaderTimeout))
	head, err := readHead(conn, buf[:], n)
	if head == nil && err == nil {
		conn.Close() // closed or timed out before sending anything
		return
	}
	if c, ok := conn.(*limitedConn); ok {
		c.requestStarted()
	}
	conn.SetDeadline(start.Add(writeTimeout))
	var req wireRequest
	if err == nil {
		req, err = parseRequest(head)
	}
	linger := false
	if err != nil {
		s.handler.refuse(conn, err)
		// The rest of a request that was too large, or is never read, may
		// still be on its way: see closeAfterResponse.
		linger = true
	} else {
		s.handler.serve(conn, &req)
		linger = req.HasBody
	}
	closeAfterResponse(conn, linger)
}

// readHead reads until the request head is complete, the buffer is full
// (errHeadTooLarge) or the first line is not HTTP; the first n bytes of buf
// were read already. It returns a nil head and nil error when the client
// sent nothing before closing or timing out.
func readHead(conn net.Conn, buf []byte, n int) ([]byte, *requestError) {
	searched, lineChecked := 0, false
	for first := true; ; first = false {
		var err error
		if !first || n == 0 {
			var m int
			m, err = conn.Read(buf[n:])
			n += m
		}
		if !lineChecked {
			if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
				lineChecked = true
				line, _, ok := nextLine(buf[:i+1])
				if !ok {
					return buf[:n], errMalformedRequest
				}
				if _, _, _, err := parseRequestLine(line); err != nil {
					return buf[:n], err
				}
			}
		}
		if end := headEnd(buf[:n], searched); end >= 0 {
			return buf[:end], nil
		}
		searched = max(n-2, 0)
		if n == len(buf) {
			return buf[:n], errHeadTooLarge
		}
		if err != nil {
			if n == 0 {
				return nil, nil
			}
			// Cut off mid-request: by the read-header timeout (slowloris),
			// or the client gave up.
			return buf[:n], errHeadIncomplete
		}
	}
}

// lingerTimeout is how long a connection is read after its response when
// the client may still be sending: closing a socket with unread data resets
// the connection, and the reset can destroy the response before the client
// reads it (net/http waits the same).
const lingerTimeout = 500 * time.Millisecond

// closeAfterResponse closes conn; with linger it first ends our side and
// reads what the client still sends, for up to lingerTimeout.
func closeAfterResponse(conn net.Conn, linger bool) {
	if linger {
		if cw, ok := conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			conn.SetReadDeadline(time.Now().Add(lingerTimeout))
			var discard [512]byte
			for {
				if _, err := conn.Read(discard[:]); err != nil {
					break
				}
			}
		}
	}
	conn.Close()
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
	ln, err := listenTCP(net.JoinHostPort("", strconv.Itoa(int(port))))
	if err != nil {
		return nil, fmt.Errorf("listening on port %d: %w", port, err)
	}
	return NewLimitListener(ln, maxConnections, observer), nil
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

// idle reports whether the connection has not sent a complete request.
func (c *limitedConn) idle() bool {
	c.listener.mu.Lock()
	defer c.listener.mu.Unlock()
	return c.waiting != nil
}

// CloseWrite ends our side of the connection (see closeAfterResponse).
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.releaseOnce.Do(func() { c.listener.release(c) })
	return err
}
