package daemonset

import (
	"path"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/gate"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/tlsprofile"
)

const testImage = "quay.io/openshift/http01-challenge-proxy@sha256:0123"

var enabled = gate.Decision{
	Enabled:     true,
	Reason:      gate.ReasonAsExpected,
	APIVIPs:     []string{"192.0.2.5", "fd00::5"},
	IngressVIPs: []string{"192.0.2.10", "fd00::10"},
	Port:        8888,
}

func mustRender(t *testing.T, d gate.Decision, logLevel operatorv1.LogLevel) *appsv1.DaemonSet {
	t.Helper()
	ds, err := Render(d, testImage, logLevel, tlsprofile.FromAPIServer(nil))
	if err != nil {
		t.Fatalf("Render() error = %v", err)
	}
	return ds
}

func proxyContainer(t *testing.T, ds *appsv1.DaemonSet) corev1.Container {
	t.Helper()
	if n := len(ds.Spec.Template.Spec.Containers); n != 1 {
		t.Fatalf("want exactly one container, got %d", n)
	}
	return ds.Spec.Template.Spec.Containers[0]
}

// withFixedArgs prepends the manifest's own arguments to args: health on
// loopback, metrics on every node address over TLS from the mounted Secret
// and ConfigMap.
func withFixedArgs(args ...string) []string {
	return append(append([]string{}, fixedArgs...), args...)
}

var fixedArgs = []string{
	"--health-listen-address=127.0.0.1:29448",
	"--metrics-listen-address=0.0.0.0:9450",
	"--metrics-tls-cert-file=/var/run/secrets/metrics-serving-cert/tls.crt",
	"--metrics-tls-key-file=/var/run/secrets/metrics-serving-cert/tls.key",
	"--metrics-client-ca-file=/var/run/configmaps/metrics-client-ca/client-ca-file",
	"--metrics-allowed-clients=system:serviceaccount:openshift-monitoring:prometheus-k8s",
}

