package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// autoscalerDir holds the cluster-proportional-autoscaler that scales deploy/'s Deployment.
const autoscalerDir = "../../deploy/autoscaler"

// autoscaler is what autoscalerDir holds, one object of each kind.
type autoscaler struct {
	sa             *corev1.ServiceAccount
	clusterRole    *rbacv1.ClusterRole
	clusterBinding *rbacv1.ClusterRoleBinding
	role           *rbacv1.Role
	binding        *rbacv1.RoleBinding
	configMap      *corev1.ConfigMap
	deployment     *appsv1.Deployment
}

func collectAutoscaler(t *testing.T) autoscaler {
	t.Helper()
	var a autoscaler
	for _, m := range loadManifestsIn(t, autoscalerDir) {
		if m.gvk.Kind != "ClusterRole" && m.gvk.Kind != "ClusterRoleBinding" {
			if ns := m.obj.(interface{ GetNamespace() string }).GetNamespace(); ns != namespace {
				t.Errorf("%s: namespace %q, want %q", m, ns, namespace)
			}
		}
		switch obj := m.obj.(type) {
		case *corev1.ServiceAccount:
			once(t, &a.sa, m)
		case *rbacv1.ClusterRole:
			once(t, &a.clusterRole, m)
		case *rbacv1.ClusterRoleBinding:
			once(t, &a.clusterBinding, m)
		case *rbacv1.Role:
			once(t, &a.role, m)
		case *rbacv1.RoleBinding:
			once(t, &a.binding, m)
		case *corev1.ConfigMap:
			once(t, &a.configMap, m)
		case *appsv1.Deployment:
			once(t, &a.deployment, m)
		default:
			t.Errorf("unexpected object %s: %T", m, obj)
		}
	}
	if a.sa == nil || a.clusterRole == nil || a.clusterBinding == nil || a.role == nil || a.binding == nil || a.configMap == nil || a.deployment == nil {
		t.Fatalf("want a ServiceAccount, ClusterRole, ClusterRoleBinding, Role, RoleBinding, ConfigMap and Deployment, got %+v", a)
	}
	return a
}

// linearParams is the autoscaler's linear mode, as its ConfigMap and --default-params give it.
type linearParams struct {
	CoresPerReplica           float64 `json:"coresPerReplica"`
	NodesPerReplica           float64 `json:"nodesPerReplica"`
	Min                       int     `json:"min"`
	Max                       int     `json:"max"`
	PreventSinglePointFailure bool    `json:"preventSinglePointFailure"`
	IncludeUnschedulableNodes bool    `json:"includeUnschedulableNodes"`
}

// replicas is the autoscaler's linear formula (cluster-proportional-autoscaler, linear_controller.go).
func (p linearParams) replicas(nodes, cores int) int {
	r := max(int(math.Ceil(float64(cores)/p.CoresPerReplica)), int(math.Ceil(float64(nodes)/p.NodesPerReplica)))
	if p.Max > 0 {
		r = min(r, p.Max)
	}
	r = max(r, p.Min)
	if p.PreventSinglePointFailure && nodes > 1 {
		r = max(r, 2)
	}
	return r
}

// TestAutoscaler checks, without a cluster, that the autoscaler scales deploy/'s Deployment with
// the parameters the README derives, and that its pods are not DNS servers. TestManifestsApply
// applies it with server-side dry-run and checks its grants.
func TestAutoscaler(t *testing.T) {
	o := collect(t, loadManifests(t))
	a := collectAutoscaler(t)

	c := a.deployment.Spec.Template.Spec.Containers
	if len(c) != 1 {
		t.Fatalf("%d containers, want 1", len(c))
	}
	if !strings.HasPrefix(c[0].Image, "registry.k8s.io/cpa/cluster-proportional-autoscaler:") {
		t.Errorf("image %q", c[0].Image)
	}
	flags := map[string]string{}
	for _, arg := range c[0].Command[1:] {
		k, v, _ := strings.Cut(arg, "=")
		flags[k] = v
	}
	for flag, want := range map[string]string{
		"--target":    "deployment/" + o.deployment.Name,
		"--namespace": o.deployment.Namespace,
		"--configmap": a.configMap.Name,
	} {
		if flags[flag] != want {
			t.Errorf("%s=%q, want %q", flag, flags[flag], want)
		}
	}
	if a.deployment.Spec.Template.Spec.ServiceAccountName != a.sa.Name {
		t.Errorf("serviceAccountName %q, want %q", a.deployment.Spec.Template.Spec.ServiceAccountName, a.sa.Name)
	}
	if labels.SelectorFromSet(o.service.Spec.Selector).Matches(labels.Set(a.deployment.Spec.Template.Labels)) {
		t.Errorf("the autoscaler's pods %v would sit behind Service %s", a.deployment.Spec.Template.Labels, o.service.Name)
	}

	var params linearParams
	if err := json.Unmarshal([]byte(a.configMap.Data["linear"]), &params); err != nil {
		t.Fatalf("ConfigMap %s linear: %v", a.configMap.Name, err)
	}
	var defaults struct{ Linear linearParams }
	if err := json.Unmarshal([]byte(flags["--default-params"]), &defaults); err != nil {
		t.Fatalf("--default-params: %v", err)
	}
	if defaults.Linear != params {
		t.Errorf("--default-params %+v differ from the ConfigMap's %+v", defaults.Linear, params)
	}
	// The README's examples (Performance, Scaling out).
	for _, c := range []struct{ nodes, cores, want int }{
		{3, 12, 2}, {100, 1600, 9}, {1000, 16000, 84}, {5000, 80000, 417}, {50, 3200, 16},
	} {
		if got := params.replicas(c.nodes, c.cores); got != c.want {
			t.Errorf("%d nodes, %d cores: %d replicas, want %d", c.nodes, c.cores, got, c.want)
		}
	}

	t.Run("rbac", func(t *testing.T) {
		if len(a.clusterRole.Rules) != 1 || !equalRule(a.clusterRole.Rules[0], rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list", "watch"}}) {
			t.Errorf("ClusterRole rules %+v, want list and watch of nodes only", a.clusterRole.Rules)
		}
		for _, r := range a.role.Rules {
			if slices.Contains(r.Resources, "deployments/scale") && !slices.Equal(r.ResourceNames, []string{o.deployment.Name}) {
				t.Errorf("Role scales %v, want only %s", r.ResourceNames, o.deployment.Name)
			}
		}
		subject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: a.sa.Name, Namespace: a.sa.Namespace}
		if a.clusterBinding.RoleRef.Name != a.clusterRole.Name || len(a.clusterBinding.Subjects) != 1 || a.clusterBinding.Subjects[0] != subject {
			t.Errorf("ClusterRoleBinding %+v %+v", a.clusterBinding.RoleRef, a.clusterBinding.Subjects)
		}
		if a.binding.RoleRef.Kind != "Role" || a.binding.RoleRef.Name != a.role.Name || len(a.binding.Subjects) != 1 || a.binding.Subjects[0] != subject {
			t.Errorf("RoleBinding %+v %+v", a.binding.RoleRef, a.binding.Subjects)
		}
		if a.clusterRole.Name == o.role.Name || a.sa.Name == o.sa.Name {
			t.Error("the autoscaler must not replace clusterdns's own ServiceAccount or ClusterRole")
		}
	})
}

