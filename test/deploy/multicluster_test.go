package deploy

import (
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
)

// multiclusterDir holds the RBAC that `multicluster` needs beside deploy/.
const multiclusterDir = "../../deploy/multicluster"

// TestMulticlusterRBAC checks, without a cluster, that the optional multicluster RBAC grants list
// and watch of ServiceImports, nothing else, to the ServiceAccount of deploy/. TestManifestsApply
// applies it with server-side dry-run.
func TestMulticlusterRBAC(t *testing.T) {
	o := collect(t, loadManifests(t))
	var role *rbacv1.ClusterRole
	var binding *rbacv1.ClusterRoleBinding
	for _, m := range loadManifestsIn(t, multiclusterDir) {
		switch obj := m.obj.(type) {
		case *rbacv1.ClusterRole:
			once(t, &role, m)
		case *rbacv1.ClusterRoleBinding:
			once(t, &binding, m)
		default:
			t.Errorf("unexpected object %s: %T", m, obj)
		}
	}
	if role == nil || binding == nil {
		t.Fatal("want a ClusterRole and a ClusterRoleBinding")
	}
	want := rbacv1.PolicyRule{APIGroups: []string{"multicluster.x-k8s.io"}, Resources: []string{"serviceimports"}, Verbs: []string{"list", "watch"}}
	if len(role.Rules) != 1 || !equalRule(role.Rules[0], want) {
		t.Errorf("ClusterRole rules %+v, want only %+v", role.Rules, want)
	}
	if binding.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name}) {
		t.Errorf("roleRef %+v, want ClusterRole %s", binding.RoleRef, role.Name)
	}
	wantSubject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: o.sa.Name, Namespace: o.sa.Namespace}
	if len(binding.Subjects) != 1 || binding.Subjects[0] != wantSubject {
		t.Errorf("subjects %+v, want only %+v", binding.Subjects, wantSubject)
	}
	if role.Name == o.role.Name || binding.Name == o.binding.Name {
		t.Error("the multicluster RBAC must not replace the base ClusterRole or its binding")
	}
}

func equalRule(a, b rbacv1.PolicyRule) bool {
	eq := func(x, y []string) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if x[i] != y[i] {
				return false
			}
		}
		return true
	}
	return eq(a.APIGroups, b.APIGroups) && eq(a.Resources, b.Resources) && eq(a.Verbs, b.Verbs) &&
		len(a.ResourceNames) == 0 && len(a.NonResourceURLs) == 0
}