// intermediateArgs are the metrics TLS flags of the default profile.
var intermediateArgs = []string{
	"--metrics-tls-min-version=VersionTLS12",
	"--metrics-tls-cipher-suites=TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256," +
		"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384," +
		"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}

func TestRenderArgs(t *testing.T) {
	modern := &configv1.APIServer{Spec: configv1.APIServerSpec{TLSSecurityProfile: &configv1.TLSSecurityProfile{Type: configv1.TLSProfileModernType}}}
	tests := []struct {
		name      string
		decision  gate.Decision
		logLevel  operatorv1.LogLevel
		apiServer *configv1.APIServer
		want      []string
	}{
		{
			name:     "dual stack, default port, unset log level is Normal, default TLS profile",
			decision: enabled,
			want: withFixedArgs(append([]string{
				"--api-vips=192.0.2.5,fd00::5",
				"--ingress-vips=192.0.2.10,fd00::10",
				"--listen-port=8888",
			}, append(intermediateArgs, "-v=2")...)...),
		},
		{
			name:      "single stack, custom port, Debug, Modern TLS profile",
			decision:  gate.Decision{Enabled: true, APIVIPs: []string{"192.0.2.5"}, IngressVIPs: []string{"192.0.2.10"}, Port: 18080},
			logLevel:  operatorv1.Debug,
			apiServer: modern,
			want: withFixedArgs(
				"--api-vips=192.0.2.5",
				"--ingress-vips=192.0.2.10",
				"--listen-port=18080",
				"--metrics-tls-min-version=VersionTLS13",
				"-v=4",
			),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := Render(tt.decision, testImage, tt.logLevel, tlsprofile.FromAPIServer(tt.apiServer))
			if err != nil {
				t.Fatal(err)
			}
			c := proxyContainer(t, ds)
			if diff := cmp.Diff(tt.want, c.Args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"http01-challenge-proxy-daemon"}, c.Command); diff != "" {
				t.Errorf("command (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRenderVerbosity(t *testing.T) {
	for level, want := range map[operatorv1.LogLevel]string{
		"":                  "-v=2",
		operatorv1.Normal:   "-v=2",
		operatorv1.Debug:    "-v=4",
		operatorv1.Trace:    "-v=6",
		operatorv1.TraceAll: "-v=8",
	} {
		args := proxyContainer(t, mustRender(t, enabled, level)).Args
		if got := args[len(args)-1]; got != want {
			t.Errorf("logLevel %q: last arg = %q, want %q", level, got, want)
		}
	}
}

func TestRenderPodSpec(t *testing.T) {
	ds := mustRender(t, enabled, operatorv1.Normal)
	pod := ds.Spec.Template.Spec
	c := proxyContainer(t, ds)

	if ds.Namespace != names.OperandNamespace || ds.Name != names.OperandName {
		t.Errorf("DaemonSet is %s/%s, want %s/%s", ds.Namespace, ds.Name, names.OperandNamespace, names.OperandName)
	}
	if c.Image != testImage {
		t.Errorf("image = %q, want %q", c.Image, testImage)
	}
	if diff := cmp.Diff(map[string]string{"node-role.kubernetes.io/master": ""}, pod.NodeSelector); diff != "" {
		t.Errorf("nodeSelector (-want +got):\n%s", diff)
	}
	// Every taint, as keepalived's VIP ignores them all.
	wantTolerations := []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	if diff := cmp.Diff(wantTolerations, pod.Tolerations); diff != "" {
		t.Errorf("tolerations (-want +got):\n%s", diff)
	}
	if !pod.HostNetwork {
		t.Errorf("hostNetwork = false; the redirect and the listener are on the host")
	}
	if pod.PriorityClassName != "system-node-critical" {
		t.Errorf("priorityClassName = %q", pod.PriorityClassName)
	}
	if pod.ServiceAccountName != names.OperandName {
		t.Errorf("serviceAccountName = %q, want %q", pod.ServiceAccountName, names.OperandName)
	}
	if !ptr.Equal(pod.AutomountServiceAccountToken, ptr.To(false)) {
		t.Errorf("automountServiceAccountToken = %v, want false", pod.AutomountServiceAccountToken)
	}
	if !ptr.Equal(pod.TerminationGracePeriodSeconds, ptr.To[int64](30)) {
		t.Errorf("terminationGracePeriodSeconds = %v, want 30", pod.TerminationGracePeriodSeconds)
	}

	wantAnnotations := map[string]string{
		"openshift.io/required-scc":               names.SecurityContextConstraints,
		"target.workload.openshift.io/management": `{"effect": "PreferredDuringScheduling"}`,
	}
	if diff := cmp.Diff(wantAnnotations, ds.Spec.Template.Annotations); diff != "" {
		t.Errorf("pod annotations (-want +got):\n%s", diff)
	}

	wantStrategy := appsv1.DaemonSetUpdateStrategy{
		Type: appsv1.RollingUpdateDaemonSetStrategyType,
		RollingUpdate: &appsv1.RollingUpdateDaemonSet{
			MaxUnavailable: ptr.To(intstr.FromInt32(1)),
			MaxSurge:       ptr.To(intstr.FromInt32(0)),
		},
	}
	if diff := cmp.Diff(wantStrategy, ds.Spec.UpdateStrategy); diff != "" {
		t.Errorf("updateStrategy (-want +got):\n%s", diff)
	}
	if got := ds.Spec.Selector.MatchLabels["app"]; got != names.OperandName || ds.Spec.Template.Labels["app"] != got {
		t.Errorf("selector app=%q does not select the template's labels %v", got, ds.Spec.Template.Labels)
	}

	wantSecurity := &corev1.SecurityContext{
		RunAsUser:                ptr.To[int64](0),
		RunAsNonRoot:             ptr.To(false),
		Privileged:               ptr.To(false),
		AllowPrivilegeEscalation: ptr.To(false),
		ReadOnlyRootFilesystem:   ptr.To(true),
		Capabilities: &corev1.Capabilities{
			Drop: []corev1.Capability{"ALL"},
			Add:  []corev1.Capability{"NET_ADMIN"},
		},
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	if diff := cmp.Diff(wantSecurity, c.SecurityContext); diff != "" {
		t.Errorf("securityContext (-want +got):\n%s", diff)
	}
	if c.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		t.Errorf("terminationMessagePolicy = %q", c.TerminationMessagePolicy)
	}
	wantRequests := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("10m"),
		corev1.ResourceMemory: resource.MustParse("20Mi"),
	}
	if !equality.Semantic.DeepEqual(wantRequests, c.Resources.Requests) || c.Resources.Limits != nil {
		t.Errorf("resources = %+v, want requests %v and no limits", c.Resources, wantRequests)
	}
}

func TestRenderProbesAndPorts(t *testing.T) {
	c := proxyContainer(t, mustRender(t, gate.Decision{Enabled: true, APIVIPs: []string{"192.0.2.5"}, IngressVIPs: []string{"192.0.2.10"}, Port: 18080}, ""))

	probe := func(path string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Host:   "127.0.0.1",
			Port:   intstr.FromInt32(names.DaemonHealthPort),
			Path:   path,
			Scheme: corev1.URISchemeHTTP,
		}}}
	}
	if c.ReadinessProbe == nil || c.LivenessProbe == nil {
		t.Fatalf("readiness %v, liveness %v: both probes are required", c.ReadinessProbe, c.LivenessProbe)
	}
	if diff := cmp.Diff(probe("/readyz").ProbeHandler, c.ReadinessProbe.ProbeHandler); diff != "" {
		t.Errorf("readiness probe (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(probe("/healthz").ProbeHandler, c.LivenessProbe.ProbeHandler); diff != "" {
		t.Errorf("liveness probe (-want +got):\n%s", diff)
	}

	wantPorts := []corev1.ContainerPort{
		{Name: "proxy", ContainerPort: 18080, HostPort: 18080, Protocol: corev1.ProtocolTCP},
		{Name: "health", ContainerPort: names.DaemonHealthPort, HostPort: names.DaemonHealthPort, Protocol: corev1.ProtocolTCP},
		{Name: "metrics", ContainerPort: names.DaemonMetricsPort, HostPort: names.DaemonMetricsPort, Protocol: corev1.ProtocolTCP},
	}
	if diff := cmp.Diff(wantPorts, c.Ports); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
}

// Rendering twice must give equal objects that share nothing, or the spec
// hash would change between syncs and every sync would roll the pods.
func TestRenderIsDeterministicAndFresh(t *testing.T) {
	a := mustRender(t, enabled, operatorv1.Trace)
	b := mustRender(t, enabled, operatorv1.Trace)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Fatalf("two renders differ (-first +second):\n%s", diff)
	}
	a.Spec.Template.Spec.Containers[0].Args[0] = "changed"
	if b.Spec.Template.Spec.Containers[0].Args[0] == "changed" {
		t.Fatalf("renders share their args slice")
	}
}

