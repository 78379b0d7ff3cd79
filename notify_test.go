package clusterdns

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
)

// A serial change of a zone sends one NOTIFY of that zone, however many changes the burst had.
func TestNotifyOnSerialChange(t *testing.T) {
	cd := newPlugin(t, "", exampleCluster)
	sent := make(chan string, 16)
	n := newNotifier(func(zone string) error { sent <- zone; return nil })
	cd.store.mu.Lock()
	cd.store.onSerial = n.mark
	cd.store.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n.start(ctx)

	for i, ip := range []string{"10.96.7.7", "10.96.7.8"} {
		cd.store.UpsertService(&model.Service{Namespace: "default", Name: "added" + string(rune('a'+i)),
			ClusterIPs: []netip.Addr{netip.MustParseAddr(ip)}})
	}
	got := map[string]int{}
	for len(got) < 2 { // cluster.local. and in-addr.arpa. (the ClusterIPs' PTRs)
		select {
		case z := <-sent:
			got[z]++
		case <-ctx.Done():
			t.Fatalf("NOTIFYs sent: %v, want cluster.local. and in-addr.arpa.", got)
		}
	}
	// The second change comes within the first's delay: it must ride on the same NOTIFYs.
	select {
	case z := <-sent:
		got[z]++
	case <-time.After(2 * notifyDelay):
	}
	if got["cluster.local."] != 1 || got["in-addr.arpa."] != 1 {
		t.Errorf("NOTIFYs sent: %v, want one each of cluster.local. and in-addr.arpa.", got)
	}
}
