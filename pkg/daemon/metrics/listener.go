package metrics

import (
	"crypto/tls"
	"net"
	"net/http"
	"slices"
	"sync"
)

// evictingListener accepts at most max connections at a time. When it is
// full, a new connection closes the oldest one that is not serving a
// request, so that a flood of idle connections to a port reachable from the
// network can neither keep Prometheus out nor cut off a scrape in progress.
// Only when every slot serves a request does Accept wait.
//
// It is not the proxy's limit listener: that one knows a request has started
// from its own parser, this one from net/http's connection states
// (trackRequests), and for TLS those say "active" only after the handshake
// verified a client certificate, so a client without one never holds a slot
// against eviction.
type evictingListener struct {
	net.Listener
	max       int
	freed     chan struct{}
	closed    chan struct{}
	closeOnce sync.Once

	mu    sync.Mutex
	conns []*trackedConn // oldest first
}

func newEvictingListener(ln net.Listener, max int) *evictingListener {
	return &evictingListener{Listener: ln, max: max, freed: make(chan struct{}, 1), closed: make(chan struct{})}
}

func (l *evictingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &trackedConn{Conn: conn, listener: l}
	for {
		victim, admitted := l.admit(c)
		if victim != nil {
			victim.Close()
		}
		if admitted {
			return c, nil
		}
		select {
		case <-l.freed:
		case <-l.closed:
			conn.Close()
			return nil, net.ErrClosed
		}
	}
}

// admit takes a slot for c, evicting the oldest connection without a request
// if there is no free one. It reports false when every slot serves a request.
func (l *evictingListener) admit(c *trackedConn) (victim *trackedConn, admitted bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) >= l.max {
		i := slices.IndexFunc(l.conns, func(c *trackedConn) bool { return !c.busy })
		if i < 0 {
			return nil, false
		}
		victim = l.conns[i]
		l.conns = slices.Delete(l.conns, i, i+1)
	}
	l.conns = append(l.conns, c)
	return victim, true
}

func (l *evictingListener) release(c *trackedConn) {
	l.mu.Lock()
	if i := slices.Index(l.conns, c); i >= 0 {
		l.conns = slices.Delete(l.conns, i, i+1)
	}
	l.mu.Unlock()
	select {
	case l.freed <- struct{}{}:
	default:
	}
}

// Close unblocks an Accept waiting for a slot and closes the socket.
func (l *evictingListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

type trackedConn struct {
	net.Conn
	listener  *evictingListener
	busy      bool // serving a request; guarded by listener.mu
	closeOnce sync.Once
}

func (c *trackedConn) setBusy(busy bool) {
	c.listener.mu.Lock()
	c.busy = busy
	c.listener.mu.Unlock()
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.listener.release(c) })
	return err
}

// trackRequests is the http.Server ConnState hook that marks a connection
// busy from the moment net/http has read a request on it until it is idle
// again between requests.
func trackRequests(conn net.Conn, state http.ConnState) {
	if tlsConn, ok := conn.(*tls.Conn); ok {
		conn = tlsConn.NetConn()
	}
	c, ok := conn.(*trackedConn)
	if !ok {
		return
	}
	switch state {
	case http.StateActive:
		c.setBusy(true)
	case http.StateIdle:
		c.setBusy(false)
	}
}
