//go:build !linux

package apiserver

import (
	"os"
	"os/exec"
)

// On other systems the harness is best-effort: no process groups, and the
// children are killed rather than terminated.

func setProcessGroup(*exec.Cmd) {}

func terminateGroup(cmd *exec.Cmd) error { return cmd.Process.Signal(os.Interrupt) }

func killGroup(cmd *exec.Cmd) error { return cmd.Process.Kill() }

// processAlive is conservative where it cannot tell: it says yes, so that
// nothing is reaped.
func processAlive(int) bool { return true }
