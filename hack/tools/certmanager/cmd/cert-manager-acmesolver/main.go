// Command cert-manager-acmesolver is cert-manager's HTTP-01 solver, the
// program of the Pods cert-manager creates for a challenge, over the root
// module's exported solver package: upstream's cmd/acmesolver is a module
// of its own that the module proxy does not serve. It takes upstream's
// flags, and the local cluster's solver image runs it.
package main

import (
	"errors"
	"flag"
	"net/http"
	"os"

	"github.com/cert-manager/cert-manager/pkg/issuer/acme/http/solver"
	"k8s.io/klog/v2"
)

func main() {
	s := &solver.HTTP01Solver{}
	// Upstream's flags and defaults (cmd/acmesolver/app).
	flag.IntVar(&s.ListenPort, "listen-port", 8089, "port number to listen on for incoming HTTP requests")
	flag.StringVar(&s.Domain, "domain", "", "the domain name to verify")
	flag.StringVar(&s.Token, "token", "", "the challenge token to verify against")
	flag.StringVar(&s.Key, "key", "", "the challenge key to respond with")
	klog.InitFlags(flag.CommandLine)
	flag.Parse()

	log := klog.Background().WithName("acmesolver")
	if err := s.Listen(log); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error(err, "error listening for connections")
		os.Exit(1)
	}
}
