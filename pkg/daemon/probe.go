package daemon

import (
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/pathprobe"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/daemon/rules"
)

// probeTrigger is what probeWhenRulesRestored needs from the prober.
type probeTrigger interface {
	Trigger(cause string)
}

// probeWhenRulesRestored passes the rules reconciler's reports on and, each
// time the rules come back into place (installed at start, or repaired after
// something changed them), asks for a path probe at once instead of at the
// next interval: that is when the path should be whole again, and when an
// admin watching path_ok after a repair wants to know that it is.
//
// The reconciler calls SetRulesPresent from its one goroutine only, so
// present needs no lock.
type probeWhenRulesRestored struct {
	rules.Observer
	prober  probeTrigger
	present bool
}

func (o *probeWhenRulesRestored) SetRulesPresent(present bool) {
	o.Observer.SetRulesPresent(present)
	if present && !o.present {
		o.prober.Trigger(pathprobe.CauseRulesRestored)
	}
	o.present = present
}
