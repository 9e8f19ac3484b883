package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// oneShotTransport makes one HTTP/1.1 exchange per connection: dial, send
// the request with "Connection: close", read the response, close the
// connection with the body. That is what http.Transport does with
// DisableKeepAlives, without its connection pool: http.Transport still
// starts a read and a write goroutine, with their own buffers, for every
// connection it dials, and hands each request and response between them,
// which is most of the CPU time a forward costs here.
type oneShotTransport struct {
	dial                  func(ctx context.Context, network, address string) (net.Conn, error)
	responseHeaderTimeout time.Duration
	maxHeaderBytes        int64
}

var (
	upstreamReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	upstreamWriters = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

// aLongTimeAgo is a deadline that makes blocked I/O return at once.
var aLongTimeAgo = time.Unix(1, 0)

func (t *oneShotTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" {
		return nil, fmt.Errorf("unsupported scheme %q", req.URL.Scheme)
	}
	conn, err := t.dial(req.Context(), "tcp", req.URL.Host)
	if err != nil {
		return nil, err
	}
	// A client that goes away takes the exchange with it.
	stop := context.AfterFunc(req.Context(), func() { conn.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		conn.Close()
		return nil, err
	}
	// The request goes out, and the response headers come back, within
	// responseHeaderTimeout; then the body gets as long again.
	conn.SetDeadline(time.Now().Add(t.responseHeaderTimeout))

	out := *req // RoundTrip must not change req
	out.Close = true
	w := upstreamWriters.Get().(*bufio.Writer)
	w.Reset(conn)
	err = out.Write(w)
	if err == nil {
		err = w.Flush()
	}
	w.Reset(nil)
	upstreamWriters.Put(w)
	if err != nil {
		return fail(err)
	}

	limit := &io.LimitedReader{R: conn, N: t.maxHeaderBytes}
	r := upstreamReaders.Get().(*bufio.Reader)
	r.Reset(limit)
	resp, err := readFinalResponse(r, req)
	if err != nil {
		r.Reset(nil)
		upstreamReaders.Put(r)
		if err == io.ErrUnexpectedEOF && limit.N <= 0 {
			err = fmt.Errorf("upstream response headers exceed %d bytes", t.maxHeaderBytes)
		}
		return fail(err)
	}
	// The body is capped by capResponse; the limit was for the headers.
	limit.N = 1 << 62
	conn.SetDeadline(time.Now().Add(t.responseHeaderTimeout))
	resp.Body = &oneShotBody{ReadCloser: resp.Body, conn: conn, reader: r, stop: stop}
	return resp, nil
}

// oneShotBody closes the connection, and gives back its reader, with the
// body.
type oneShotBody struct {
	io.ReadCloser
	conn   net.Conn
	reader *bufio.Reader
	stop   func() bool
	once   sync.Once
}

func (b *oneShotBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		b.stop()
		b.conn.Close()
		b.reader.Reset(nil)
		upstreamReaders.Put(b.reader)
	})
	return err
}

// maxInterimResponses bounds the 1xx responses skipped before the final one.
const maxInterimResponses = 4

// errNotFinalStatus is a response that cannot be relayed as the answer to a
// challenge request: 101 (a switch to a protocol we do not speak), a status
// outside 100-599, or too many interim responses.
var errNotFinalStatus = errors.New("upstream status is not a final 200-599 response")

// readFinalResponse reads the upstream's final response, skipping interim
// 1xx responses (RFC 9110 section 15.2) as a client must: a 103 Early Hints
// before the 200 must not become the answer, or the key authorization in
// the 200 is lost.
func readFinalResponse(r *bufio.Reader, req *http.Request) (*http.Response, error) {
	for range maxInterimResponses + 1 {
		resp, err := http.ReadResponse(r, req)
		if err != nil {
			return nil, err
		}
		switch code := resp.StatusCode; {
		case code >= 200 && code <= 599:
			return resp, nil
		case code >= 100 && code < 200 && code != http.StatusSwitchingProtocols:
			continue // interim responses have no body
		default:
			resp.Body.Close()
			return nil, fmt.Errorf("%w: %d", errNotFinalStatus, code)
		}
	}
	return nil, fmt.Errorf("%w: more than %d interim responses", errNotFinalStatus, maxInterimResponses)
}
