package clusterdns

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/clusterdns/clusterdns/internal/kube"
	"github.com/clusterdns/clusterdns/internal/model"
)

// A re-list deletes what the store holds and the list no longer has, so the store must list
// exactly the objects of one kind in the re-listed namespace.
func TestHeldListsOneKindInOneNamespace(t *testing.T) {
	k := newPlugin(t, "pods verified\n", emptyCluster)
	k.store.UpsertService(&model.Service{Namespace: "a", Name: "web", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.1")}})
	k.store.UpsertService(&model.Service{Namespace: "b", Name: "db", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.2")}})
	k.store.UpsertEndpointSlice(&model.EndpointSlice{Namespace: "a", Name: "web-1", Service: "web", Endpoints: endpoints("10.244.0.%d", 1)})
	k.store.UpsertPod(&model.Pod{Namespace: "b", Name: "db-0", IPs: []netip.Addr{netip.MustParseAddr("10.244.1.1")}})
	k.store.UpsertNamespace(&model.Namespace{Name: "a"})

	for _, tt := range []struct {
		kind      kube.Kind
		namespace string
		want      string
	}{
		{kube.Services, "", "a/web b/db"},
		{kube.Services, "a", "a/web"},
		{kube.Services, "c", ""},
		{kube.EndpointSlices, "", "a/web-1"},
		{kube.Pods, "", "b/db-0"},
		{kube.Pods, "a", ""},
		{kube.Namespaces, "", "/a"},
	} {
		var got []string
		for _, key := range k.store.Held(tt.kind, tt.namespace) {
			got = append(got, key.Namespace+"/"+key.Name)
		}
		slices.Sort(got)
		if strings.Join(got, " ") != tt.want {
			t.Errorf("Held(%v, %q) = %v, want %s", tt.kind, tt.namespace, got, tt.want)
		}
	}
}
