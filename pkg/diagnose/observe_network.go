package diagnose

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/proxy"
)

// How a request that got no response failed, as HTTPObservation.Failure.
// The verdicts match on them.
const (
	failureRefused       = "connection refused"
	failureTimeoutPrefix = "no answer within"
	failureUnreachable   = "no route to host"
	failureReset         = "connection reset"
)

const (
	// userAgent names diagnose in the router's and the proxy's logs.
	userAgent = "cluster-http01-challenge-proxy-operator-diagnose"
	// maxBodyBytes is as much of a body as is kept: a key authorization is
	// under 200 bytes.
	maxBodyBytes = 4 << 10
	// filterPath is a path that is not a challenge: the proxy must refuse it.
	filterPath = "/"
)

// network gathers the DNS and HTTP observations.
type network struct {
	domain   string
	resolver *net.Resolver
	// dnsServer is the --dns-server, empty for the system resolver.
	dnsServer string
	timeout   time.Duration
}

func newNetwork(domain, dnsServer string, timeout time.Duration) *network {
	n := &network{domain: domain, resolver: net.DefaultResolver, dnsServer: dnsServer, timeout: timeout}
	if dnsServer != "" {
		// Go's own resolver sends its A and AAAA queries through Dial,
		// which ignores the servers of resolv.conf and asks ours.
		dialer := &net.Dialer{Timeout: timeout}
		n.resolver = &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, dnsServer)
		}}
	}
	return n
}

// resolve looks up the domain's A and AAAA records.
func (n *network) resolve(ctx context.Context) DNSObservation {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	obs := DNSObservation{Server: n.dnsServer}
	// The trailing dot makes the name absolute: no search domain of
	// resolv.conf is tried, which could resolve a wrong name.
	addrs, err := n.resolver.LookupNetIP(ctx, "ip", n.domain+".")
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		obs.NotFound = true
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout:
		obs.Failure = fmt.Sprintf("%s %v", failureTimeoutPrefix, n.timeout)
	case err != nil:
		obs.Failure = err.Error()
	}
	obs.Addresses = sortedUnique(addrs)
	return obs
}

// sortedUnique puts IPv4 before IPv6, each in order, without duplicates
// (and without IPv4-mapped forms), so that output is stable.
func sortedUnique(addrs []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

// checkAddresses asks port 80 of every address, all at once.
func (n *network) checkAddresses(ctx context.Context, addrs []netip.Addr, challenges []ChallengeObservation) []AddressObservation {
	out := make([]AddressObservation, len(addrs))
	var wg sync.WaitGroup
	for i, addr := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = n.checkAddress(ctx, addr, challenges)
		}()
	}
	wg.Wait()
	return out
}

// checkAddress sends what a validator would (a challenge request, for a
// token no solver knows), what it must not get through (GET /), and the
// token of every pending HTTP-01 Challenge for the domain.
func (n *network) checkAddress(ctx context.Context, addr netip.Addr, challenges []ChallengeObservation) AddressObservation {
	obs := AddressObservation{
		Address:   addr,
		Challenge: n.get(ctx, addr, proxy.ChallengePathPrefix+proxy.RandomToken()),
		Filter:    n.get(ctx, addr, filterPath),
	}
	for _, c := range challenges {
		if c.Pending() && c.Type == "HTTP-01" && c.Token != "" {
			obs.Solvers = append(obs.Solvers, SolverObservation{Challenge: c, Answer: n.get(ctx, addr, proxy.ChallengePathPrefix+c.Token)})
		}
	}
	return obs
}

// get sends GET path to port 80 of addr with the domain as Host, as a
// validator does: straight there (no proxy from the environment), on a new
// connection, following no redirect.
func (n *network) get(ctx context.Context, addr netip.Addr, path string) HTTPObservation {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	target := url.URL{Scheme: "http", Host: netip.AddrPortFrom(addr, 80).String(), Path: path}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return HTTPObservation{Failure: err.Error()}
	}
	req.Host = n.domain
	req.Header.Set("User-Agent", userAgent)
	client := &http.Client{
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{}).DialContext,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return HTTPObservation{Failure: describeFailure(err, n.timeout)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	return HTTPObservation{
		Status:      resp.StatusCode,
		Via:         strings.Join(resp.Header.Values("Via"), ", "),
		ProxyStatus: strings.Join(resp.Header.Values("Proxy-Status"), ", "),
		Server:      resp.Header.Get("Server"),
		Body:        string(body),
	}
}

// describeFailure says in a few words why a request got no response.
func describeFailure(err error, timeout time.Duration) string {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return failureRefused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return failureUnreachable
	case errors.Is(err, syscall.ECONNRESET):
		return failureReset
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("%s %v", failureTimeoutPrefix, timeout)
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}
