package manifests

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"
)

// fakeSink records Replace calls; the file source must never use the per-object methods.
type fakeSink struct {
	t        *testing.T
	replaced chan *model.Snapshot
}

func newFakeSink(t *testing.T) *fakeSink {
	return &fakeSink{t: t, replaced: make(chan *model.Snapshot, 16)}
}

func (s *fakeSink) Replace(snap *model.Snapshot) { s.replaced <- snap }
func (s *fakeSink) UpsertService(*model.Service) { s.t.Error("unexpected UpsertService") }
func (s *fakeSink) DeleteService(string, string) { s.t.Error("unexpected DeleteService") }
func (s *fakeSink) UpsertEndpointSlice(*model.EndpointSlice) {
	s.t.Error("unexpected UpsertEndpointSlice")
}
func (s *fakeSink) DeleteEndpointSlice(string, string)             { s.t.Error("unexpected DeleteEndpointSlice") }
func (s *fakeSink) UpsertPod(*model.Pod)                           { s.t.Error("unexpected UpsertPod") }
func (s *fakeSink) DeletePod(string, string)                       { s.t.Error("unexpected DeletePod") }
func (s *fakeSink) UpsertNamespace(*model.Namespace)               { s.t.Error("unexpected UpsertNamespace") }
func (s *fakeSink) DeleteNamespace(string)                         { s.t.Error("unexpected DeleteNamespace") }
func (s *fakeSink) Retain(source.Kind, string, []source.ObjectKey) { s.t.Error("unexpected Retain") }

// writeFile writes a file with a modification time later than any before, so a poll sees the
// change even on file systems with coarse timestamps.
var (
	mtimeMu   sync.Mutex
	nextMtime = time.Now().Add(-time.Hour)
)

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	// Replace the file atomically, as editors and ConfigMap volumes do: a poll must never see it
	// half written. The temporary file is hidden, so a directory listing skips it.
	tmp := filepath.Join(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	mtimeMu.Lock()
	nextMtime = nextMtime.Add(2 * time.Second)
	mt := nextMtime
	mtimeMu.Unlock()
	if err := os.Chtimes(tmp, mt, mt); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func load(t *testing.T, content string) *model.Snapshot {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.yaml")
	writeFile(t, p, content)
	snap, err := New([]string{p}, source.Filter{}, false).Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return snap
}

func serviceKeys(s *model.Snapshot) []string {
	var out []string
	for _, x := range s.Services {
		out = append(out, x.Key())
	}
	return out
}

func sliceKeys(s *model.Snapshot) []string {
	var out []string
	for _, x := range s.Slices {
		out = append(out, x.Key())
	}
	return out
}

func podKeys(s *model.Snapshot) []string {
	var out []string
	for _, x := range s.Pods {
		out = append(out, x.Key())
	}
	return out
}

func namespaceNames(s *model.Snapshot) []string {
	var out []string
	for _, x := range s.Namespaces {
		out = append(out, x.Name)
	}
	return out
}

func findService(s *model.Snapshot, key string) *model.Service {
	for _, x := range s.Services {
		if x.Key() == key {
			return x
		}
	}
	return nil
}

func findSlice(s *model.Snapshot, key string) *model.EndpointSlice {
	for _, x := range s.Slices {
		if x.Key() == key {
			return x
		}
	}
	return nil
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

const svcA = `apiVersion: v1
kind: Service
metadata:
  name: a
  namespace: ns1
  labels:
    tier: front
spec:
  clusterIP: 10.96.0.1
  ports:
  - name: http
    port: 80
`

const sliceA = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: a-xyz
  namespace: ns1
  labels:
    kubernetes.io/service-name: a
    tier: front
addressType: IPv4
endpoints:
- addresses: ["10.244.0.1"]
  conditions: {ready: true}
  targetRef: {kind: Pod, name: a-0, namespace: ns1}
ports:
- name: http
  port: 8080
  protocol: TCP
`

func TestLoadMultiDocumentYAML(t *testing.T) {
	snap := load(t, `---
`+svcA+`---
# a comment-only document
---
`+sliceA+`---
apiVersion: v1
kind: Pod
metadata:
  name: nameless-ns
spec:
  containers: [{name: c, image: i}]
status:
  phase: Running
  podIP: 10.244.0.2
---
apiVersion: v1
kind: Namespace
metadata:
  name: ns1
  labels: {team: dns}
`)
	equal(t, "services", serviceKeys(snap), []string{"ns1/a"})
	equal(t, "slices", sliceKeys(snap), []string{"ns1/a-xyz"})
	equal(t, "pods (namespace defaulted)", podKeys(snap), []string{"default/nameless-ns"})
	equal(t, "namespaces", namespaceNames(snap), []string{"ns1"})
	if got := snap.Namespaces[0].Labels["team"]; got != "dns" {
		t.Errorf("namespace label team = %q, want dns", got)
	}
	es := findSlice(snap, "ns1/a-xyz")
	want := &model.EndpointSlice{
		Namespace: "ns1", Name: "a-xyz", Service: "a",
		Ports:     []model.Port{{Name: "http", Protocol: "tcp", Port: 8080}},
		Endpoints: model.NewEndpoints([]model.Endpoint{{Addr: netip.MustParseAddr("10.244.0.1")}}),
	}
	if !reflect.DeepEqual(es, want) {
		t.Errorf("slice = %+v, want %+v", es, want)
	}
}

func TestLoadJSON(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{
			name:    "one object",
			content: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"j","namespace":"ns"},"spec":{"clusterIP":"10.96.0.5"}}`,
			want:    []string{"ns/j"},
		},
		{
			name: "stream of objects",
			content: `{"apiVersion":"v1","kind":"Service","metadata":{"name":"j1"},"spec":{"clusterIP":"10.96.0.5"}}
{"apiVersion":"v1","kind":"Service","metadata":{"name":"j2"},"spec":{"clusterIP":"None"}}`,
			want: []string{"default/j1", "default/j2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "m.json")
			writeFile(t, p, tt.content)
			snap, err := New([]string{p}, source.Filter{}, false).Load()
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "services", serviceKeys(snap), tt.want)
		})
	}
}

