package gate

import (
	"context"
	"errors"
	"slices"
	"testing"

	configv1 "github.com/openshift/api/config/v1"
	operatorv1 "github.com/openshift/api/operator/v1"
	configv1listers "github.com/openshift/client-go/config/listers/config/v1"
	"github.com/openshift/library-go/pkg/operator/v1helpers"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	proxyfake "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/clientset/versioned/fake"
	proxyinformers "github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/generated/informers/externalversions"
)

// fakeInfrastructures is an InfrastructureInformer over a fixed list; the
// openshift config fake clientset is not vendored.
type fakeInfrastructures struct{ informer cache.SharedIndexInformer }

func (f fakeInfrastructures) Informer() cache.SharedIndexInformer { return f.informer }
func (f fakeInfrastructures) Lister() configv1listers.InfrastructureLister {
	return configv1listers.NewInfrastructureLister(f.informer.GetIndexer())
}

func newFakeInfrastructures(objs ...runtime.Object) fakeInfrastructures {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(context.Context, metav1.ListOptions) (runtime.Object, error) {
			list := &configv1.InfrastructureList{}
			for _, o := range objs {
				list.Items = append(list.Items, *o.(*configv1.Infrastructure))
			}
			return list, nil
		},
		WatchFuncWithContext: func(context.Context, metav1.ListOptions) (watch.Interface, error) {
			return watch.NewFake(), nil
		},
	}
	return fakeInfrastructures{informer: cache.NewSharedIndexInformer(lw, &configv1.Infrastructure{}, 0, cache.Indexers{})}
}

// fakeClaims answers every claim the same way.
type fakeClaims struct {
	proven          bool
	reason, message string
	err             error
}

func (f fakeClaims) Evaluate(*configv1.Infrastructure) (bool, string, string, error) {
	return f.proven, f.reason, f.message, f.err
}

func (fakeClaims) Informers() []cache.SharedIndexInformer { return nil }

var provenClaim = fakeClaims{proven: true, reason: "APIHostClaimed"}

// inputsFor returns Inputs over fake sources holding the objects and an
// operator resource in the management state, with the API host claimed;
// started says whether the informers were started and synced.
func inputsFor(t *testing.T, started bool, state operatorv1.ManagementState, infra []runtime.Object, configs []runtime.Object) Inputs {
	return inputsWithClaims(t, started, state, infra, configs, provenClaim)
}

func inputsWithClaims(t *testing.T, started bool, state operatorv1.ManagementState, infra []runtime.Object, configs []runtime.Object, claims Claims) Inputs {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	infrastructures := newFakeInfrastructures(infra...)
	proxyFactory := proxyinformers.NewSharedInformerFactory(proxyfake.NewSimpleClientset(configs...), 0)
	operator := v1helpers.NewFakeOperatorClient(&operatorv1.OperatorSpec{ManagementState: state}, &operatorv1.OperatorStatus{}, nil)
	in := NewInputs(infrastructures, proxyFactory.Config().V1alpha1().HTTP01ChallengeProxies(), operator, claims)
	if started {
		go infrastructures.informer.Run(ctx.Done())
		proxyFactory.Start(ctx.Done())
		cache.WaitForCacheSync(ctx.Done(), infrastructures.informer.HasSynced)
		proxyFactory.WaitForCacheSync(ctx.Done())
	}
	return in
}

