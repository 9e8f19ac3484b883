package pathprobe

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"k8s.io/klog/v2"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/proxy"
)

const (
	// DefaultInterval is how often the path is probed without a trigger.
	DefaultInterval = 30 * time.Second
	// DefaultTimeout bounds one probe. It outlasts the proxy's own upstream
	// limits (proxy.DefaultDialTimeout + proxy.DefaultResponseHeaderTimeout),
	// so that a router that does not answer shows as the proxy's 504, which
	// names the ingress VIP, rather than as our own timeout.
	DefaultTimeout = 10 * time.Second
	// challengePort is where ACME HTTP-01 validation connects.
	challengePort = 80
	// userAgent tells the router's access log, and the proxy's, that a
	// request is this probe.
	userAgent = "http01-challenge-proxy-path-probe"
	// maxBodyBytes is as much of the router's answer as is read: only the
	// headers matter.
	maxBodyBytes = 4 << 10
)

// Causes of a probe, for the log.
const (
	CauseInterval      = "interval"
	CauseRulesRestored = "rules restored"
)

// Observer is told the outcome of every probe (metrics).
type Observer interface {
	PathProbed(apiVIP netip.Addr, ok bool, duration time.Duration)
}

// Config configures New. Zero values take the defaults.
type Config struct {
	APIVIPs  []netip.Addr
	Interval time.Duration
	Timeout  time.Duration
	// Port is challengePort in production; tests point it elsewhere.
	Port uint16
}

// Prober probes the path to every API VIP, one after the other, every
// interval and whenever Trigger asks.
type Prober struct {
	apiVIPs  []netip.Addr
	interval time.Duration
	port     uint16
	client   *http.Client
	observer Observer
	triggers chan string
	// lastOK is each VIP's last verdict, to log transitions. Only Run's
	// goroutine touches it.
	lastOK map[netip.Addr]bool
}

// New returns a prober; Run starts it.
func New(cfg Config, observer Observer) *Prober {
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Port == 0 {
		cfg.Port = challengePort
	}
	return &Prober{
		apiVIPs:  cfg.APIVIPs,
		interval: cfg.Interval,
		port:     cfg.Port,
		client:   newClient(cfg.Timeout),
		observer: observer,
		triggers: make(chan string, 1),
		lastOK:   map[netip.Addr]bool{},
	}
}

// newClient returns a client that goes where it is told and nowhere else:
// no proxy from the environment (the probe is about the direct path), no
// redirects followed, a new connection per probe (a pooled one could be to
// a proxy that has since gone away).
func newClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:             nil,
			DialContext:       (&net.Dialer{Timeout: timeout}).DialContext,
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Trigger asks for a probe of every VIP soon, without waiting for the
// interval. It never blocks; triggers that arrive while one is pending are
// merged.
func (p *Prober) Trigger(cause string) {
	select {
	case p.triggers <- cause:
	default:
	}
}

// Run probes until ctx is done.
func (p *Prober) Run(ctx context.Context) {
	ticker := time.NewTicker(p.interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			p.probeAll(ctx, CauseInterval)
		case cause := <-p.triggers:
			p.probeAll(ctx, cause)
		}
	}
}

func (p *Prober) probeAll(ctx context.Context, cause string) {
	for _, vip := range p.apiVIPs {
		start := time.Now()
		observation := p.probe(ctx, vip)
		duration := time.Since(start)
		if ctx.Err() != nil {
			// Shutting down: the probe was cut short by us, and says
			// nothing about the path.
			return
		}
		verdict := Judge(observation)
		p.observer.PathProbed(vip, verdict.PathOK, duration)
		p.log(vip, verdict, duration, cause)
	}
}

// probe sends one GET for a random token to vip:port. Host is the VIP
// itself: the daemon does not know the API host name, and the router's
// answer for an unknown host (503) proves the path as well as any other.
func (p *Prober) probe(ctx context.Context, vip netip.Addr) Observation {
	target := net.JoinHostPort(vip.String(), strconv.Itoa(int(p.port)))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+target+proxy.ChallengePathPrefix+proxy.RandomToken(), nil)
	if err != nil {
		return Observation{Err: err}
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := p.client.Do(req)
	if err != nil {
		return Observation{Err: err}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyBytes))
	return Observation{Status: resp.StatusCode, Header: resp.Header}
}

// log reports the first verdict for a VIP and every change at the default
// level, and every probe at -v=4.
func (p *Prober) log(vip netip.Addr, verdict Verdict, duration time.Duration, cause string) {
	last, seen := p.lastOK[vip]
	p.lastOK[vip] = verdict.PathOK
	keysAndValues := []any{"apiVIP", vip, "detail", verdict.Detail, "duration", duration.Round(time.Millisecond), "cause", cause}
	switch {
	case seen && last == verdict.PathOK:
		klog.V(4).InfoS("Probed the challenge path", append(keysAndValues, "pathOK", verdict.PathOK)...)
	case verdict.PathOK:
		klog.InfoS("Challenge path works", keysAndValues...)
	default:
		klog.InfoS("Challenge path broken", keysAndValues...)
	}
}
