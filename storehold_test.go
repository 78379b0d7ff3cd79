package clusterdns

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/clusterdns/clusterdns/internal/model"
)

// While the store is held (the first list streaming in), queries see what it served before; on
// release, the answers are those of the same objects built at once. Random changes (slices that
// come, change, move between families and go; a service that switches kind, goes and comes back)
// are made to a store that already serves some, then checked name by name against a store given
// the final objects by Replace.
func TestHeldChangesAnswerAsAFullBuildOnRelease(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5, 6} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			options := []string{"ptr all", ""}[seed%2]
			live := newPlugin(t, options, emptyCluster)
			services := map[string]*model.Service{
				"web": {Namespace: "ns", Name: "web", Headless: true},
				"db":  {Namespace: "ns", Name: "db", ClusterIPs: []netip.Addr{netip.MustParseAddr("10.96.0.7")}},
				"api": {Namespace: "ns", Name: "api", Headless: true},
			}
			for _, svc := range services {
				live.store.UpsertService(svc)
			}
			current := map[string]*model.EndpointSlice{}
			apply := func() {
				switch rng.IntN(10) {
				case 0:
					api := &model.Service{Namespace: "ns", Name: "api", Headless: rng.IntN(2) == 0}
					if !api.Headless {
						api.ClusterIPs = []netip.Addr{netip.MustParseAddr("10.244.0.1")}
					}
					services["api"] = api
					live.store.UpsertService(api)
				case 1:
					if _, ok := services["web"]; ok {
						delete(services, "web")
						live.store.DeleteService("ns", "web")
					} else {
						services["web"] = &model.Service{Namespace: "ns", Name: "web", Headless: true}
						live.store.UpsertService(services["web"])
					}
				case 2:
					sl := randomSlice(rng)
					live.store.DeleteEndpointSlice(sl.Namespace, sl.Name)
					delete(current, sl.Name)
				default:
					sl := randomSlice(rng)
					live.store.UpsertEndpointSlice(sl)
					current[sl.Name] = sl
				}
			}
			for range 20 {
				apply()
			}
			before := map[question]string{}
			for _, q := range questions(current) {
				before[q] = answerOf(t, live, q)
			}
			release := live.store.hold()
			for range 60 {
				apply()
			}
			for q, want := range before {
				if got := answerOf(t, live, q); got != want {
					t.Fatalf("held: %s %d answered\n %s\nnot as before the hold\n %s", q.name, q.qtype, got, want)
				}
			}
			release()
			release() // idempotent
			fresh := newPlugin(t, options, emptyCluster)
			snap := &model.Snapshot{Slices: sortedSlices(current)}
			for _, svc := range services {
				snap.Services = append(snap.Services, svc)
			}
			fresh.store.Replace(snap)
			for _, q := range questions(current) {
				if got, want := answerOf(t, live, q), answerOf(t, fresh, q); got != want {
					t.Fatalf("released: %s %d:\n got %s\nwant %s", q.name, q.qtype, got, want)
				}
			}
		})
	}
}
