package clusterdns

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"
)

// A re-list hands the store what it listed: the store must delete exactly the objects of that kind
// in the re-listed namespace that the list no longer has.
func TestRetainDeletesWhatARelistNoLongerHas(t *testing.T) {
	for _, tt := range []struct {
		name      string
		kind      source.Kind
		namespace string
		listed    []source.ObjectKey
		want      string
	}{
		{"services of every namespace", source.Services, "", []source.ObjectKey{{Namespace: "a", Name: "web"}}, "svc a/web, slice a/web-1, slice b/db-1, pod a/web-0, pod b/db-0, ns a, ns b"},
		{"services of one namespace", source.Services, "a", nil, "svc b/db, slice a/web-1, slice b/db-1, pod a/web-0, pod b/db-0, ns a, ns b"},
		{"slices", source.EndpointSlices, "b", nil, "svc a/web, svc b/db, slice a/web-1, pod a/web-0, pod b/db-0, ns a, ns b"},
		{"pods of every namespace", source.Pods, "", []source.ObjectKey{{Namespace: "b", Name: "db-0"}}, "svc a/web, svc b/db, slice a/web-1, slice b/db-1, pod b/db-0, ns a, ns b"},
		{"pods of one namespace", source.Pods, "b", nil, "svc a/web, svc b/db, slice a/web-1, slice b/db-1, pod a/web-0, ns a, ns b"},
		{"namespaces", source.Namespaces, "", []source.ObjectKey{{Name: "b"}}, "svc a/web, svc b/db, slice a/web-1, slice b/db-1, pod a/web-0, pod b/db-0, ns b"},
		{"nothing stale", source.Pods, "", []source.ObjectKey{{Namespace: "a", Name: "web-0"}, {Namespace: "b", Name: "db-0"}}, "svc a/web, svc b/db, slice a/web-1, slice b/db-1, pod a/web-0, pod b/db-0, ns a, ns b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cd := newPlugin(t, "pods verified\n", emptyCluster)
			s := cd.store
			for i, ns := range []string{"a", "b"} {
				svc := map[string]string{"a": "web", "b": "db"}[ns]
				s.UpsertNamespace(&model.Namespace{Name: ns})
				s.UpsertService(&model.Service{Namespace: ns, Name: svc, ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 96, 0, byte(i + 1)})}})
				s.UpsertEndpointSlice(&model.EndpointSlice{Namespace: ns, Name: svc + "-1", Service: svc, Endpoints: endpoints("10.244.0.%d", 1)})
				s.UpsertPod(&model.Pod{Namespace: ns, Name: svc + "-0", IPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 244, byte(i), 1})}})
			}
			s.Retain(tt.kind, tt.namespace, tt.listed)

			var got []string
			for key, e := range s.services {
				if e.svc != nil {
					got = append(got, "svc "+key.namespace+"/"+key.name)
				}
			}
			for key := range s.slices {
				got = append(got, "slice "+key.namespace+"/"+key.name)
			}
			for i, pod := range []string{"a/web-0", "b/db-0"} {
				if s.clients.holdsIn(pod[:1], netip.AddrFrom4([4]byte{10, 244, byte(i), 1})) {
					got = append(got, "pod "+pod)
				}
			}
			for ns := range s.nsObjects {
				got = append(got, "ns "+ns)
			}
			if want := strings.Split(tt.want, ", "); !sameElements(got, want) {
				t.Errorf("held after Retain: %v, want %v", got, want)
			}
			if s.clients.count() != strings.Count(tt.want, "pod ") || s.nServices != strings.Count(tt.want, "svc ") {
				t.Errorf("counted %d pods and %d services, want those of %s", s.clients.count(), s.nServices, tt.want)
			}
		})
	}
}

func sameElements(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
