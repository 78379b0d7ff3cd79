// Package deploy checks the manifests in deploy/: they decode with
// client-go's scheme, a real kube-apiserver accepts every object through
// server-side apply (dry run), and they hold the facts the project relies on.
package deploy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/restmapper"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// deployDir is deploy/ at the root of the module, seen from this package.
const deployDir = "../../deploy"

const (
	namespace    = "kube-system"
	fieldManager = "clusterdns-deploy-test"
	serviceIP    = "10.96.0.10"
)

// manifest is one YAML document of deploy/, decoded.
type manifest struct {
	file string // base name, for messages
	doc  []byte // the document as written
	obj  runtime.Object
	gvk  schema.GroupVersionKind
}

func (m manifest) String() string {
	name := ""
	if o, err := meta.Accessor(m.obj); err == nil {
		name = o.GetName()
	}
	return fmt.Sprintf("%s %s %q", m.file, m.gvk.Kind, name)
}

// loadManifests decodes every document of every deploy/*.yaml, in file name
// order (the order kubectl apply -f deploy/ uses), with client-go's scheme.
func loadManifests(t *testing.T) []manifest { return loadManifestsIn(t, deployDir) }

// loadManifestsIn is loadManifests of the *.yaml files of dir.
func loadManifestsIn(t *testing.T, dir string) []manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.yaml in %s", dir)
	}
	slices.Sort(files)
	decoder := scheme.Codecs.UniversalDeserializer()
	var out []manifest
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for i := 0; ; i++ {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: document %d: %v", file, i, err)
			}
			// A document of comments or whitespace only is no object.
			if j, err := utilyaml.ToJSON(doc); err != nil {
				t.Fatalf("%s: document %d: %v", file, i, err)
			} else if s := strings.TrimSpace(string(j)); s == "null" || s == "" {
				continue
			}
			obj, gvk, err := decoder.Decode(doc, nil, nil)
			if err != nil {
				t.Fatalf("%s: document %d: decode with client-go scheme: %v", file, i, err)
			}
			out = append(out, manifest{file: filepath.Base(file), doc: doc, obj: obj, gvk: *gvk})
		}
	}
	return out
}

// objects holds the decoded manifests by kind; each kind is expected once.
type objects struct {
	sa         *corev1.ServiceAccount
	role       *rbacv1.ClusterRole
	binding    *rbacv1.ClusterRoleBinding
	configMap  *corev1.ConfigMap
	deployment *appsv1.Deployment
	service    *corev1.Service
	pdb        *policyv1.PodDisruptionBudget
}

// once stores m's object in *dst, failing if the kind came before.
func once[T any](t *testing.T, dst **T, m manifest) {
	t.Helper()
	if *dst != nil {
		t.Errorf("second %s in deploy/: %s", m.gvk.Kind, m)
	}
	*dst = any(m.obj).(*T)
}

