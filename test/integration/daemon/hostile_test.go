//go:build integration

package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/netns"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite the hostile-input table of docs/security.md from hostileRequests")

const (
	// wireTimeout bounds a whole exchange. It is well above the daemon's
	// read-header timeout (5s), so reaching it means the daemon neither
	// answered nor hung up.
	wireTimeout = 15 * time.Second
	// trickleInterval is the pace of a slowloris client: slow enough that
	// its headers could never be complete before the read-header timeout.
	trickleInterval = 200 * time.Millisecond
	slowlorisConns  = 16
)

// TestHostileTable sends every row of hostileRequests, as raw bytes on its own
// TCP connection, from the client namespace to API_VIP:80, through the real
// nftables redirect to the real daemon, and checks the outcome and what the
// router saw.
func TestHostileTable(t *testing.T) {
	logDuration(t)
	c := newCluster(t)
	c.startDaemon(t)
	target := netip.AddrPortFrom(apiVIP4, 80)

	for i, hr := range hostileRequests {
		t.Run(fmt.Sprintf("%02d %s", i+1, hr.attack), func(t *testing.T) {
			before := c.routerLog.count()
			if hr.trickle {
				// The challenge sent during the slowloris is not the row's.
				before += c.checkSlowloris(t, target, hr)
			} else {
				checkExchange(t, sendRaw(c.client, target, hr.raw), hr)
			}
			checkRouterSaw(t, c.routerLog, before, hr)
		})
	}
}

// exchange is what came back on one connection.
type exchange struct {
	responses []wireResponse
	// unparsed holds bytes that are not an HTTP response.
	unparsed []byte
	// hungUp is false when wireTimeout passed with the connection open.
	hungUp   bool
	duration time.Duration
	err      error
}

type wireResponse struct {
	status int
	body   string
	// via and proxyStatus are the Via and Proxy-Status field values.
	via, proxyStatus string
}

// sendRaw writes raw on a new connection from ns and reads until the daemon
// closes it.
func sendRaw(ns *netns.Namespace, target netip.AddrPort, raw string) exchange {
	conn, err := dialWire(ns, target)
	if err != nil {
		return exchange{err: err}
	}
	defer conn.Close()
	start := time.Now()
	// A write can fail when the daemon answers and hangs up before it has
	// read everything (431): what was read back decides.
	_, _ = io.WriteString(conn, raw)
	return readExchange(conn, start)
}

func dialWire(ns *netns.Namespace, target netip.AddrPort) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := ns.DialContext(ctx, "tcp", target.String())
	if err != nil {
		return nil, err
	}
	return conn, conn.SetDeadline(time.Now().Add(wireTimeout))
}

// readExchange reads until EOF, a reset (the daemon closing a connection
// with unread bytes) or wireTimeout, and parses what came back.
func readExchange(conn net.Conn, start time.Time) exchange {
	data, err := io.ReadAll(conn)
	ex := exchange{duration: time.Since(start), hungUp: true}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		ex.hungUp = false
	}
	ex.responses, ex.unparsed = parseResponses(data)
	return ex
}

