package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// fakeAPI serves a synthetic cluster as a kube-apiserver serves its lists and watches, building
// each object as it writes it, so that this process holds none of them: a plugin in the same
// process is then alone in the heap with its copy. It is for a cluster larger than the test
// control plane can load; it serves lists (whole, no pages), streamed lists (watch with
// sendInitialEvents, as client-go's reflectors ask by default) and watches that never send an
// event.
type fakeAPI struct {
	*httptest.Server
	namespaces, perNamespace, endpoints int

	mu      sync.Mutex
	unknown map[string]int // paths it does not serve, for the benchmark's log
}

func newFakeAPI(namespaces, perNamespace, endpoints int) *fakeAPI {
	f := &fakeAPI{namespaces: namespaces, perNamespace: perNamespace, endpoints: endpoints, unknown: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/namespaces", f.serve("v1", "Namespace", f.eachNamespace))
	mux.HandleFunc("GET /api/v1/services", f.serve("v1", "Service", f.eachService))
	mux.HandleFunc("GET /apis/discovery.k8s.io/v1/endpointslices", f.serve("discovery.k8s.io/v1", "EndpointSlice", f.eachSlice))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.unknown[r.Method+" "+r.URL.Path]++
		f.mu.Unlock()
		http.NotFound(w, r)
	})
	f.Server = httptest.NewServer(mux)
	return f
}

// services is how many services the cluster has.
func (f *fakeAPI) services() int { return f.namespaces * f.perNamespace }

// serve answers a list, a streamed list or a watch of the objects each yields.
func (f *fakeAPI) serve(apiVersion, kind string, each func(func(any) error) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		q := r.URL.Query()
		if q.Get("watch") != "true" && q.Get("watch") != "1" {
			f.list(w, apiVersion, kind, each)
			return
		}
		if q.Get("sendInitialEvents") == "true" {
			enc := json.NewEncoder(w)
			if err := each(func(obj any) error { return enc.Encode(watchEvent{Type: "ADDED", Object: obj}) }); err != nil {
				return
			}
			end := metav1.PartialObjectMetadata{
				TypeMeta:   metav1.TypeMeta{APIVersion: apiVersion, Kind: kind},
				ObjectMeta: metav1.ObjectMeta{ResourceVersion: "1", Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}},
			}
			if err := enc.Encode(watchEvent{Type: "BOOKMARK", Object: end}); err != nil {
				return
			}
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

type watchEvent struct {
	Type   string `json:"type"`
	Object any    `json:"object"`
}

// list writes the whole list in one response, its items built one at a time.
func (f *fakeAPI) list(w io.Writer, apiVersion, kind string, each func(func(any) error) error) {
	fmt.Fprintf(w, `{"kind":%q,"apiVersion":%q,"metadata":{"resourceVersion":"1"},"items":[`, kind+"List", apiVersion)
	first := true
	_ = each(func(obj any) error {
		if !first {
			if _, err := io.WriteString(w, ","); err != nil {
				return err
			}
		}
		first = false
		b, err := json.Marshal(obj)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	})
	io.WriteString(w, "]}")
}

func namespaceName(i int) string { return fmt.Sprintf("team-%03d", i) }
func serviceName(j int) string   { return fmt.Sprintf("service-%04d", j) }

func (f *fakeAPI) eachNamespace(yield func(any) error) error {
	for i := range f.namespaces {
		if err := yield(&corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: namespaceName(i), ResourceVersion: "1", UID: types.UID("ns-" + namespaceName(i))},
		}); err != nil {
			return err
		}
	}
	return nil
}

// The cluster is BenchmarkLargeCluster's (the root package): every tenth service headless with
// StatefulSet hostnames, two named ports, one EndpointSlice of f.endpoints ready endpoints each.
var largePorts = []corev1.ServicePort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}, {Name: "metrics", Port: 9090, Protocol: corev1.ProtocolTCP}}

func (f *fakeAPI) eachService(yield func(any) error) error {
	for n := range f.services() {
		svc := &corev1.Service{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
			ObjectMeta: metav1.ObjectMeta{Namespace: namespaceName(n / f.perNamespace), Name: serviceName(n % f.perNamespace), ResourceVersion: "1", UID: "svc"},
			Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": serviceName(n % f.perNamespace)},
				Ports:    largePorts, Type: corev1.ServiceTypeClusterIP,
			},
		}
		if n%10 == 0 {
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = corev1.ClusterIPNone, []string{corev1.ClusterIPNone}
		} else {
			ip := netip.AddrFrom4([4]byte{10, byte(96 + n>>16), byte(n >> 8), byte(n)}).String()
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
			svc.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv4Protocol}
		}
		if err := yield(svc); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeAPI) eachSlice(yield func(any) error) error {
	ports := []discoveryv1.EndpointPort{
		{Name: ptr.To("http"), Port: ptr.To[int32](8080), Protocol: ptr.To(corev1.ProtocolTCP)},
		{Name: ptr.To("metrics"), Port: ptr.To[int32](9090), Protocol: ptr.To(corev1.ProtocolTCP)},
	}
	for n := range f.services() {
		ns, name := namespaceName(n/f.perNamespace), serviceName(n%f.perNamespace)
		sl := &discoveryv1.EndpointSlice{
			TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-1", ResourceVersion: "1", UID: "slice", Labels: map[string]string{
				discoveryv1.LabelServiceName: name, discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io",
			}},
			AddressType: discoveryv1.AddressTypeIPv4,
			Ports:       ports,
			Endpoints:   make([]discoveryv1.Endpoint, f.endpoints),
		}
		for k := range sl.Endpoints {
			e := n*f.endpoints + k
			sl.Endpoints[k] = discoveryv1.Endpoint{
				Addresses:  []string{netip.AddrFrom4([4]byte{10, byte(e >> 16), byte(e >> 8), byte(e)}).String()},
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
			}
			if n%10 == 0 {
				sl.Endpoints[k].Hostname = ptr.To(fmt.Sprintf("%s-%d", name, k))
			}
		}
		if err := yield(sl); err != nil {
			return err
		}
	}
	return nil
}