func collect(t *testing.T, ms []manifest) objects {
	t.Helper()
	var o objects
	for _, m := range ms {
		switch m.obj.(type) {
		case *corev1.ServiceAccount:
			once(t, &o.sa, m)
		case *rbacv1.ClusterRole:
			once(t, &o.role, m)
		case *rbacv1.ClusterRoleBinding:
			once(t, &o.binding, m)
		case *corev1.ConfigMap:
			once(t, &o.configMap, m)
		case *appsv1.Deployment:
			once(t, &o.deployment, m)
		case *corev1.Service:
			once(t, &o.service, m)
		case *policyv1.PodDisruptionBudget:
			once(t, &o.pdb, m)
		default:
			t.Errorf("unexpected object in deploy/: %s", m)
		}
	}
	for kind, missing := range map[string]bool{
		"ServiceAccount": o.sa == nil, "ClusterRole": o.role == nil, "ClusterRoleBinding": o.binding == nil,
		"ConfigMap": o.configMap == nil, "Deployment": o.deployment == nil, "Service": o.service == nil,
		"PodDisruptionBudget": o.pdb == nil,
	} {
		if missing {
			t.Errorf("deploy/ has no %s", kind)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	return o
}

// TestManifestFacts checks, without a cluster, what the project relies on.
func TestManifestFacts(t *testing.T) {
	ms := loadManifests(t)
	o := collect(t, ms)

	for _, m := range ms {
		acc, err := meta.Accessor(m.obj)
		if err != nil {
			t.Fatal(err)
		}
		switch m.obj.(type) {
		case *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding:
			if acc.GetNamespace() != "" {
				t.Errorf("%s: cluster-scoped object has namespace %q", m, acc.GetNamespace())
			}
		default:
			if acc.GetNamespace() != namespace {
				t.Errorf("%s: namespace %q, want %q", m, acc.GetNamespace(), namespace)
			}
		}
	}

	t.Run("rbac", func(t *testing.T) {
		if o.sa.Name != "clusterdns" {
			t.Errorf("ServiceAccount %q, want clusterdns", o.sa.Name)
		}
		if o.role.Name != "system:clusterdns" {
			t.Errorf("ClusterRole %q, want system:clusterdns", o.role.Name)
		}
		type grant struct{ group, resource, verb string }
		want := map[grant]bool{}
		for _, r := range []struct{ group, resource string }{
			{"", "services"}, {"", "namespaces"}, {"", "pods"}, {"discovery.k8s.io", "endpointslices"},
		} {
			for _, v := range []string{"list", "watch"} {
				want[grant{r.group, r.resource, v}] = true
			}
		}
		got := map[grant]bool{}
		for i, rule := range o.role.Rules {
			if len(rule.ResourceNames) > 0 || len(rule.NonResourceURLs) > 0 {
				t.Errorf("rule %d: resourceNames %v / nonResourceURLs %v, want none", i, rule.ResourceNames, rule.NonResourceURLs)
			}
			for _, g := range rule.APIGroups {
				for _, r := range rule.Resources {
					for _, v := range rule.Verbs {
						got[grant{g, r, v}] = true
					}
				}
			}
		}
		if !maps.Equal(got, want) {
			t.Errorf("ClusterRole grants %v\nwant exactly %v", got, want)
		}
		b := o.binding
		if b.RoleRef != (rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: o.role.Name}) {
			t.Errorf("ClusterRoleBinding roleRef %+v, want ClusterRole %s", b.RoleRef, o.role.Name)
		}
		wantSubject := rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: o.sa.Name, Namespace: o.sa.Namespace}
		if len(b.Subjects) != 1 || b.Subjects[0] != wantSubject {
			t.Errorf("ClusterRoleBinding subjects %+v, want only %+v", b.Subjects, wantSubject)
		}
	})

	t.Run("corefile", func(t *testing.T) {
		corefile, ok := o.configMap.Data["Corefile"]
		if o.configMap.Name != "clusterdns" || !ok {
			t.Fatalf("want ConfigMap clusterdns with key Corefile, got %q with keys %v", o.configMap.Name, slices.Sorted(maps.Keys(o.configMap.Data)))
		}
		// Parsed as CoreDNS parses it, accepting the stock directives plus clusterdns
		// (what make coredns compiles in).
		valid := append(slices.Clone(dnsserver.Directives), "clusterdns")
		blocks, err := caddyfile.Parse("Corefile", strings.NewReader(corefile), valid)
		if err != nil {
			t.Fatalf("Corefile does not parse: %v", err)
		}
		if len(blocks) != 1 || !slices.Equal(blocks[0].Keys, []string{".:53"}) {
			t.Fatalf("want one server block .:53, got %d blocks (first keys %v)", len(blocks), blocks[0].Keys)
		}
		toks := blocks[0].Tokens
		stanza := toks["clusterdns"]
		if len(stanza) == 0 {
			t.Fatal("Corefile has no clusterdns stanza")
		}
		var words []string
		for _, tok := range stanza {
			words = append(words, tok.Text)
		}
		line := strings.Join(words, " ")
		for _, want := range []string{"clusterdns cluster.local in-addr.arpa ip6.arpa {", "pods insecure", "fallthrough in-addr.arpa ip6.arpa", "ttl 30"} {
			if !strings.Contains(line, want) {
				t.Errorf("clusterdns stanza %q lacks %q", line, want)
			}
		}
		if _, ok := toks["kubernetes"]; ok {
			t.Error("Corefile still has a kubernetes stanza")
		}
		// The probes and the Service's metrics port depend on these.
		for _, dir := range []string{"health", "ready", "prometheus", "forward", "cache", "reload"} {
			if _, ok := toks[dir]; !ok {
				t.Errorf("Corefile lacks %s", dir)
			}
		}
		if words := tokenTexts(toks["prometheus"]); !slices.Equal(words, []string{"prometheus", ":9153"}) {
			t.Errorf("prometheus stanza %v, want :9153", words)
		}
	})

	t.Run("deployment", func(t *testing.T) {
		d := o.deployment
		spec := d.Spec.Template.Spec
		if d.Name != "clusterdns" || d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
			t.Errorf("want Deployment clusterdns with 2 replicas, got %q %v", d.Name, d.Spec.Replicas)
		}
		if d.Spec.Template.Labels["k8s-app"] != "kube-dns" {
			t.Errorf("pod labels %v lack k8s-app: kube-dns", d.Spec.Template.Labels)
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			t.Errorf("Deployment selector %v does not match its pod labels %v (%v)", d.Spec.Selector, d.Spec.Template.Labels, err)
		}
		if spec.ServiceAccountName != o.sa.Name {
			t.Errorf("serviceAccountName %q, want %q", spec.ServiceAccountName, o.sa.Name)
		}
		if spec.DNSPolicy != corev1.DNSDefault {
			t.Errorf("dnsPolicy %q, want Default", spec.DNSPolicy)
		}
		if spec.PriorityClassName != "system-cluster-critical" {
			t.Errorf("priorityClassName %q", spec.PriorityClassName)
		}
		if len(spec.Containers) != 1 {
			t.Fatalf("%d containers, want 1", len(spec.Containers))
		}
		c := spec.Containers[0]
		checkProbe(t, "readiness", c.ReadinessProbe, "/ready", 8181)
		checkProbe(t, "liveness", c.LivenessProbe, "/health", 8080)
		if !slices.Equal(c.Args, []string{"-conf", "/etc/coredns/Corefile"}) {
			t.Errorf("args %v", c.Args)
		}
		// The Corefile reaches -conf through the ConfigMap volume.
		mounted := false
		for _, vm := range c.VolumeMounts {
			if vm.MountPath != "/etc/coredns" {
				continue
			}
			for _, v := range spec.Volumes {
				if v.Name == vm.Name && v.ConfigMap != nil && v.ConfigMap.Name == o.configMap.Name {
					mounted = true
				}
			}
		}
		if !mounted {
			t.Errorf("ConfigMap %s is not mounted at /etc/coredns", o.configMap.Name)
		}
		type port struct {
			port  int32
			proto corev1.Protocol
		}
		var ports []port
		for _, p := range c.Ports {
			ports = append(ports, port{p.ContainerPort, p.Protocol})
		}
		if want := []port{{53, corev1.ProtocolUDP}, {53, corev1.ProtocolTCP}, {9153, corev1.ProtocolTCP}}; !slices.Equal(ports, want) {
			t.Errorf("container ports %v, want %v", ports, want)
		}
		sc := c.SecurityContext
		if sc == nil || sc.Capabilities == nil ||
			!slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_BIND_SERVICE"}) ||
			!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			t.Errorf("container securityContext %+v, want the stock CoreDNS one", sc)
		}
	})

	t.Run("service", func(t *testing.T) {
		s := o.service
		if s.Name != "kube-dns" || s.Spec.ClusterIP != serviceIP {
			t.Errorf("want Service kube-dns at %s, got %q at %q", serviceIP, s.Name, s.Spec.ClusterIP)
		}
		if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(o.deployment.Spec.Template.Labels)) {
			t.Errorf("Service selector %v does not match the Deployment's pod labels %v", s.Spec.Selector, o.deployment.Spec.Template.Labels)
		}
		// Container ports the Service's ports resolve to (targetPort unset = port).
		for _, p := range s.Spec.Ports {
			target := p.TargetPort.IntVal
			if p.TargetPort.IntVal == 0 && p.TargetPort.StrVal == "" {
				target = p.Port
			}
			found := false
			for _, cp := range o.deployment.Spec.Template.Spec.Containers[0].Ports {
				if cp.Protocol == p.Protocol && (cp.ContainerPort == target || (p.TargetPort.StrVal != "" && cp.Name == p.TargetPort.StrVal)) {
					found = true
				}
			}
			if !found {
				t.Errorf("Service port %s %d/%s reaches no container port", p.Name, p.Port, p.Protocol)
			}
		}
		if s.Annotations["prometheus.io/port"] != "9153" || s.Annotations["prometheus.io/scrape"] != "true" {
			t.Errorf("Service annotations %v", s.Annotations)
		}
	})

	t.Run("pdb", func(t *testing.T) {
		p := o.pdb
		if p.Spec.MaxUnavailable == nil || p.Spec.MaxUnavailable.String() != "1" {
			t.Errorf("PodDisruptionBudget maxUnavailable %v, want 1", p.Spec.MaxUnavailable)
		}
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(o.deployment.Spec.Template.Labels)) {
			t.Errorf("PodDisruptionBudget selector %v does not match the Deployment's pods (%v)", p.Spec.Selector, err)
		}
	})
}

