package proxy

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The proxy drives its sockets with system calls of its own and enters Go's
// poller only when a socket has to be waited on. A connection carries one
// small request and one small answer, which are nearly always ready: the
// listener defers accepting until the request has arrived, and an answer of
// a few hundred bytes fits an empty send buffer. Go's net package would
// register every socket with epoll, unregister it on close and ask for
// addresses and options that a one-request connection never uses
// (docs/performance.md, "System calls").

// deferAcceptSeconds is TCP_DEFER_ACCEPT on the proxy's listener: the kernel
// completes the handshake but wakes the accept only once the request's first
// bytes are in, or after about this long. Connections that send nothing
// wait in the kernel meanwhile, not in one of the proxy's slots.
const deferAcceptSeconds = 5

// listenTCP listens on address, an IP literal and a port, or an empty host
// for every address of the node, IPv4 and IPv6 alike (one dual-stack
// socket, or IPv4 only where IPv6 is disabled). Accepted sockets keep the
// kernel's default of no TCP keep-alive probes: a connection lives for one
// request, bounded by the server's timeouts.
func listenTCP(address string) (net.Listener, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", portText, err)
	}
	if host != "" {
		addr, err := netip.ParseAddr(host)
		if err != nil {
			return nil, fmt.Errorf("listening on %q: the host must be an IP address: %w", address, err)
		}
		return listenSocket(netip.AddrPortFrom(addr, uint16(port)), false)
	}
	ln, err := listenSocket(netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port)), true)
	if errors.Is(err, syscall.EAFNOSUPPORT) {
		return listenSocket(netip.AddrPortFrom(netip.IPv4Unspecified(), uint16(port)), false)
	}
	return ln, err
}

func listenSocket(local netip.AddrPort, dualStack bool) (net.Listener, error) {
	domain, sa := socketAddress(local)
	fd, err := syscall.Socket(domain, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if err != nil {
		return nil, os.NewSyscallError("socket", err)
	}
	if err := setListenerOptions(fd, domain, dualStack); err != nil {
		syscall.Close(fd)
		return nil, err
	}
	if err := syscall.Bind(fd, sa); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("bind", err)
	}
	if err := syscall.Listen(fd, listenBacklog()); err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("listen", err)
	}
	bound, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return nil, os.NewSyscallError("getsockname", err)
	}
	file := os.NewFile(uintptr(fd), "tcp-listener")
	raw, err := file.SyscallConn()
	if err != nil {
		file.Close()
		return nil, err
	}
	return &socketListener{file: file, raw: raw, addr: net.TCPAddrFromAddrPort(sockaddrAddrPort(bound))}, nil
}

// setListenerOptions: SO_REUSEADDR so that a restarted daemon can listen
// while the old one's connections linger in TIME_WAIT, TCP_DEFER_ACCEPT,
// and for IPv6 whether the socket takes IPv4 too.
func setListenerOptions(fd, domain int, dualStack bool) error {
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return os.NewSyscallError("setsockopt SO_REUSEADDR", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_DEFER_ACCEPT, deferAcceptSeconds); err != nil {
		return os.NewSyscallError("setsockopt TCP_DEFER_ACCEPT", err)
	}
	if domain != syscall.AF_INET6 {
		return nil
	}
	v6only := 1
	if dualStack {
		v6only = 0
	}
	return os.NewSyscallError("setsockopt IPV6_V6ONLY", syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, v6only))
}

// listenBacklog is the kernel's cap on accept queues, as Go's net uses.
func listenBacklog() int {
	b, err := os.ReadFile("/proc/sys/net/core/somaxconn")
	if err != nil {
		return syscall.SOMAXCONN
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || n <= 0 {
		return syscall.SOMAXCONN
	}
	return min(n, 1<<16-1)
}

// socketListener accepts with accept4 and waits in Go's poller only when no
// connection is ready.
type socketListener struct {
	file   *os.File
	raw    syscall.RawConn
	addr   *net.TCPAddr
	closed atomic.Bool
}

func (l *socketListener) Addr() net.Addr { return l.addr }

func (l *socketListener) Close() error {
	if l.closed.Swap(true) {
		return net.ErrClosed
	}
	return l.file.Close() // wakes an Accept waiting on it
}

func (l *socketListener) Accept() (net.Conn, error) {
	for {
		var fd int
		var remote netip.AddrPort
		var err error
		if rerr := l.raw.Read(func(lfd uintptr) bool {
			fd, remote, err = rawAccept4(int(lfd))
			return err != syscall.EAGAIN
		}); rerr != nil {
			if l.closed.Load() {
				return nil, net.ErrClosed
			}
			return nil, rerr
		}
		if err == syscall.ECONNABORTED {
			continue // the client gave up while it waited in the backlog
		}
		if err != nil {
			return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.addr, Err: os.NewSyscallError("accept4", err)}
		}
		return &socketConn{fd: fd, remote: net.TCPAddrFromAddrPort(remote)}, nil
	}
}

