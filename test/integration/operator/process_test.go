//go:build integration

package operator

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/apiserver"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/test/framework/process"
)

// operatorProcess is the real operator binary run as its Deployment runs it:
// the operator subcommand with a GenericOperatorConfig file, serving its
// metrics, and with leader election. A process that exits is what a crash
// loop starts with, so tests can check for it.
type operatorProcess struct {
	cmd    *exec.Cmd
	output *process.Output
	done   <-chan struct{}
	// metricsAddress is where it serves /metrics, /healthz and /readyz.
	metricsAddress string
}

type processOption func(*processSettings)

type processSettings struct {
	kubeconfig string
	env        []string
}

// processKubeconfig runs the operator with this kubeconfig instead of the
// admin's.
func processKubeconfig(path string) processOption {
	return func(s *processSettings) { s.kubeconfig = path }
}

// processEnv adds NAME=value pairs to the operator's environment.
func processEnv(pairs ...string) processOption {
	return func(s *processSettings) { s.env = append(s.env, pairs...) }
}

// startOperatorProcess starts the binary against the env's API server and
// stops it (SIGTERM, as the kubelet does) when the test ends.
func (e *env) startOperatorProcess(opts ...processOption) *operatorProcess {
	e.t.Helper()
	settings := &processSettings{kubeconfig: e.srv.KubeconfigPath()}
	for _, o := range opts {
		o(settings)
	}
	dir := e.t.TempDir()
	port, err := freePort()
	if err != nil {
		e.t.Fatal(err)
	}
	// No certificate: library-go then serves with a self-signed one, as on a
	// cluster before the service-ca operator has issued the real one.
	configPath := filepath.Join(dir, "config.yaml")
	config := fmt.Sprintf("apiVersion: operator.openshift.io/v1alpha1\nkind: GenericOperatorConfig\nservingInfo:\n  bindAddress: 127.0.0.1:%d\n", port)
	if err := os.WriteFile(configPath, []byte(config), 0o600); err != nil {
		e.t.Fatal(err)
	}

	p := &operatorProcess{output: &process.Output{}, metricsAddress: fmt.Sprintf("127.0.0.1:%d", port)}
	p.cmd = exec.Command(apiserver.BinaryUnderTest(e.t), "operator",
		"--config="+configPath,
		"--kubeconfig="+settings.kubeconfig,
		"--namespace="+names.OperatorNamespace,
	)
	p.cmd.Env = append(os.Environ(),
		names.OperandImageEnv+"="+testImage,
		names.ReleaseVersionEnv+"="+releaseV1,
		// library-go writes the self-signed serving certificate there.
		"TMPDIR="+dir,
	)
	p.cmd.Env = append(p.cmd.Env, settings.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if p.done, err = process.Start(p.cmd); err != nil {
		e.t.Fatalf("starting the operator: %v", err)
	}
	e.t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			process.KillGroup(p.cmd)
			<-p.done
		}
		if e.t.Failed() {
			e.t.Logf("last lines of the operator's log:\n%s", p.tail(150))
		}
	})
	return p
}

// exited reports an operator that stopped on its own, with the end of its
// log, or nil while it runs.
func (p *operatorProcess) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("the operator exited with %v; last lines of its log:\n%s", p.cmd.ProcessState, p.tail(60))
	default:
		return nil
	}
}

// logLine returns the first line of the log that contains substr.
func (p *operatorProcess) logLine(substr string) string {
	for _, line := range strings.Split(p.output.String(), "\n") {
		if strings.Contains(line, substr) {
			return line
		}
	}
	return ""
}

func (p *operatorProcess) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.output.String(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
