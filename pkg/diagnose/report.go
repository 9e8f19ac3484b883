package diagnose

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Status is a check's outcome. The values are part of the JSON output.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	// Skip: not checked, because an earlier check failed that it depends
	// on. A skipped check only ever follows a failed one.
	Skip Status = "skip"
	// Info: something worth knowing that is neither good nor bad (no
	// cert-manager, no kubeconfig).
	Info Status = "info"
)

// Hops, in the order they are checked. The values are part of the JSON
// output.
const (
	HopCluster         = "cluster"
	HopDNS             = "dns"
	HopPort80          = "port80"
	HopChallenge       = "challenge"
	HopFilter          = "filter"
	HopSolver          = "solver"
	HopConfig          = "config"
	HopClusterOperator = "clusterOperator"
	HopDaemonSet       = "daemonSet"
	HopCertManager     = "certManager"
)

// hopLabels are the hops' names in the text output.
var hopLabels = map[string]string{
	HopCluster:         "cluster",
	HopDNS:             "DNS",
	HopPort80:          "port 80",
	HopChallenge:       "challenge path",
	HopFilter:          "filter",
	HopSolver:          "solver",
	HopConfig:          "config",
	HopClusterOperator: "ClusterOperator",
	HopDaemonSet:       "DaemonSet",
	HopCertManager:     "cert-manager",
}

// Check is one line of the checklist. Its JSON field names are stable.
type Check struct {
	Hop string `json:"hop"`
	// Target is what the line is about: the domain, an address, a node, an
	// object.
	Target string `json:"target"`
	Status Status `json:"status"`
	// Message is what was found.
	Message string `json:"message"`
	// Action is the next thing to do, for a failed check.
	Action string `json:"action,omitempty"`
}

// Report is the whole checklist.
type Report struct {
	Domain string `json:"domain"`
	// Passed is true when no check failed; the exit code is 0 then.
	Passed bool    `json:"passed"`
	Checks []Check `json:"checks"`
}

// NewReport wraps checks for domain.
func NewReport(domain string, checks []Check) Report {
	passed := true
	for _, c := range checks {
		if c.Status == Fail {
			passed = false
		}
	}
	return Report{Domain: domain, Passed: passed, Checks: checks}
}

var marks = map[Status]string{Pass: "✓", Fail: "✗", Skip: "–", Info: "·"}

// Line is a check as one line of text:
//
//	✗ port 80         192.0.2.100: connection refused → next thing to do
func (c Check) Line() string {
	line := fmt.Sprintf("%s %-15s %s: %s", marks[c.Status], hopLabels[c.Hop], c.Target, c.Message)
	if c.Action != "" {
		line += " → " + c.Action
	}
	return line
}

// WriteText writes the checklist, one line per check, and a summary.
func (r Report) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, c := range r.Checks {
		b.WriteString(c.Line())
		b.WriteByte('\n')
	}
	failed := 0
	for _, c := range r.Checks {
		if c.Status == Fail {
			failed++
		}
	}
	if failed == 0 {
		fmt.Fprintf(&b, "every hop to %s passes\n", r.Domain)
	} else {
		fmt.Fprintf(&b, "%d of %d checks failed: start with the first ✗\n", failed, len(r.Checks))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one indented JSON document.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