// socketConn is a non-blocking TCP socket. Reads and writes are tried with
// a system call first; the first one that would block hands the socket to
// Go's poller (as an *os.File, which honours deadlines), and from then on
// it is waited on like any net.Conn.
type socketConn struct {
	remote *net.TCPAddr

	// mu orders the system calls made before the hand-over against Close,
	// so that none can reach the descriptor number once it is closed and
	// maybe reused.
	mu     sync.Mutex
	fd     int
	closed bool
	// polled is the socket once it is in the poller, whose own locking
	// takes over from mu; raw waits on it.
	polled *os.File
	raw    syscall.RawConn
	// noWait makes a read or write that would block fail with
	// errWouldBlock instead (see Server.serveReady).
	noWait        bool
	readDeadline  time.Time
	writeDeadline time.Time
}

// errWouldBlock is a read or write refused by noWait.
var errWouldBlock = errors.New("socket not ready")

func (c *socketConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.polled == nil {
		if c.closed {
			c.mu.Unlock()
			return 0, c.opError("read", net.ErrClosed)
		}
		n, err := rawRead(c.fd, p)
		if err != syscall.EAGAIN {
			c.mu.Unlock()
			switch {
			case err != nil:
				return 0, c.opError("read", os.NewSyscallError("read", err))
			case n == 0 && len(p) > 0:
				return 0, io.EOF
			}
			return n, nil
		}
		if c.noWait {
			c.mu.Unlock()
			return 0, errWouldBlock
		}
		c.poll()
	}
	raw := c.raw
	c.mu.Unlock()
	var n int
	var err error
	if werr := raw.Read(func(fd uintptr) bool {
		n, err = rawRead(int(fd), p)
		return err != syscall.EAGAIN
	}); werr != nil {
		return 0, c.opError("read", werr) // closed, or past the deadline
	}
	switch {
	case err != nil:
		return 0, c.opError("read", os.NewSyscallError("read", err))
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}

func (c *socketConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	n := 0
	if c.polled == nil {
		if c.closed {
			c.mu.Unlock()
			return 0, c.opError("write", net.ErrClosed)
		}
		for n < len(p) {
			m, err := rawWrite(c.fd, p[n:])
			if err == syscall.EAGAIN {
				break
			}
			if err != nil {
				c.mu.Unlock()
				return n, c.opError("write", os.NewSyscallError("write", err))
			}
			n += m
		}
		if n == len(p) {
			c.mu.Unlock()
			return n, nil
		}
		if c.noWait {
			c.mu.Unlock()
			return n, errWouldBlock
		}
		c.poll()
	}
	raw := c.raw
	c.mu.Unlock()
	var err error
	if werr := raw.Write(func(fd uintptr) bool {
		for n < len(p) {
			var m int
			if m, err = rawWrite(int(fd), p[n:]); err != nil {
				return err != syscall.EAGAIN
			}
			n += m
		}
		return true
	}); werr != nil {
		return n, c.opError("write", werr)
	}
	if err != nil {
		return n, c.opError("write", os.NewSyscallError("write", err))
	}
	return n, nil
}

// poll hands the socket to Go's poller. Called with mu held.
func (c *socketConn) poll() {
	c.polled = os.NewFile(uintptr(c.fd), "tcp")
	c.raw, _ = c.polled.SyscallConn() // fails only on a closed file
	c.polled.SetReadDeadline(c.readDeadline)
	c.polled.SetWriteDeadline(c.writeDeadline)
}

func (c *socketConn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return c.opError("close", net.ErrClosed)
	}
	c.closed = true
	if c.polled != nil {
		return c.polled.Close() // also wakes a Read or Write waiting on it
	}
	return rawClose(c.fd)
}