// checkAutoscalerGrants applies the autoscaler's RBAC with apply and asks the API server what its
// ServiceAccount may do: what the autoscaler needs, and not other Deployments or ConfigMaps.
func checkAutoscalerGrants(ctx context.Context, t *testing.T, cp *controlplane.ControlPlane, apply func(*testing.T, manifest, bool)) {
	for _, m := range loadManifestsIn(t, autoscalerDir) {
		switch m.obj.(type) {
		case *corev1.ServiceAccount, *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding, *rbacv1.Role, *rbacv1.RoleBinding:
			apply(t, m, false)
		}
	}
	a := collectAutoscaler(t)
	user := fmt.Sprintf("system:serviceaccount:%s:%s", a.sa.Namespace, a.sa.Name)
	scale := func(name, verb string) authorizationv1.ResourceAttributes {
		return authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Group: "apps", Resource: "deployments", Subresource: "scale", Name: name}
	}
	configMap := func(name, verb string) authorizationv1.ResourceAttributes {
		return authorizationv1.ResourceAttributes{Namespace: namespace, Verb: verb, Resource: "configmaps", Name: name}
	}
	allowed := map[string]authorizationv1.ResourceAttributes{
		"list nodes":           {Verb: "list", Resource: "nodes"},
		"watch nodes":          {Verb: "watch", Resource: "nodes"},
		"get scale":            scale("clusterdns", "get"),
		"update scale":         scale("clusterdns", "update"),
		"patch scale":          scale("clusterdns", "patch"),
		"get its configmap":    configMap(a.configMap.Name, "get"),
		"create its configmap": configMap("", "create"),
	}
	denied := map[string]authorizationv1.ResourceAttributes{
		"update another scale":       scale("coredns", "update"),
		"update the deployment":      {Namespace: namespace, Verb: "update", Group: "apps", Resource: "deployments", Name: "clusterdns"},
		"get another configmap":      configMap("clusterdns", "get"),
		"scale in another namespace": {Namespace: "default", Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale", Name: "clusterdns"},
		"list pods":                  {Verb: "list", Resource: "pods"},
	}
	// The RBAC authorizer learns of new bindings through its informers: poll the grants for at
	// most 30 s; the denials are asked once after.
	pollCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, what := range slices.Sorted(maps.Keys(allowed)) {
		for {
			ok, err := may(ctx, cp, user, allowed[what])
			if err != nil {
				t.Fatalf("SubjectAccessReview %s: %v", what, err)
			}
			if ok {
				break
			}
			select {
			case <-pollCtx.Done():
				t.Fatalf("%s may not %s after 30s", user, what)
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	for _, what := range slices.Sorted(maps.Keys(denied)) {
		if ok, err := may(ctx, cp, user, denied[what]); err != nil || ok {
			t.Errorf("%s may %s (err %v), want denied", user, what, err)
		}
	}
}

// may asks the API server whether the ServiceAccount user may do attrs.
func may(ctx context.Context, cp *controlplane.ControlPlane, user string, attrs authorizationv1.ResourceAttributes) (bool, error) {
	sar, err := cp.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:               user,
			Groups:             []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
			ResourceAttributes: &attrs,
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return sar.Status.Allowed, nil
}
