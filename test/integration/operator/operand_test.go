//go:build integration

package operator

import (
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// operandObject is one object that the operator creates in the operand
// namespace while the proxy is enabled, besides the DaemonSet.
type operandObject struct {
	name string
	get  func(e *env) (metav1.Object, error)
}

// operandObjects are all of them: what the static resource controller
// applies, and the copy of the client CA bundle.
var operandObjects = []operandObject{
	{"serviceaccount/" + names.OperandName, func(e *env) (metav1.Object, error) {
		return e.kube.CoreV1().ServiceAccounts(names.OperandNamespace).Get(e.ctx(), names.OperandName, metav1.GetOptions{})
	}},
	{"role/" + names.OperandName + "-scc", func(e *env) (metav1.Object, error) {
		return e.kube.RbacV1().Roles(names.OperandNamespace).Get(e.ctx(), names.OperandName+"-scc", metav1.GetOptions{})
	}},
	{"rolebinding/" + names.OperandName + "-scc", func(e *env) (metav1.Object, error) {
		return e.kube.RbacV1().RoleBindings(names.OperandNamespace).Get(e.ctx(), names.OperandName+"-scc", metav1.GetOptions{})
	}},
	{"service/" + names.MetricsService, func(e *env) (metav1.Object, error) {
		return e.kube.CoreV1().Services(names.OperandNamespace).Get(e.ctx(), names.MetricsService, metav1.GetOptions{})
	}},
	{"configmap/" + names.MetricsClientCAConfigMap, func(e *env) (metav1.Object, error) {
		return e.kube.CoreV1().ConfigMaps(names.OperandNamespace).Get(e.ctx(), names.MetricsClientCAConfigMap, metav1.GetOptions{})
	}},
}

// operandResourcesAre checks that every operand object exists (present) or
// that none does.
func (e *env) operandResourcesAre(present bool) func() error {
	return func() error {
		var wrong []string
		for _, o := range operandObjects {
			_, err := o.get(e)
			switch {
			case present && err != nil:
				wrong = append(wrong, fmt.Sprintf("%s: %v", o.name, err))
			case !present && err == nil:
				wrong = append(wrong, o.name+" still exists")
			case !present && !apierrors.IsNotFound(err):
				wrong = append(wrong, fmt.Sprintf("%s: %v", o.name, err))
			}
		}
		if len(wrong) > 0 {
			return fmt.Errorf("%s", strings.Join(wrong, "; "))
		}
		return nil
	}
}

// identity is what tells an object apart from a recreated or respecified
// one.
type identity struct {
	UID        string
	Generation int64
}

// operandIdentities returns the identity of the DaemonSet and of every
// operand object, by name.
func (e *env) operandIdentities() map[string]identity {
	e.t.Helper()
	ids := map[string]identity{}
	record := func(name string, obj metav1.Object, err error) {
		if err != nil {
			e.t.Fatalf("reading %s: %v", name, err)
		}
		ids[name] = identity{UID: string(obj.GetUID()), Generation: obj.GetGeneration()}
	}
	ds, err := e.daemonSet()
	record(daemonSetName, ds, err)
	for _, o := range operandObjects {
		obj, err := o.get(e)
		record(o.name, obj, err)
	}
	return ids
}

const daemonSetName = "daemonset/" + names.OperandName

// sortedNames is for messages that list what was checked.
func sortedNames(m map[string]identity) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
