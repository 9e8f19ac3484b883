// Command pause is the sandbox container of the local cluster's pods: the
// container runtime needs an image for every pod's sandbox, and there is no
// registry to pull Kubernetes' own from. Like that one, it holds the pod's
// namespaces, reaps orphans and exits on SIGINT or SIGTERM.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range signals {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every exited child, so that none stays a zombie: as PID 1
// of a pod's PID namespace, orphans are ours.
func reap() {
	for {
		pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
