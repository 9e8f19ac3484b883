package proxy

import (
	"net/netip"
	"syscall"
	"unsafe"
)

// The socket calls of a request are made with RawSyscall, which skips the
// runtime's entersyscall/exitsyscall. They never block: every socket is
// non-blocking, and waiting is the poller's. A call through syscall.Syscall
// wakes the runtime's sysmon thread whenever every P was idle, and a woken
// sysmon polls every 20 µs for the next millisecond: with one request at a
// time, that was 3.3 wake-ups and 36 µs of CPU per request
// (docs/performance.md, "Where the CPU goes").

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

func rawRead(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e != syscall.EINTR {
			return int(n), errnoErr(e)
		}
	}
}

func rawWrite(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e != syscall.EINTR {
			return int(n), errnoErr(e)
		}
	}
}

// rawClose closes a socket that is not in the poller. Without SO_LINGER,
// close only queues the FIN and never waits.
func rawClose(fd int) error {
	_, _, e := syscall.RawSyscall(syscall.SYS_CLOSE, uintptr(fd), 0, 0)
	return errnoErr(e)
}

func rawAccept4(lfd int) (int, netip.AddrPort, error) {
	var sa syscall.RawSockaddrAny
	for {
		size := uint32(syscall.SizeofSockaddrAny)
		fd, _, e := syscall.RawSyscall6(syscall.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&size)),
			syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0, 0)
		if e != syscall.EINTR {
			if e != 0 {
				return -1, netip.AddrPort{}, e
			}
			return int(fd), rawAddrPort(&sa), nil
		}
	}
}

func rawSocket(domain int) (int, error) {
	fd, _, e := syscall.RawSyscall(syscall.SYS_SOCKET, uintptr(domain), syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, syscall.IPPROTO_TCP)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// rawConnect starts a non-blocking connect: EINPROGRESS while the
// handshake is under way.
func rawConnect(fd int, target netip.AddrPort) error {
	var e syscall.Errno
	if addr := target.Addr().Unmap(); addr.Is4() {
		sa := syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: addr.As4()}
		putPort(&sa.Port, target.Port())
		_, _, e = syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), syscall.SizeofSockaddrInet4)
	} else {
		sa := syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: target.Addr().As16()}
		putPort(&sa.Port, target.Port())
		_, _, e = syscall.RawSyscall(syscall.SYS_CONNECT, uintptr(fd), uintptr(unsafe.Pointer(&sa)), syscall.SizeofSockaddrInet6)
	}
	return errnoErr(e)
}

// rawSocketError is SO_ERROR: the result of a finished connect.
func rawSocketError(fd int) (syscall.Errno, error) {
	var value int32
	size := uint32(4)
	_, _, e := syscall.RawSyscall6(syscall.SYS_GETSOCKOPT, uintptr(fd), syscall.SOL_SOCKET, syscall.SO_ERROR,
		uintptr(unsafe.Pointer(&value)), uintptr(unsafe.Pointer(&size)), 0)
	return syscall.Errno(value), errnoErr(e)
}

// rawConnected reports whether the socket has a peer (getpeername).
func rawConnected(fd int) bool {
	var sa syscall.RawSockaddrAny
	size := uint32(syscall.SizeofSockaddrAny)
	_, _, e := syscall.RawSyscall(syscall.SYS_GETPEERNAME, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&size)))
	return e == 0
}

// putPort stores port in network byte order.
func putPort(field *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(field))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(field *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(field))
	return uint16(b[0])<<8 | uint16(b[1])
}

func rawAddrPort(sa *syscall.RawSockaddrAny) netip.AddrPort {
	switch sa.Addr.Family {
	case syscall.AF_INET:
		in := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), getPort(&in.Port))
	case syscall.AF_INET6:
		in := (*syscall.RawSockaddrInet6)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom16(in.Addr).Unmap(), getPort(&in.Port))
	}
	return netip.AddrPort{}
}
