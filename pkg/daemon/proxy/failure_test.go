package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
)

// responseHeaderTimeout has the shape of net/http's error for
// ResponseHeaderTimeout: a timeout that is not a dial error.
type responseHeaderTimeout struct{}

func (responseHeaderTimeout) Error() string   { return "net/http: timeout awaiting response headers" }
func (responseHeaderTimeout) Timeout() bool   { return true }
func (responseHeaderTimeout) Temporary() bool { return true }

func dialError(err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Err: err}
}

func TestClassifyUpstreamError(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		expect upstreamFailure
	}{
		{"refused", dialError(os.NewSyscallError("connect", syscall.ECONNREFUSED)),
			upstreamFailure{http.StatusBadGateway, ErrorConnectionRefused, "connection refused"}},
		{"dial timeout", dialError(os.ErrDeadlineExceeded),
			upstreamFailure{http.StatusGatewayTimeout, ErrorConnectionTimeout, "no connection within the dial timeout"}},
		{"host unreachable", dialError(os.NewSyscallError("connect", syscall.EHOSTUNREACH)),
			upstreamFailure{http.StatusBadGateway, ErrorDestinationUnroutable, "no route to the address"}},
		{"network unreachable", dialError(os.NewSyscallError("connect", syscall.ENETUNREACH)),
			upstreamFailure{http.StatusBadGateway, ErrorDestinationUnroutable, "no route to the address"}},
		{"response header timeout", responseHeaderTimeout{},
			upstreamFailure{http.StatusGatewayTimeout, ErrorResponseTimeout, "no response headers within the response timeout"}},
		{"context deadline", fmt.Errorf("round trip: %w", context.DeadlineExceeded),
			upstreamFailure{http.StatusGatewayTimeout, ErrorResponseTimeout, "no response headers within the response timeout"}},
		{"body over the cap", fmt.Errorf("%w: Content-Length 70000", errResponseTooLarge),
			upstreamFailure{http.StatusBadGateway, ErrorResponseBodySize, "response too large"}},
		{"closed without an answer", fmt.Errorf("transport: %w", io.EOF),
			upstreamFailure{http.StatusBadGateway, ErrorConnectionTerminated, "connection closed before a response"}},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)},
			upstreamFailure{http.StatusBadGateway, ErrorConnectionTerminated, "connection closed before a response"}},
		{"guard refused the address", fmt.Errorf("refusing to dial %q: %w", "10.0.0.1:80", errNotAnUpstream),
			upstreamFailure{http.StatusBadGateway, ErrorConfiguration, "the proxy refused to dial an address that is not an ingress VIP"}},
		{"malformed response", errors.New(`malformed HTTP response "SSH-2.0"`),
			upstreamFailure{http.StatusBadGateway, ErrorProtocol, "no usable HTTP response"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := classifyUpstreamError(tc.err); got != tc.expect {
				t.Errorf("classifyUpstreamError(%v) = %+v, want %+v", tc.err, got, tc.expect)
			}
		})
	}
}
