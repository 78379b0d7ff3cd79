package snapshot

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
)

// BenchmarkWriteRead10k writes and reads a cluster of 10,000 ClusterIP services in 100 namespaces,
// each with one slice of 11 endpoints and two named ports: 110,000 endpoints.
func BenchmarkWriteRead10k(b *testing.B) {
	snap := cluster(100, 100, 11)
	path := filepath.Join(b.TempDir(), "snapshot")
	if err := Write(path, snap, richMeta); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("Write", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := Write(path, snap, richMeta); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(fi.Size()), "bytes/file")
	})
	b.Run("Read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := Read(path); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(fi.Size()), "bytes/file")
	})
}

func cluster(namespaces, perNamespace, endpoints int) *model.Snapshot {
	svcPorts := []model.Port{{Name: "http", Protocol: "tcp", Port: 80}, {Name: "metrics", Protocol: "tcp", Port: 9090}}
	slicePorts := []model.Port{{Name: "http", Protocol: "tcp", Port: 8080}, {Name: "metrics", Protocol: "tcp", Port: 9090}}
	snap := &model.Snapshot{}
	eps := make([]model.Endpoint, endpoints)
	n := 0
	for i := range namespaces {
		ns := fmt.Sprintf("team-%03d", i)
		snap.Namespaces = append(snap.Namespaces, &model.Namespace{Name: ns, Labels: map[string]string{"kubernetes.io/metadata.name": ns}})
		for j := range perNamespace {
			name := fmt.Sprintf("service-%04d", j)
			snap.Services = append(snap.Services, &model.Service{
				Namespace: ns, Name: name, HasSelector: true, Ports: svcPorts,
				ClusterIPs: []netip.Addr{netip.AddrFrom4([4]byte{10, 96, byte(n >> 8), byte(n)})},
			})
			for k := range eps {
				a := n*endpoints + k
				eps[k] = model.Endpoint{Addr: netip.AddrFrom4([4]byte{10, byte(a >> 16), byte(a >> 8), byte(a)})}
			}
			snap.Slices = append(snap.Slices, &model.EndpointSlice{
				Namespace: ns, Name: name + "-x7k2p", Service: name, Ports: slicePorts,
				LastChange: time.Unix(1_760_000_000+int64(n), 0), Endpoints: model.NewEndpoints(eps),
			})
			n++
		}
	}
	return snap
}
