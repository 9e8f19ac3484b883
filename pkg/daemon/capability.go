package daemon

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// capNetAdmin is CAP_NET_ADMIN's bit in the capability sets.
const capNetAdmin = 12

// errNoNetAdmin says what to fix. Without the capability the kernel answers
// every nf_tables message with EPERM, which the rule loops would retry
// forever under a message about another owner of the table.
var errNoNetAdmin = errors.New("the daemon lacks CAP_NET_ADMIN, which programming nftables needs: " +
	"add NET_ADMIN to the container's securityContext.capabilities, as the DaemonSet the operator renders does, " +
	"and let the SCC http01-challenge-proxy admit the pod")

// requireNetAdmin fails unless this process has CAP_NET_ADMIN in effect.
func requireNetAdmin() error {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return fmt.Errorf("reading this process's capabilities: %w", err)
	}
	has, err := hasEffectiveCapability(string(status), capNetAdmin)
	if err != nil {
		return err
	}
	if !has {
		return errNoNetAdmin
	}
	return nil
}

// hasEffectiveCapability reads the CapEff line of /proc/<pid>/status.
func hasEffectiveCapability(status string, bit uint) (bool, error) {
	for _, line := range strings.Split(status, "\n") {
		value, ok := strings.CutPrefix(line, "CapEff:")
		if !ok {
			continue
		}
		set, err := strconv.ParseUint(strings.TrimSpace(value), 16, 64)
		if err != nil {
			return false, fmt.Errorf("reading CapEff %q: %w", strings.TrimSpace(value), err)
		}
		return set&(1<<bit) != 0, nil
	}
	return false, errors.New("the process status has no CapEff line")
}