func tokenTexts(toks []caddyfile.Token) []string {
	var out []string
	for _, t := range toks {
		out = append(out, t.Text)
	}
	return out
}

func checkProbe(t *testing.T, what string, p *corev1.Probe, path string, port int) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s probe: want httpGet %s :%d, got %+v", what, path, port, p)
		return
	}
	if p.HTTPGet.Path != path || p.HTTPGet.Port.IntValue() != port {
		t.Errorf("%s probe: httpGet %s :%s, want %s :%d", what, p.HTTPGet.Path, p.HTTPGet.Port.String(), path, port)
	}
}

// TestManifestsApply applies every object to a real kube-apiserver with
// server-side apply in dry-run mode, then for real, and checks that the
// ServiceAccount gets what the ClusterRole promises.
func TestManifestsApply(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real control plane")
	}
	ms := loadManifests(t)
	o := collect(t, ms)

	ctx, cancel := context.WithTimeout(t.Context(), controlplane.BuildTimeout)
	defer cancel()
	binDir, err := controlplane.BinDir(ctx)
	if err != nil {
		t.Fatal(err)
	}
	startCtx, cancelStart := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelStart()
	cp, err := controlplane.Start(startCtx, controlplane.Options{BinDir: binDir, Dir: t.TempDir(), Log: t.Output()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(cp.Logs())
		}
	})

	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	dyn, err := dynamic.NewForConfig(cp.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	groups, err := restmapper.GetAPIGroupResources(cp.Client.Discovery())
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)

	apply := func(t *testing.T, m manifest, dryRun bool) {
		t.Helper()
		mapping, err := mapper.RESTMapping(m.gvk.GroupKind(), m.gvk.Version)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		acc, err := meta.Accessor(m.obj)
		if err != nil {
			t.Fatal(err)
		}
		var res dynamic.ResourceInterface = dyn.Resource(mapping.Resource)
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			res = dyn.Resource(mapping.Resource).Namespace(acc.GetNamespace())
		}
		opts := metav1.PatchOptions{
			FieldManager: fieldManager,
			// Strict: a misspelt field fails instead of vanishing.
			FieldValidation: metav1.FieldValidationStrict,
		}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		// The document as written is the apply configuration, so the
		// apiserver validates exactly what an operator would send.
		got, err := res.Patch(ctx, acc.GetName(), types.ApplyPatchType, m.doc, opts)
		if err != nil {
			t.Fatalf("server-side apply (dry run %v) of %s rejected: %v", dryRun, m, err)
		}
		if got.GetName() != acc.GetName() || got.GetKind() != m.gvk.Kind {
			t.Errorf("%s: apply returned %s %q", m, got.GetKind(), got.GetName())
		}
		if svc, ok := m.obj.(*corev1.Service); ok {
			ip, _, _ := unstructured.NestedString(got.Object, "spec", "clusterIP")
			if ip != svc.Spec.ClusterIP {
				t.Errorf("%s: clusterIP %q after apply, want %q", m, ip, svc.Spec.ClusterIP)
			}
		}
	}

	t.Run("dry-run", func(t *testing.T) {
		for _, m := range append(slices.Clone(ms), loadManifestsIn(t, multiclusterDir)...) {
			apply(t, m, true)
		}
		// A Deployment is not admitted as a pod is (the Priority plugin, for
		// one, resolves priorityClassName only on pods): dry-run create a pod
		// of its template too.
		d := o.deployment
		pod := &corev1.Pod{
			ObjectMeta: *d.Spec.Template.ObjectMeta.DeepCopy(),
			Spec:       *d.Spec.Template.Spec.DeepCopy(),
		}
		pod.Name, pod.Namespace = d.Name+"-template", d.Namespace
		if _, err := cp.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{
			DryRun: []string{metav1.DryRunAll}, FieldManager: fieldManager,
		}); err != nil {
			t.Errorf("pod of Deployment %s's template rejected: %v", d.Name, err)
		}
		// Dry run persisted nothing.
		_, err := cp.Client.RbacV1().ClusterRoles().Get(ctx, o.role.Name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("ClusterRole %s after dry run: err %v, want NotFound", o.role.Name, err)
		}
		_, err = cp.Client.CoreV1().Services(namespace).Get(ctx, o.service.Name, metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Errorf("Service %s after dry run: err %v, want NotFound", o.service.Name, err)
		}
	})
	if t.Failed() {
		return
	}

	t.Run("rbac", func(t *testing.T) {
		for _, m := range ms {
			switch m.obj.(type) {
			case *corev1.ServiceAccount, *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding:
				apply(t, m, false)
			}
		}
		user := fmt.Sprintf("system:serviceaccount:%s:%s", o.sa.Namespace, o.sa.Name)
		type check struct {
			group, resource, verb string
			allowed               bool
		}
		var checks []check
		for _, r := range []struct{ group, resource string }{
			{"", "services"}, {"", "namespaces"}, {"", "pods"}, {"discovery.k8s.io", "endpointslices"},
		} {
			checks = append(checks,
				check{r.group, r.resource, "list", true},
				check{r.group, r.resource, "watch", true},
				check{r.group, r.resource, "get", false},
				check{r.group, r.resource, "create", false})
		}
		checks = append(checks, check{"", "secrets", "list", false}, check{"", "endpoints", "list", false})
		// The RBAC authorizer learns of new bindings through its informers:
		// poll, for at most 30 s, until every grant shows; the denials are
		// then asked once (a denial is also the answer before the grants show).
		pollCtx, cancelPoll := context.WithTimeout(ctx, 30*time.Second)
		defer cancelPoll()
		slices.SortStableFunc(checks, func(a, b check) int {
			if a.allowed == b.allowed {
				return 0
			}
			if a.allowed {
				return -1
			}
			return 1
		})
		for _, c := range checks {
			for {
				allowed, err := canI(ctx, cp, user, c.group, c.resource, c.verb)
				if err != nil {
					t.Fatalf("SubjectAccessReview %s %s %s: %v", user, c.verb, groupResource(c.group, c.resource), err)
				}
				if allowed == c.allowed {
					break
				}
				if !c.allowed {
					t.Errorf("%s may %s %s, want denied", user, c.verb, groupResource(c.group, c.resource))
					break
				}
				select {
				case <-pollCtx.Done():
					t.Fatalf("%s may not %s %s after 30s, want allowed", user, c.verb, groupResource(c.group, c.resource))
				case <-time.After(100 * time.Millisecond):
				}
			}
		}
	})
}

func canI(ctx context.Context, cp *controlplane.ControlPlane, user, group, resource, verb string) (bool, error) {
	sar, err := cp.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   user,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: "default", Verb: verb, Group: group, Resource: resource,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return sar.Status.Allowed, nil
}

// groupResource names a resource as kubectl does: pods, endpointslices.discovery.k8s.io.
func groupResource(group, resource string) string {
	return schema.GroupResource{Group: group, Resource: resource}.String()
}