func TestLoadKindList(t *testing.T) {
	// As `kubectl get svc,endpointslices,pods,namespaces -A -o yaml` prints it, plus a typed list
	// whose items carry no kind.
	snap := load(t, `apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a, namespace: ns1}
  spec: {clusterIP: 10.96.0.1}
- apiVersion: discovery.k8s.io/v1
  kind: EndpointSlice
  metadata:
    name: a-xyz
    namespace: ns1
    labels: {kubernetes.io/service-name: a}
  addressType: IPv4
  endpoints: [{addresses: [10.244.0.1]}]
- apiVersion: v1
  kind: Pod
  metadata: {name: a-0, namespace: ns1}
  status: {phase: Running, podIP: 10.244.0.1}
- apiVersion: v1
  kind: Namespace
  metadata: {name: ns1}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: a, namespace: ns1}
---
apiVersion: v1
kind: ServiceList
items:
- metadata: {name: b, namespace: ns2}
  spec: {clusterIP: None}
`)
	equal(t, "services", serviceKeys(snap), []string{"ns1/a", "ns2/b"})
	equal(t, "slices", sliceKeys(snap), []string{"ns1/a-xyz"})
	equal(t, "pods", podKeys(snap), []string{"ns1/a-0"})
	equal(t, "namespaces", namespaceNames(snap), []string{"ns1"})
	if !findService(snap, "ns2/b").Headless {
		t.Error("ns2/b from the ServiceList is not headless")
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	svc := func(name string) string {
		return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + "}\nspec: {clusterIP: None}\n"
	}
	writeFile(t, filepath.Join(dir, "a.yaml"), svc("a"))
	writeFile(t, filepath.Join(dir, "b.yml"), svc("b"))
	writeFile(t, filepath.Join(dir, "c.json"), `{"apiVersion":"v1","kind":"Service","metadata":{"name":"c"}}`)
	writeFile(t, filepath.Join(dir, "d.txt"), svc("d"))
	writeFile(t, filepath.Join(dir, ".hidden.yaml"), svc("hidden"))
	writeFile(t, filepath.Join(dir, "sub", "e.yaml"), svc("e")) // not recursive
	writeFile(t, filepath.Join(dir, "broken.yaml.bak"), "{{{")  // not a manifest name
	snap, err := New([]string{dir}, source.Filter{}, false).Load()
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "services", serviceKeys(snap), []string{"default/a", "default/b", "default/c"})
}