func parseResponses(data []byte) ([]wireResponse, []byte) {
	var responses []wireResponse
	reader := bufio.NewReader(bytes.NewReader(data))
	for {
		if _, err := reader.Peek(1); err != nil {
			return responses, nil
		}
		resp, err := http.ReadResponse(reader, nil)
		if err != nil {
			rest, _ := io.ReadAll(reader)
			return responses, rest
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		responses = append(responses, wireResponse{
			status: resp.StatusCode, body: string(body),
			via: strings.Join(resp.Header.Values("Via"), ", "), proxyStatus: strings.Join(resp.Header.Values("Proxy-Status"), ", "),
		})
	}
}

// checkExchange checks that the daemon sent exactly the response the row
// expects and then closed the connection.
func checkExchange(t *testing.T, ex exchange, hr hostileRequest) {
	t.Helper()
	switch {
	case ex.err != nil:
		t.Fatalf("sending: %v", ex.err)
	case !ex.hungUp:
		t.Fatalf("the connection was still open after %v, want it closed", wireTimeout)
	case len(ex.unparsed) > 0:
		t.Errorf("bytes that are no HTTP response: %.200q", ex.unparsed)
	}
	if len(ex.responses) != 1 {
		t.Fatalf("got %d responses %+v, want exactly one and then the connection closed", len(ex.responses), ex.responses)
	}
	got := ex.responses[0]
	if got.status != hr.status || !strings.Contains(got.body, hr.says) {
		t.Errorf("got %d %.200q, want %d saying %q (%s)", got.status, got.body, hr.status, hr.says, hr.by)
	}
	if via, proxyStatus := expectedMarks(hr.by); got.via != via || got.proxyStatus != proxyStatus {
		t.Errorf("got Via %q, Proxy-Status %q; want %q, %q (%s)", got.via, got.proxyStatus, via, proxyStatus, hr.by)
	}
}

// expectedMarks are the Via and Proxy-Status of an answer by each layer.
// The proxy marks every response it produces or forwards, the parser's
// refusals included.
func expectedMarks(by answeredBy) (via, proxyStatus string) {
	switch by {
	case byClassifier, byParser:
		return "1.1 http01-challenge-proxy", "http01-challenge-proxy; error=http_request_denied"
	case byRouter:
		return "1.1 http01-challenge-proxy", ""
	}
	return "", ""
}

// checkRouterSaw checks that the router got exactly the rebuilt challenge
// request for a forwarded row, and nothing at all for any other.
func checkRouterSaw(t *testing.T, log *requestLog, before int, hr hostileRequest) {
	t.Helper()
	seen := log.count() - before
	if !hr.forwarded {
		if seen != 0 {
			t.Errorf("the router saw %d requests (last: %+v), want none", seen, log.last())
		}
		return
	}
	if seen != 1 {
		t.Fatalf("the router saw %d requests, want 1", seen)
	}
	host := hr.routerHost
	if host == "" {
		host = apiHost
	}
	expect := seenRequest{
		local: netip.AddrPortFrom(ingressVIP4, 80).String(), host: host,
		path: challengePath, xff: clientAddrs[0].Addr().String(),
	}
	if got := log.last(); got != expect {
		t.Errorf("the router saw %+v, want %+v", got, expect)
	}
}

// checkSlowloris opens slowlorisConns connections that send hr.raw one byte
// at a time, never its last line end, and checks that the daemon cuts each
// off as the row expects while a challenge sent meanwhile is served. It
// returns how many requests that challenge made the router see.
func (c *cluster) checkSlowloris(t *testing.T, target netip.AddrPort, hr hostileRequest) int {
	t.Helper()
	partial := strings.TrimSuffix(hr.raw, crlf+crlf)
	results := make([]exchange, slowlorisConns)
	var wg sync.WaitGroup
	for i := range results {
		conn, err := dialWire(c.client, target)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		wg.Add(2)
		go func() { defer wg.Done(); trickle(conn, partial) }()
		go func() { defer wg.Done(); results[i] = readExchange(conn, time.Now()) }()
	}

	// While every slowloris connection holds its slot, a validator's
	// request is served.
	time.Sleep(time.Second)
	if status, body, err := challenge(c.client, apiVIP4); err != nil || status != http.StatusOK || body != keyAuth {
		t.Errorf("challenge during the slowloris: %d %q %v", status, body, err)
	}

	wg.Wait()
	slowest := time.Duration(0)
	for _, ex := range results {
		checkExchange(t, ex, hr)
		slowest = max(slowest, ex.duration)
	}
	t.Logf("%d slowloris connections cut off, the last after %v", slowlorisConns, slowest.Round(time.Millisecond))
	return 1
}

// trickle writes s one byte per trickleInterval until it is written or the
// connection fails.
func trickle(conn net.Conn, s string) {
	for i := range len(s) {
		if _, err := conn.Write([]byte{s[i]}); err != nil {
			return
		}
		time.Sleep(trickleInterval)
	}
}

// Generating the table in docs/security.md.

const (
	docPath        = "docs/security.md"
	tableBeginMark = "<!-- BEGIN hostile-input table: generated from test/integration/daemon/hostile_table_test.go by " +
		"`go test -tags integration ./test/integration/daemon -run TestHostileTableDocumented -update-doc`; do not edit by hand -->"
	tableEndMark = "<!-- END hostile-input table -->"
)

// TestHostileTableDocumented keeps the table of docs/security.md equal to
// hostileRequests, so that the document says what TestHostileTable checks.
// It needs no privileges.
func TestHostileTableDocumented(t *testing.T) {
	root, err := apiserver.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, docPath)
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, foundBegin := strings.Cut(string(doc), tableBeginMark)
	current, after, foundEnd := strings.Cut(rest, tableEndMark)
	if !foundBegin || !foundEnd {
		t.Fatalf("%s lacks the markers around the hostile-input table:\n%s\n%s", docPath, tableBeginMark, tableEndMark)
	}
	want := "\n" + renderHostileTable() + "\n"
	if current == want {
		return
	}
	if *updateDoc {
		if err := os.WriteFile(path, []byte(before+tableBeginMark+want+tableEndMark+after), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote the hostile-input table of %s", docPath)
		return
	}
	t.Errorf("the hostile-input table of %s differs from hostileRequests; after changing the table, run\n"+
		"  go test -tags integration ./test/integration/daemon -run TestHostileTableDocumented -update-doc", docPath)
}

func renderHostileTable() string {
	var b strings.Builder
	b.WriteString("| # | Category | Attack | Bytes sent to API_VIP:80 | Outcome | Decided by | Router sees | Why |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for i, hr := range hostileRequests {
		fmt.Fprintf(&b, "| %d | %s | %s | `%s` | %s | %s | %s | %s |\n", i+1, hr.category, cell(hr.attack),
			cell(shownRequest(hr)), outcome(hr), hr.by, routerSees(hr), cell(hr.why))
	}
	b.WriteString("\nPlaceholders: `<challenge>` is `/.well-known/acme-challenge/<token>`, `<token>` a 43-character " +
		"base64url token, `<api-host>` the API host name; `{N × …}` stands for N repetitions.")
	return b.String()
}

func outcome(hr hostileRequest) string {
	text := fmt.Sprintf("%d %s", hr.status, http.StatusText(hr.status))
	if hr.forwarded {
		text += " (the router's answer)"
	}
	return text
}

func routerSees(hr hostileRequest) string {
	if !hr.forwarded {
		return "nothing"
	}
	return "GET `<challenge>` rebuilt by the proxy"
}

// cell escapes what would break a Markdown table cell.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// shownRequest is the request in a readable, bounded form: placeholders for
// the long constants, escapes for control bytes, counts for repetitions.
func shownRequest(hr hostileRequest) string {
	raw := hr.raw
	prefix := ""
	if hr.trickle {
		raw = strings.TrimSuffix(raw, crlf+crlf)
		prefix = fmt.Sprintf("{%d connections, one byte every %v, never finished} ", slowlorisConns, trickleInterval)
	}
	raw = strings.NewReplacer(challengePath, "<challenge>", token, "<token>", apiHost, "<api-host>").Replace(raw)
	var b strings.Builder
	lines := strings.SplitAfter(raw, "\n")
	for i := 0; i < len(lines); {
		j := i
		for j < len(lines) && lines[j] == lines[i] {
			j++
		}
		if j-i >= 4 {
			fmt.Fprintf(&b, "{%d × %s}", j-i, escapeBytes(lines[i]))
		} else {
			for _, line := range lines[i:j] {
				b.WriteString(escapeBytes(line))
			}
		}
		i = j
	}
	return prefix + b.String()
}

// escapeBytes writes control and non-ASCII bytes as Go escapes, and runs of
// 16 or more equal bytes as a count.
func escapeBytes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if j-i >= 16 {
			fmt.Fprintf(&b, "{%d × %s}", j-i, escapeByte(s[i]))
			i = j
			continue
		}
		b.WriteString(escapeByte(s[i]))
		i++
	}
	return b.String()
}

func escapeByte(c byte) string {
	switch {
	case c == '\r':
		return `\r`
	case c == '\n':
		return `\n`
	case c == '\\':
		return `\\`
	case c < ' ' || c >= 0x7f:
		return fmt.Sprintf(`\x%02x`, c)
	}
	return string(c)
}