func TestRenderRejects(t *testing.T) {
	if _, err := Render(gate.Decision{Reason: gate.ReasonDisabledByConfiguration}, testImage, "", tlsprofile.FromAPIServer(nil)); err == nil {
		t.Errorf("Render() of a disabled decision succeeded")
	}
	if _, err := Render(enabled, "", "", tlsprofile.FromAPIServer(nil)); err == nil {
		t.Errorf("Render() without an image succeeded")
	}
}

func TestServes(t *testing.T) {
	ds := mustRender(t, enabled, operatorv1.Debug)
	tests := []struct {
		name     string
		decision gate.Decision
		want     bool
	}{
		{"the decision it was rendered for", enabled, true},
		{"another port", gate.Decision{Enabled: true, APIVIPs: enabled.APIVIPs, IngressVIPs: enabled.IngressVIPs, Port: 18080}, false},
		{"another API VIP", gate.Decision{Enabled: true, APIVIPs: []string{"192.0.2.5"}, IngressVIPs: enabled.IngressVIPs, Port: 8888}, false},
		{"another ingress VIP", gate.Decision{Enabled: true, APIVIPs: enabled.APIVIPs, IngressVIPs: []string{"192.0.2.11", "fd00::10"}, Port: 8888}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Serves(ds, tt.decision); got != tt.want {
				t.Errorf("Serves() = %v, want %v", got, tt.want)
			}
		})
	}
	if Serves(&appsv1.DaemonSet{}, enabled) {
		t.Errorf("Serves() = true for a DaemonSet without the proxy container")
	}
}

