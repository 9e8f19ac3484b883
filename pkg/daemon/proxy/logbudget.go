package proxy

import (
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// Anything on the internet that reaches API_VIP:80 decides how many requests
// the proxy logs and what they hold, so both are bounded: every logged field
// a client controls is cut to maxLoggedField, and each kind of line is
// limited to linesPerSecond. The metrics count every request by outcome
// and status; the log holds examples, and says how many lines it left out.
const (
	maxLoggedField = 256
	linesPerSecond = 20
)

// lineBudget allows linesPerSecond lines in each wall-clock second. What it
// leaves out is counted in the next line it allows, or, if none comes, in a
// line of its own at the end of the second.
type lineBudget struct {
	kind       string
	mu         sync.Mutex
	second     int64
	used       int
	suppressed int
	flushing   bool
}

// take reports whether a line may be logged now and, when it may, how many
// lines were left out since the last one logged.
func (b *lineBudget) take(now time.Time) (ok bool, suppressed int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := now.Unix(); s != b.second {
		b.second, b.used = s, 0
	}
	if b.used >= linesPerSecond {
		b.suppressed++
		if !b.flushing {
			b.flushing = true
			time.AfterFunc(time.Unix(b.second+1, 0).Sub(now), b.flush)
		}
		return false, 0
	}
	b.used++
	suppressed, b.suppressed = b.suppressed, 0
	return true, suppressed
}

// flush logs how many lines were left out, when no later line has said so.
func (b *lineBudget) flush() {
	b.mu.Lock()
	suppressed := b.suppressed
	b.suppressed, b.flushing = 0, false
	b.mu.Unlock()
	if suppressed > 0 {
		klog.InfoS("Left out log lines over the rate limit; the metrics count every request", "kind", b.kind, "suppressed", suppressed)
	}
}

// Budgets of the lines a client can cause.
var (
	forwardLines  = lineBudget{kind: "forward"}
	rejectLines   = lineBudget{kind: "reject"}
	evictionLines = lineBudget{kind: "eviction"}
)

func truncate(s string) string {
	if len(s) <= maxLoggedField {
		return s
	}
	return s[:maxLoggedField] + "..."
}
