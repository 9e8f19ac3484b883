package proxy

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"syscall"
	"testing"
	"time"
)

// acceptedPair is a client connection and the proxy's socketConn for it,
// accepted once the client's first bytes are in.
func acceptedPair(t *testing.T, first string) (client net.Conn, server *socketConn) {
	t.Helper()
	ln, err := listenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if _, err := io.WriteString(client, first); err != nil {
		t.Fatal(err)
	}
	conn, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return client, conn.(*socketConn)
}

// A read that finds nothing waits in the poller for the rest, and wakes
// when it comes.
func TestSocketConnWaitsForTheRestOfARequest(t *testing.T) {
	client, server := acceptedPair(t, "GET / HTTP/1.1\r\n")
	buf := make([]byte, 64)
	n, err := server.Read(buf)
	if err != nil || string(buf[:n]) != "GET / HTTP/1.1\r\n" {
		t.Fatalf("first read: %q, %v", buf[:n], err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		io.WriteString(client, "Host: x\r\n\r\n")
	}()
	server.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err = server.Read(buf)
	if err != nil || string(buf[:n]) != "Host: x\r\n\r\n" {
		t.Fatalf("read after waiting: %q, %v", buf[:n], err)
	}
	if server.polled == nil {
		t.Error("the socket never entered the poller, so this test did not wait")
	}
}

// A deadline set before the socket entered the poller still applies there,
// and reads as a timeout (the slowloris defence depends on it).
func TestSocketConnDeadlineCarriesOverToThePoller(t *testing.T) {
	_, server := acceptedPair(t, "G")
	server.Read(make([]byte, 1))
	server.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	_, err := server.Read(make([]byte, 1))
	if !errors.Is(err, os.ErrDeadlineExceeded) || !isTimeout(err) {
		t.Fatalf("read past the deadline: %v, want a timeout", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("the read returned after %v, want about 50ms", waited)
	}
}

// Close from another goroutine (eviction, Shutdown) wakes a waiting read.
func TestSocketConnCloseWakesAWaitingRead(t *testing.T) {
	_, server := acceptedPair(t, "G")
	server.Read(make([]byte, 1))
	done := make(chan error, 1)
	go func() { _, err := server.Read(make([]byte, 1)); done <- err }()
	time.Sleep(50 * time.Millisecond)
	server.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Error("read on a closed socket succeeded")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not wake the read")
	}
	if _, err := server.Read(make([]byte, 1)); err == nil {
		t.Error("read after Close succeeded")
	}
}

// noWait, the accepting goroutine's mode, never waits.
func TestSocketConnNoWaitRefusesToBlock(t *testing.T) {
	_, server := acceptedPair(t, "G")
	server.Read(make([]byte, 1))
	server.setNoWait(true)
	if _, err := server.Read(make([]byte, 1)); !errors.Is(err, errWouldBlock) {
		t.Fatalf("read with nothing to read: %v, want errWouldBlock", err)
	}
	if server.polled != nil {
		t.Error("noWait handed the socket to the poller")
	}
}

// A refused connection is a dial error naming ECONNREFUSED, whether the
// handshake failed before or after the first write.
func TestDialAndWriteReportsARefusedConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).AddrPort()
	ln.Close()
	_, err = dialAndWrite(closed, time.Second, []byte("GET / HTTP/1.1\r\n\r\n"))
	var opErr *net.OpError
	if !errors.As(err, &opErr) || opErr.Op != "dial" || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial to a closed port: %v, want a dial error with ECONNREFUSED", err)
	}
}

func TestListenTCPRefusesHostNames(t *testing.T) {
	if ln, err := listenTCP("localhost:0"); err == nil {
		ln.Close()
		t.Fatal("listenTCP accepted a host name")
	}
}

func TestSockaddrRoundTrip(t *testing.T) {
	for _, ap := range []netip.AddrPort{
		netip.MustParseAddrPort("192.0.2.5:80"),
		netip.MustParseAddrPort("[2001:db8::5]:80"),
	} {
		if _, sa := socketAddress(ap); sockaddrAddrPort(sa) != ap {
			t.Errorf("%s → %v → %s", ap, sa, sockaddrAddrPort(sa))
		}
	}
	// A dual-stack listener sees IPv4 clients as IPv4-mapped addresses.
	mapped := &syscall.SockaddrInet6{Port: 80, Addr: netip.MustParseAddr("::ffff:192.0.2.5").As16()}
	if got := sockaddrAddrPort(mapped); got != netip.MustParseAddrPort("192.0.2.5:80") {
		t.Errorf("mapped client = %s, want 192.0.2.5:80", got)
	}
}
