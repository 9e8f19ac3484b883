package daemon

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// syncState is what health needs from the rules reconciler.
type syncState interface {
	InSync() bool
	LastHeartbeat() time.Time
}

// health answers the kubelet's probes.
//
// Ready means a packet redirected now would be served: the listener is up and
// the kernel holds exactly our rules. Live means the process is not wedged:
// the reconcile loop went round recently. They are kept apart so that rules
// someone else flushed make the pod unready (and visible in the DaemonSet
// status) without getting it restarted.
type health struct {
	listening       atomic.Bool
	stopping        atomic.Bool
	rules           syncState
	maxHeartbeatAge time.Duration
	now             func() time.Time
}

func newHealth(rules syncState, resyncInterval time.Duration) *health {
	return &health{
		rules: rules,
		// The loop goes round at least once per resync interval; allow
		// for a few slow netlink round trips on a busy node.
		maxHeartbeatAge: max(3*resyncInterval, 30*time.Second),
		now:             time.Now,
	}
}

// ready returns whether the daemon is ready, and why not.
func (h *health) ready() (bool, string) {
	switch {
	case h.stopping.Load():
		return false, "shutting down"
	case !h.listening.Load():
		return false, "proxy listener is not up"
	case !h.rules.InSync():
		return false, "nftables rules do not match the desired state"
	}
	return true, "ok"
}

// live returns whether the daemon is alive, and why not.
func (h *health) live() (bool, string) {
	if age := h.now().Sub(h.rules.LastHeartbeat()); age > h.maxHeartbeatAge {
		return false, fmt.Sprintf("rules loop has not run for %v", age.Round(time.Second))
	}
	return true, "ok"
}

func (h *health) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", probe(h.ready))
	mux.HandleFunc("GET /healthz", probe(h.live))
	return mux
}

func probe(check func() (bool, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		ok, reason := check()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintln(w, reason)
	}
}
