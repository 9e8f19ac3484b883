// Package pathprobe checks, from the node the daemon runs on, the path an
// ACME CA's challenge request takes: API_VIP:80, the nftables redirect, a
// proxy, the ingress VIP, the router. It sends one GET for a random,
// well-formed token to each API VIP and counts any answer of the router,
// relayed by a proxy, as a whole path.
//
// What a probe proves depends on where the API VIP is:
//
//   - On the node that holds the VIP, the connection is local (it leaves
//     through lo), so the output chain redirects it to this node's proxy,
//     which forwards it to the ingress VIP: this node's redirect, proxy and
//     route to the router, and the router.
//   - On every other control-plane node, the connection leaves the node for
//     the VIP holder, where the prerouting chain redirects it to the
//     holder's proxy: the path a validator from outside takes, minus
//     whatever lies between the internet and the node network. This node's
//     own proxy is not on that path.
//
// So with the VIP on one node of three, one node checks the output path and
// two check the external one; a failure everywhere points at the router or
// the VIP holder, a failure on one node at that node's network.
//
// The token is one no solver knows, so the probe never reaches a
// cert-manager solver's answer and creates nothing anywhere: the router
// answers 404 or 503.
package pathprobe

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/proxy"
)

// Observation is what one probe saw: an error when nothing answered, or the
// response's status and headers.
type Observation struct {
	Err    error
	Status int
	Header http.Header
}

// Verdict is the judgement of one probe.
type Verdict struct {
	// PathOK: the router answered, through a proxy.
	PathOK bool
	// Detail says what answered, or why the path is broken, for the log.
	Detail string
}

// Judge decides whether an observation proves the path whole. Which status
// the router answered does not matter: any answer it relays shows every hop
// in between works.
func Judge(o Observation) Verdict {
	if o.Err != nil {
		return Verdict{Detail: "no answer from port 80 of the API VIP: " + requestError(o.Err)}
	}
	answer := proxy.ReadAnswer(o.Header)
	switch {
	case answer.FromUpstream():
		return Verdict{PathOK: true, Detail: fmt.Sprintf("the router answered %d through the proxy", o.Status)}
	case answer.UpstreamFailed():
		return Verdict{Detail: fmt.Sprintf("the proxy answered %d: it could not reach ingress VIP %s (%s)", o.Status, answer.NextHop, answer.ProxyError)}
	case answer.Refused():
		// A random token is always well-formed; a refusal means the
		// classifier and RandomToken disagree.
		return Verdict{Detail: fmt.Sprintf("the proxy refused the probe with %d", o.Status)}
	}
	return Verdict{Detail: fmt.Sprintf("answered %d without the proxy's Via header: something other than the proxy serves port 80 of the API VIP", o.Status)}
}

// requestError is the error without the URL that net/http wraps it in: the
// log line already names the VIP.
func requestError(err error) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		return urlErr.Err.Error()
	}
	return err.Error()
}