func TestLoadSkipsKindsDNSDoesNotRead(t *testing.T) {
	snap := load(t, `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: "not even a number"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {a: b}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
---
`+svcA)
	equal(t, "services", serviceKeys(snap), []string{"ns1/a"})
	if len(snap.Slices)+len(snap.Pods)+len(snap.Namespaces) != 0 {
		t.Errorf("unexpected objects: %+v", snap)
	}
}

func TestLoadMirrorsEndpointsOnlyWithoutSlices(t *testing.T) {
	endpoints := func(name string, labels string) string {
		return `apiVersion: v1
kind: Endpoints
metadata:
  name: ` + name + `
  namespace: ns1
  labels: {` + labels + `}
subsets:
- addresses: [{ip: 10.0.0.1, hostname: h0}]
  notReadyAddresses: [{ip: 10.0.0.2}]
  ports: [{name: http, port: 80}]
`
	}
	// "a" has an EndpointSlice (in another file): its Endpoints are not mirrored. "manual" has only
	// Endpoints, "skipped" asks not to be mirrored.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "1.yaml"), endpoints("a", "")+"---\n"+endpoints("manual", "")+"---\n"+
		endpoints("skipped", `endpointslice.kubernetes.io/skip-mirror: "true"`))
	writeFile(t, filepath.Join(dir, "2.yaml"), sliceA)
	snap, err := New([]string{dir}, source.Filter{}, false).Load()
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "slices", sliceKeys(snap), []string{"ns1/a-xyz", "ns1/manual-1"})
	m := findSlice(snap, "ns1/manual-1")
	if m.Service != "manual" || m.Endpoints.Len() != 1 || m.Endpoints.At(0).Name != "h0" { // not-ready addresses dropped
		t.Errorf("mirrored slice = %+v", m)
	}
}

func TestLoadFilter(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.yaml")
	other := strings.NewReplacer("name: a\n", "name: b\n", "tier: front", "tier: back", "service-name: a", "service-name: b", "a-xyz", "b-xyz")
	inNS2 := strings.NewReplacer("namespace: ns1", "namespace: ns2", "name: a\n", "name: c\n", "service-name: a", "service-name: c", "a-xyz", "c-xyz")
	writeFile(t, p, svcA+"---\n"+sliceA+"---\n"+other.Replace(svcA)+"---\n"+other.Replace(sliceA)+"---\n"+inNS2.Replace(svcA)+"---\n"+inNS2.Replace(sliceA)+`---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: ns1, labels: {tier: back}}
status: {phase: Running, podIP: 10.244.0.9}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns1, labels: {team: shop}}
---
apiVersion: v1
kind: Namespace
metadata: {name: ns2, labels: {team: ops}}
`)
	selector := func(s string) labels.Selector {
		sel, err := labels.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return sel
	}
	for _, tt := range []struct {
		name                               string
		filter                             source.Filter
		services, slices, pods, namespaces []string
	}{
		{"no filter keeps everything", source.Filter{},
			[]string{"ns1/a", "ns1/b", "ns2/c"}, []string{"ns1/a-xyz", "ns1/b-xyz", "ns2/c-xyz"}, []string{"ns1/p"}, []string{"ns1", "ns2"}},
		{"labels select services and slices, never pods or namespaces", source.Filter{Labels: selector("tier=front")},
			[]string{"ns1/a", "ns2/c"}, []string{"ns1/a-xyz", "ns2/c-xyz"}, []string{"ns1/p"}, []string{"ns1", "ns2"}},
		{"namespaces select every kind by namespace", source.Filter{Namespaces: []string{"ns2"}},
			[]string{"ns2/c"}, []string{"ns2/c-xyz"}, nil, []string{"ns2"}},
		{"namespace labels select Namespace objects", source.Filter{NamespaceLabels: selector("team in (shop)")},
			[]string{"ns1/a", "ns1/b", "ns2/c"}, []string{"ns1/a-xyz", "ns1/b-xyz", "ns2/c-xyz"}, []string{"ns1/p"}, []string{"ns1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap, err := New([]string{p}, tt.filter, false).Load()
			if err != nil {
				t.Fatal(err)
			}
			equal(t, "services", serviceKeys(snap), tt.services)
			equal(t, "slices", sliceKeys(snap), tt.slices)
			equal(t, "pods", podKeys(snap), tt.pods)
			equal(t, "namespaces", namespaceNames(snap), tt.namespaces)
		})
	}
}

