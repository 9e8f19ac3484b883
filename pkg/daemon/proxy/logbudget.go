package proxy

import (
	"log"
	"strings"
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

// lineBudget allows linesPerSecond lines in each wall-clock second.
type lineBudget struct {
	mu         sync.Mutex
	second     int64
	used       int
	suppressed int
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
		return false, 0
	}
	b.used++
	suppressed, b.suppressed = b.suppressed, 0
	return true, suppressed
}

// Budgets of the lines a client can cause.
var (
	forwardLines, rejectLines, evictionLines, serverErrorLines lineBudget
)

func truncate(s string) string {
	if len(s) <= maxLoggedField {
		return s
	}
	return s[:maxLoggedField] + "..."
}

// serverErrorLog is the server's own error log (net/http writes one line per
// request for some malformed ones), truncated and rate-limited like ours.
func serverErrorLog() *log.Logger {
	return log.New(serverErrorWriter{}, "", 0)
}

type serverErrorWriter struct{}

func (serverErrorWriter) Write(p []byte) (int, error) {
	if ok, suppressed := serverErrorLines.take(time.Now()); ok {
		klog.Warningf("HTTP server error: %s (lines left out since the last: %d)", truncate(strings.TrimSpace(string(p))), suppressed)
	}
	return len(p), nil
}
