package localcluster

import (
	"context"
	"fmt"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/openshift/cluster-http01-challenge-proxy-operator/pkg/operator/names"
)

// rbacWorkaround is a permission the local cluster grants the operator's
// ServiceAccount on top of manifests/, to get past a known bug of the
// operator. Up applies one only while the ServiceAccount lacks the
// permission, and says so; delete the entry once the bug is fixed.
type rbacWorkaround struct {
	// bug says what is wrong, for the admin reading Up's output.
	bug  string
	rule rbacv1.PolicyRule
}

var operatorRBACWorkarounds = []rbacWorkaround{{
	bug: "the operator lists and watches http01challengeproxies.operator.openshift.io at cluster scope " +
		"(genericoperatorclient's informer has no field selector), but its ClusterRole in manifests/ allows " +
		"list and watch only with resourceNames [cluster], which RBAC matches only for requests with a " +
		"metadata.name field selector; on a real cluster the operator would never report",
	rule: rbacv1.PolicyRule{APIGroups: []string{"operator.openshift.io"}, Resources: []string{"http01challengeproxies"}, Verbs: []string{"list", "watch"}},
}}

// workaroundRoleName names the ClusterRole and binding of the workarounds.
const workaroundRoleName = "local-cluster:workaround:http01-challenge-proxy-operator"

// applyOperatorWorkarounds grants the workarounds the operator still needs
// and returns the bugs they work around.
func applyOperatorWorkarounds(ctx context.Context, kube kubernetes.Interface) ([]string, error) {
	user, groups := operatorUser()
	var needed []rbacv1.PolicyRule
	var bugs []string
	for _, w := range operatorRBACWorkarounds {
		missing := false
		for _, verb := range w.rule.Verbs {
			review, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{
					User: user, Groups: groups,
					ResourceAttributes: &authorizationv1.ResourceAttributes{
						Group: w.rule.APIGroups[0], Resource: w.rule.Resources[0], Verb: verb,
					},
				},
			}, metav1.CreateOptions{})
			if err != nil {
				return nil, err
			}
			missing = missing || !review.Status.Allowed
		}
		if missing {
			needed = append(needed, w.rule)
			bugs = append(bugs, w.bug)
		}
	}
	if len(needed) == 0 {
		return nil, nil
	}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: workaroundRoleName}, Rules: needed}
	if _, err := kube.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating the workaround ClusterRole: %w", err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: workaroundRoleName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: workaroundRoleName},
		Subjects: []rbacv1.Subject{{
			Kind: rbacv1.ServiceAccountKind, Namespace: names.OperatorNamespace, Name: names.OperatorServiceAccount,
		}},
	}
	if _, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating the workaround ClusterRoleBinding: %w", err)
	}
	return bugs, nil
}