func TestLoadBrokenDocumentNamesFileAndDocument(t *testing.T) {
	ok := "apiVersion: v1\nkind: Namespace\nmetadata: {name: ok}\n"
	tests := []struct {
		name    string
		file    string
		content string
		want    string // after "<path>: "
	}{
		{
			name:    "YAML syntax error",
			file:    "x.yaml",
			content: ok + "---\n" + ok + "---\napiVersion: v1\nkind: Service\nmetadata: {name: [unclosed\n",
			want:    "document 3: ",
		},
		{
			name:    "wrong field type",
			file:    "x.yaml",
			content: ok + "---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: {port: 80}\n",
			want:    "document 2: ",
		},
		{
			name:    "no kind",
			file:    "x.yaml",
			content: "apiVersion: v1\nmetadata: {name: s}\n",
			want:    "document 1: object has no kind",
		},
		{
			name:    "unsupported version of a kind DNS reads",
			file:    "x.yaml",
			content: ok + "---\napiVersion: discovery.k8s.io/v1beta1\nkind: EndpointSlice\nmetadata: {name: s}\n",
			want:    "document 2: kind EndpointSlice: apiVersion discovery.k8s.io/v1beta1 is not supported, use discovery.k8s.io/v1",
		},
		{
			name:    "broken item of a List",
			file:    "x.yaml",
			content: "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Namespace, metadata: {name: a}}\n- {apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: 3}}\n",
			want:    "document 1: item 2: ",
		},
		{
			name:    "broken JSON",
			file:    "x.json",
			content: `{"apiVersion":"v1","kind":"Service",`,
			want:    "document 1: ",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), tt.file)
			writeFile(t, p, tt.content)
			_, err := New([]string{p}, source.Filter{}, false).Load()
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if !strings.HasPrefix(err.Error(), p+": "+tt.want) {
				t.Errorf("error = %q, want prefix %q", err, p+": "+tt.want)
			}
			if errors.Unwrap(err) == nil {
				t.Errorf("error %q does not wrap its reason", err)
			}
		})
	}
}

func TestLoadMissingPathFails(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := New([]string{p}, source.Filter{}, false).Load()
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load = %v, want a not-exist error", err)
	}
}

// runner runs a Source's Run in the background for a test and stops it at cleanup.
type runner struct {
	sink   *fakeSink
	errs   chan error
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func startRun(t *testing.T, m *Source) *runner {
	t.Helper()
	r := &runner{sink: newFakeSink(t), errs: make(chan error, 16), done: make(chan struct{})}
	m.OnError = func(err error) { r.errs <- err }
	r.ctx, r.cancel = context.WithTimeout(context.Background(), 20*time.Second)
	go func() {
		defer close(r.done)
		m.Run(r.ctx, r.sink, 5*time.Millisecond)
	}()
	t.Cleanup(func() {
		r.cancel()
		<-r.done
	})
	return r
}

func (r *runner) replaced(t *testing.T) *model.Snapshot {
	t.Helper()
	select {
	case s := <-r.sink.replaced:
		return s
	case <-r.ctx.Done():
		t.Fatal("timed out waiting for Replace")
		return nil
	}
}

func (r *runner) onError(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.errs:
		return err
	case <-r.ctx.Done():
		t.Fatal("timed out waiting for OnError")
		return nil
	}
}