// CloseWrite sends our FIN (see closeAfterResponse).
func (c *socketConn) CloseWrite() error {
	return c.control(func(fd int) error { return syscall.Shutdown(fd, syscall.SHUT_WR) })
}

func (c *socketConn) control(f func(fd int) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return net.ErrClosed
	}
	if c.polled == nil {
		return f(c.fd)
	}
	raw, err := c.polled.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func (c *socketConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

func (c *socketConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.readDeadline = t
	if c.polled != nil {
		return c.polled.SetReadDeadline(t)
	}
	return nil
}

func (c *socketConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeDeadline = t
	if c.polled != nil {
		return c.polled.SetWriteDeadline(t)
	}
	return nil
}

func (c *socketConn) setNoWait(on bool) {
	c.mu.Lock()
	c.noWait = on
	c.mu.Unlock()
}

func (c *socketConn) RemoteAddr() net.Addr { return c.remote }

// LocalAddr asks the kernel: nothing on the request path needs it.
func (c *socketConn) LocalAddr() net.Addr {
	addr := &net.TCPAddr{}
	c.control(func(fd int) error {
		sa, err := syscall.Getsockname(fd)
		if err == nil {
			addr = net.TCPAddrFromAddrPort(sockaddrAddrPort(sa))
		}
		return err
	})
	return addr
}

func (c *socketConn) opError(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Addr: c.remote, Err: err}
}

// dialAndWrite connects to target within timeout and sends request. The
// request is written as soon as connect returns: on a node's network the
// handshake has often completed by then, and the write then saves waiting
// in the poller for it. Failures to connect are *net.OpError with Op
// "dial", like net's.
func dialAndWrite(target netip.AddrPort, timeout time.Duration, request []byte) (*socketConn, error) {
	domain, _ := socketAddress(target)
	fd, err := rawSocket(domain)
	if err != nil {
		return nil, dialFailure(target, os.NewSyscallError("socket", err))
	}
	c := &socketConn{fd: fd, remote: net.TCPAddrFromAddrPort(target)}
	switch err := rawConnect(fd, target); err {
	case nil, syscall.EINPROGRESS, syscall.EINTR:
	default:
		rawClose(fd)
		return nil, dialFailure(target, os.NewSyscallError("connect", err))
	}
	// EAGAIN while the handshake is under way; a failed handshake's error
	// (ECONNREFUSED) once it is over.
	n, err := rawWrite(fd, request)
	// A router that cannot take a request of a few hundred bytes within
	// the dial timeout is as good as down.
	c.writeDeadline = time.Now().Add(timeout)
	if err == nil {
		if n < len(request) {
			if _, err := c.Write(request[n:]); err != nil {
				c.Close()
				return nil, err
			}
		}
		return c, nil
	}
	if err != syscall.EAGAIN {
		c.Close()
		return nil, dialFailure(target, os.NewSyscallError("connect", err))
	}
	if err := c.awaitConnected(); err != nil {
		c.Close()
		return nil, dialFailure(target, err)
	}
	if _, err := c.Write(request); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// awaitConnected waits in the poller until the handshake has completed or
// failed: the socket turns writable either way, and SO_ERROR tells which.
// It waits until the write deadline.
func (c *socketConn) awaitConnected() error {
	c.mu.Lock()
	c.poll()
	raw := c.raw
	c.mu.Unlock()
	// An edge-triggered poller reports changes only, and the handshake may
	// have ended before the socket entered it: the state is checked before
	// the first wait, and after every wake-up.
	var connectErr error
	if err := raw.Write(func(fd uintptr) bool {
		errno, err := rawSocketError(int(fd))
		switch {
		case err != nil:
			connectErr = os.NewSyscallError("getsockopt", err)
		case errno != 0:
			connectErr = os.NewSyscallError("connect", errno)
		default:
			return rawConnected(int(fd)) // or still connecting
		}
		return true
	}); err != nil {
		return err
	}
	return connectErr
}

func dialFailure(target netip.AddrPort, err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: net.TCPAddrFromAddrPort(target), Err: err}
}

func socketAddress(ap netip.AddrPort) (int, syscall.Sockaddr) {
	if addr := ap.Addr().Unmap(); addr.Is4() {
		return syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: addr.As4()}
	}
	return syscall.AF_INET6, &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
}

func sockaddrAddrPort(sa syscall.Sockaddr) netip.AddrPort {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *syscall.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return netip.AddrPort{}
}
