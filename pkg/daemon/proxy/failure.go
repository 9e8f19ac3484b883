package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
)

// upstreamFailure is how the proxy answers a forward that got no usable
// response from the ingress VIP.
type upstreamFailure struct {
	status int
	// errorType is the RFC 9209 proxy error type for Proxy-Status.
	errorType string
	// problem says what went wrong, for the body. It never repeats the
	// error's text, which names the node's own address and port.
	problem string
}

// classifyUpstreamError maps a round-trip error to the answer: 504 when the
// upstream did not answer in time, 502 for everything else.
func classifyUpstreamError(err error) upstreamFailure {
	var opErr *net.OpError
	dialFailed := errors.As(err, &opErr) && opErr.Op == "dial"
	switch {
	case errors.Is(err, errNotAnUpstream):
		return upstreamFailure{http.StatusBadGateway, ErrorConfiguration, "the proxy refused to dial an address that is not an ingress VIP"}
	case dialFailed && opErr.Timeout():
		return upstreamFailure{http.StatusGatewayTimeout, ErrorConnectionTimeout, "no connection within the dial timeout"}
	case errors.Is(err, syscall.ECONNREFUSED):
		return upstreamFailure{http.StatusBadGateway, ErrorConnectionRefused, "connection refused"}
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return upstreamFailure{http.StatusBadGateway, ErrorDestinationUnroutable, "no route to the address"}
	case isTimeout(err):
		return upstreamFailure{http.StatusGatewayTimeout, ErrorResponseTimeout, "no response headers within the response timeout"}
	case errors.Is(err, errNotFinalStatus):
		return upstreamFailure{http.StatusBadGateway, ErrorProtocol, "no final response (status 200-599)"}
	case errors.Is(err, errResponseTooLarge):
		return upstreamFailure{http.StatusBadGateway, ErrorResponseBodySize, "response too large"}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, syscall.ECONNRESET):
		return upstreamFailure{http.StatusBadGateway, ErrorConnectionTerminated, "connection closed before a response"}
	}
	return upstreamFailure{http.StatusBadGateway, ErrorProtocol, "no usable HTTP response"}
}

func isTimeout(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout() || errors.Is(err, context.DeadlineExceeded)
}

// summary is the first word of the body, as before Proxy-Status existed:
// what a human skimming a log of status lines needs.
func (f upstreamFailure) summary() string {
	if f.status == http.StatusGatewayTimeout {
		return "upstream timed out"
	}
	return "upstream unavailable"
}