// quiet checks that neither Replace nor OnError is called for a while (many poll intervals).
func (r *runner) quiet(t *testing.T) {
	t.Helper()
	select {
	case s := <-r.sink.replaced:
		t.Errorf("unexpected Replace with services %q", serviceKeys(s))
	case err := <-r.errs:
		t.Errorf("unexpected OnError(%v)", err)
	case <-time.After(100 * time.Millisecond):
	}
}

func svcYAML(name, ip string) string {
	return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name + "}\nspec: {clusterIP: " + ip + "}\n"
}

func TestRunReplacesOnChangeOnly(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	writeFile(t, a, svcYAML("a", "10.96.0.1"))
	m := New([]string{dir}, source.Filter{}, false)
	if _, err := m.Load(); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, m)
	r.quiet(t) // Load primed the cache: nothing changed since

	writeFile(t, a, svcYAML("a", "10.96.0.2"))
	snap := r.replaced(t)
	if got := findService(snap, "default/a"); got == nil || got.ClusterIPs[0] != netip.MustParseAddr("10.96.0.2") {
		t.Errorf("after change, service a = %+v, want clusterIP 10.96.0.2", got)
	}
	r.quiet(t)

	// A file that appears in the directory, then disappears.
	b := filepath.Join(dir, "b.yaml")
	writeFile(t, b, svcYAML("b", "10.96.0.3"))
	equal(t, "services after b appeared", serviceKeys(r.replaced(t)), []string{"default/a", "default/b"})
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	equal(t, "services after b disappeared", serviceKeys(r.replaced(t)), []string{"default/a"})
	r.quiet(t)
}

func TestRunWithoutLoadReplacesAtOnce(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.yaml")
	writeFile(t, p, svcYAML("a", "10.96.0.1"))
	r := startRun(t, New([]string{p}, source.Filter{}, false))
	equal(t, "services", serviceKeys(r.replaced(t)), []string{"default/a"})
}

func TestRunKeepsLastGoodDataOfBrokenFile(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	writeFile(t, a, svcYAML("a", "10.96.0.1"))
	writeFile(t, b, svcYAML("b", "10.96.0.2"))
	m := New([]string{dir}, source.Filter{}, false)
	if _, err := m.Load(); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, m)

	writeFile(t, a, svcYAML("a", "10.96.0.1")+"---\nkind: [broken\n")
	err := r.onError(t)
	if !strings.Contains(err.Error(), a+": document 2:") {
		t.Errorf("OnError(%q), want it to name %s document 2", err, a)
	}
	r.quiet(t) // reported once, and the data did not change

	writeFile(t, b, svcYAML("b", "10.96.0.22"))
	snap := r.replaced(t)
	equal(t, "services", serviceKeys(snap), []string{"default/a", "default/b"})
	if got := findService(snap, "default/b").ClusterIPs[0]; got != netip.MustParseAddr("10.96.0.22") {
		t.Errorf("service b clusterIP = %v, want the new 10.96.0.22", got)
	}
	if got := findService(snap, "default/a").ClusterIPs[0]; got != netip.MustParseAddr("10.96.0.1") {
		t.Errorf("service a clusterIP = %v, want the last good 10.96.0.1", got)
	}

	writeFile(t, a, svcYAML("a", "10.96.0.11")) // fixed
	if got := findService(r.replaced(t), "default/a").ClusterIPs[0]; got != netip.MustParseAddr("10.96.0.11") {
		t.Errorf("after fix, service a clusterIP = %v, want 10.96.0.11", got)
	}
}