func TestInputsDecide(t *testing.T) {
	tests := []struct {
		name    string
		started bool
		state   operatorv1.ManagementState
		infra   []runtime.Object
		configs []runtime.Object

		wantErr    error // nil: any error when wantAnyErr
		wantAnyErr bool
		wantReason string
	}{
		{
			name:    "caches not synced: unknown, not disabled",
			state:   operatorv1.Managed,
			infra:   []runtime.Object{bareMetal()},
			configs: []runtime.Object{enabledByDefault},
			wantErr: ErrNotSynced,
		},
		{
			name:       "Infrastructure missing: unknown, not disabled",
			started:    true,
			state:      operatorv1.Managed,
			configs:    []runtime.Object{enabledByDefault},
			wantAnyErr: true,
		},
		{
			name:       "config missing: the default, disabled",
			started:    true,
			state:      operatorv1.Managed,
			infra:      []runtime.Object{bareMetal()},
			wantReason: ReasonDisabledByConfiguration,
		},
		{
			name:       "both present: decided",
			started:    true,
			state:      operatorv1.Managed,
			infra:      []runtime.Object{bareMetal()},
			configs:    []runtime.Object{enabledByDefault},
			wantReason: ReasonAsExpected,
		},
		{
			name:    "Unmanaged: leave everything as it is",
			started: true,
			state:   operatorv1.Unmanaged,
			infra:   []runtime.Object{bareMetal()},
			configs: []runtime.Object{enabledByDefault},
			wantErr: ErrUnmanaged,
		},
		{
			name:       "Removed wins over an enabled config",
			started:    true,
			state:      operatorv1.Removed,
			infra:      []runtime.Object{bareMetal()},
			configs:    []runtime.Object{enabledByDefault},
			wantReason: ReasonRemoved,
		},
		{
			name:       "Removed needs no Infrastructure",
			started:    true,
			state:      operatorv1.Removed,
			wantReason: ReasonRemoved,
		},
		{
			name:       "Force is managed, as library-go has it",
			started:    true,
			state:      operatorv1.Force,
			infra:      []runtime.Object{bareMetal()},
			configs:    []runtime.Object{enabledByDefault},
			wantReason: ReasonAsExpected,
		},
		{
			name:       "an empty management state is managed, as library-go has it",
			started:    true,
			infra:      []runtime.Object{bareMetal()},
			configs:    []runtime.Object{enabledByDefault},
			wantReason: ReasonAsExpected,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := inputsFor(t, tt.started, tt.state, tt.infra, tt.configs).Decide()
			switch {
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Decide() = %+v, %v; want error %v", got, err, tt.wantErr)
				}
				return
			case tt.wantAnyErr:
				if err == nil {
					t.Fatalf("Decide() = %+v, want an error", got)
				}
				return
			case err != nil:
				t.Fatalf("Decide() error = %v", err)
			}
			if got.Reason != tt.wantReason {
				t.Errorf("Decide() reason = %q, want %q", got.Reason, tt.wantReason)
			}
			if tt.wantReason != ReasonAsExpected && got.Enabled {
				t.Errorf("Decide() = %+v: enabled with reason %s", got, got.Reason)
			}
		})
	}
}

// The proxy runs only once the API host is the platform's: an unproven
// claim disables it with the claim's reason, an unknown one is unknown, and
// the platform's own decision, on which the claim is held, ignores it.
func TestInputsDecideWaitsForTheClaim(t *testing.T) {
	unproven := fakeClaims{reason: "APIHostClaimedByAnotherNamespace", message: "tenant/stolen holds it"}
	for _, tc := range []struct {
		name       string
		claims     fakeClaims
		infra      []runtime.Object
		wantReason string
		wantErr    bool
	}{
		{name: "claimed: enabled", claims: provenClaim, infra: []runtime.Object{bareMetal()}, wantReason: ReasonAsExpected},
		{name: "claimed elsewhere: disabled with the claim's reason", claims: unproven, infra: []runtime.Object{bareMetal()}, wantReason: unproven.reason},
		{name: "unknown claim: unknown", claims: fakeClaims{err: errors.New("not synced")}, infra: []runtime.Object{bareMetal()}, wantErr: true},
		{name: "a platform that disables: no claim asked", claims: fakeClaims{err: errors.New("must not be asked")}, infra: []runtime.Object{onAWS()}, wantReason: ReasonUnsupportedPlatform},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := inputsWithClaims(t, true, operatorv1.Managed, tc.infra, []runtime.Object{enabledByDefault}, tc.claims)
			got, err := in.Decide()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Decide() = %+v, want an error", got)
				}
				return
			}
			if err != nil || got.Reason != tc.wantReason || got.Enabled != (tc.wantReason == ReasonAsExpected) {
				t.Fatalf("Decide() = %+v, %v; want reason %s", got, err, tc.wantReason)
			}
			if got.Reason == unproven.reason && got.Message != unproven.message {
				t.Errorf("Decide() message %q, want the claim's %q", got.Message, unproven.message)
			}
			platform, err := in.DecidePlatform()
			if err != nil || platform.Enabled != slices.ContainsFunc(tc.infra, isBareMetal) {
				t.Errorf("DecidePlatform() = %+v, %v; want the platform's decision, whatever the claim", platform, err)
			}
		})
	}
}

func isBareMetal(o runtime.Object) bool {
	infra := o.(*configv1.Infrastructure)
	return infra.Status.PlatformStatus != nil && infra.Status.PlatformStatus.Type == configv1.BareMetalPlatformType
}

func onAWS() *configv1.Infrastructure {
	infra := bareMetal()
	infra.Status.Platform = configv1.AWSPlatformType
	infra.Status.PlatformStatus = &configv1.PlatformStatus{Type: configv1.AWSPlatformType}
	return infra
}