// The metrics TLS flags must name files that the kubelet mounts: the
// service-ca Secret's tls.crt and tls.key, and the client CA bundle of the
// copied ConfigMap. A typo would leave metrics unreadable without any error
// but the daemon's log.
func TestRenderMetricsFilesAreMounted(t *testing.T) {
	ds := mustRender(t, enabled, "")
	c := proxyContainer(t, ds)
	volumes := map[string]corev1.Volume{}
	for _, v := range ds.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{} // by mount path
	for _, m := range c.VolumeMounts {
		if !m.ReadOnly {
			t.Errorf("volume %s is mounted read-write; the daemon only reads it", m.Name)
		}
		mounts[m.MountPath] = m
	}

	tests := []struct {
		flag, volumeSource, object, key string
	}{
		{"--metrics-tls-cert-file", "secret", names.MetricsServingCertSecret, "tls.crt"},
		{"--metrics-tls-key-file", "secret", names.MetricsServingCertSecret, "tls.key"},
		{"--metrics-client-ca-file", "configMap", names.MetricsClientCAConfigMap, names.MetricsClientCAKey},
	}
	for _, tt := range tests {
		t.Run(tt.flag, func(t *testing.T) {
			file := flagValue(c.Args, tt.flag)
			mount, ok := mounts[path.Dir(file)]
			if !ok {
				t.Fatalf("%s=%s is in no mounted directory (mounts %v)", tt.flag, file, c.VolumeMounts)
			}
			v := volumes[mount.Name]
			switch {
			case tt.volumeSource == "secret" && v.Secret != nil:
				if v.Secret.SecretName != tt.object || path.Base(file) != tt.key || !ptr.Deref(v.Secret.Optional, false) {
					t.Errorf("%s=%s reads %s of Secret %s (optional %v), want %s of optional Secret %s",
						tt.flag, file, path.Base(file), v.Secret.SecretName, v.Secret.Optional, tt.key, tt.object)
				}
			case tt.volumeSource == "configMap" && v.ConfigMap != nil:
				want := []corev1.KeyToPath{{Key: tt.key, Path: path.Base(file)}}
				if v.ConfigMap.Name != tt.object || !ptr.Deref(v.ConfigMap.Optional, false) || !equality.Semantic.DeepEqual(want, v.ConfigMap.Items) {
					t.Errorf("%s=%s comes from ConfigMap %s (optional %v, items %v), want key %s of optional ConfigMap %s",
						tt.flag, file, v.ConfigMap.Name, v.ConfigMap.Optional, v.ConfigMap.Items, tt.key, tt.object)
				}
			default:
				t.Errorf("%s=%s is on volume %s, which is not a %s volume: %+v", tt.flag, file, mount.Name, tt.volumeSource, v.VolumeSource)
			}
		})
	}
}

func flagValue(args []string, flag string) string {
	for _, arg := range args {
		if value, ok := strings.CutPrefix(arg, flag+"="); ok {
			return value
		}
	}
	return ""
}