func TestRunKeepsDataOfVanishedPath(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.yaml")
	writeFile(t, p, svcYAML("a", "10.96.0.1"))
	m := New([]string{p}, source.Filter{}, false)
	if _, err := m.Load(); err != nil {
		t.Fatal(err)
	}
	r := startRun(t, m)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := r.onError(t); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("OnError(%v), want a not-exist error", err)
	}
	r.quiet(t)
	writeFile(t, p, svcYAML("a", "10.96.0.5"))
	if got := findService(r.replaced(t), "default/a").ClusterIPs[0]; got != netip.MustParseAddr("10.96.0.5") {
		t.Errorf("service a clusterIP = %v, want 10.96.0.5", got)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.yaml")
	writeFile(t, p, svcYAML("a", "10.96.0.1"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		New([]string{p}, source.Filter{}, false).Run(ctx, newFakeSink(t), time.Hour)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

func TestExampleCluster(t *testing.T) {
	snap, err := New([]string{"../../../examples/cluster.yaml"}, source.Filter{}, false).Load()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(snap.Services); n != 10 {
		t.Errorf("%d services, want 10: %q", n, serviceKeys(snap))
	}
	if n := len(snap.Slices); n != 9 {
		t.Errorf("%d slices, want 9: %q", n, sliceKeys(snap))
	}
	if n := len(snap.Pods); n != 14 {
		t.Errorf("%d pods, want 14: %q", n, podKeys(snap))
	}
	equal(t, "namespaces", namespaceNames(snap), []string{"default", "kube-system", "middleware"})

	dual := findService(snap, "default/dual")
	if dual == nil || !reflect.DeepEqual(dual.ClusterIPs, addrs("10.96.10.40", "fd00:10:96::28")) {
		t.Errorf("dual = %+v, want clusterIPs 10.96.10.40 fd00:10:96::28", dual)
	}
	if s := findService(snap, "default/my-database"); s == nil || s.ExternalName != "my.database.example.com" {
		t.Errorf("my-database = %+v", s)
	}
	if s := findService(snap, "default/nginx"); s == nil || !s.Headless || len(s.ClusterIPs) != 0 {
		t.Errorf("nginx = %+v, want headless", s)
	}
	if s := findService(snap, "default/my-service"); s == nil || len(s.Ports) != 1 || s.Ports[0].Name != "" || s.Ports[0].Port != 80 {
		t.Errorf("my-service = %+v, want one unnamed port 80", s)
	}
	dns := findService(snap, "kube-system/kube-dns")
	wantDNS := []model.Port{{Name: "dns", Protocol: "udp", Port: 53}, {Name: "dns-tcp", Protocol: "tcp", Port: 53}, {Name: "metrics", Protocol: "tcp", Port: 9153}}
	if dns == nil || !reflect.DeepEqual(dns.Ports, wantDNS) || dns.ClusterIPs[0] != netip.MustParseAddr("10.96.0.10") {
		t.Errorf("kube-dns = %+v", dns)
	}

	var web, zk, hostnames *model.EndpointSlice
	for _, s := range snap.Slices {
		switch s.Namespace + "/" + s.Service {
		case "default/web":
			web = s
		case "middleware/zookeeper-headless":
			zk = s
		case "default/hostnames":
			hostnames = s
		}
	}
	if web == nil || web.Endpoints.Len() != 1 || web.Endpoints.At(0).Addr != netip.MustParseAddr("10.244.2.8") {
		t.Errorf("web slice = %+v, want only the ready 10.244.2.8 (10.244.2.9 is not ready)", web)
	}
	if zk == nil || zk.Endpoints.Len() != 3 || zk.Endpoints.At(2).Name != "zookeeper-2" {
		t.Errorf("zookeeper slice = %+v, want 3 endpoints with hostnames", zk)
	}
	if hostnames == nil || !reflect.DeepEqual(hostnames.Ports, []model.Port{{Name: "default", Protocol: "tcp", Port: 9376}}) || hostnames.Endpoints.Len() != 3 {
		t.Errorf("hostnames slice = %+v", hostnames)
	}
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func (s *fakeSink) UpsertServiceImport(*model.ServiceImport) {
	s.t.Error("unexpected UpsertServiceImport")
}
func (s *fakeSink) DeleteServiceImport(string, string) { s.t.Error("unexpected DeleteServiceImport") }
func (s *fakeSink) UpsertImportedSlice(*model.ImportedSlice) {
	s.t.Error("unexpected UpsertImportedSlice")
}
func (s *fakeSink) DeleteImportedSlice(string, string) { s.t.Error("unexpected DeleteImportedSlice") }
