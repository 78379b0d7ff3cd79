package snapshot

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/internal/model"
)

var ip = netip.MustParseAddr

// richSnapshot has one of each shape the codec must keep apart.
func richSnapshot() *model.Snapshot {
	web := []model.Port{{Name: "http", Protocol: "tcp", Port: 80}, {Name: "dns", Protocol: "udp", Port: 53}}
	target := []model.Port{{Name: "http", Protocol: "tcp", Port: 8080}, {Name: "dns", Protocol: "udp", Port: 53}}
	return &model.Snapshot{
		Namespaces: []*model.Namespace{
			{Name: "default"},
			{Name: "prod", Labels: map[string]string{"kubernetes.io/metadata.name": "prod", "team": "dns", "tier": "prod"}},
		},
		Services: []*model.Service{
			{Namespace: "prod", Name: "api", HasSelector: true, ClusterIPs: []netip.Addr{ip("10.96.0.10"), ip("fd00::10")}, Ports: web},
			{Namespace: "prod", Name: "api-v6-first", HasSelector: true, ClusterIPs: []netip.Addr{ip("fd00::11"), ip("10.96.0.11")}, Ports: web},
			{Namespace: "prod", Name: "db", Headless: true, HasSelector: true, Ports: []model.Port{{Protocol: "tcp", Port: 5432}}},
			{Namespace: "prod", Name: "manual", Headless: true},
			{Namespace: "default", Name: "ext", ExternalName: "db.example.com"},
			{Namespace: "default", Name: "sctp", ClusterIPs: []netip.Addr{ip("10.96.0.12")}, Ports: []model.Port{{Name: "s", Protocol: "sctp", Port: 65535}}},
		},
		Slices: []*model.EndpointSlice{
			{Namespace: "prod", Name: "api-v4", Service: "api", Ports: target, LastChange: time.Unix(1_700_000_000, 123_456_789).UTC(),
				Endpoints: model.NewEndpoints([]model.Endpoint{{Addr: ip("10.0.0.1")}, {Addr: ip("10.0.0.2")}})},
			{Namespace: "prod", Name: "api-v6", Service: "api", Ports: target, LastChange: time.Unix(1_700_000_001, 0).UTC(),
				Endpoints: model.NewEndpoints([]model.Endpoint{{Addr: ip("fd00::1")}, {Addr: ip("fd00::2")}})},
			{Namespace: "prod", Name: "db-x", Service: "db", Ports: []model.Port{{Protocol: "tcp", Port: 5432}}, LastChange: time.Unix(1_700_000_002, 0).UTC(),
				Endpoints: model.NewEndpoints([]model.Endpoint{
					{Addr: ip("10.0.1.1"), Name: "db-0", Zone: "us-east-1.a"}, {Addr: ip("fd00::1:2"), Name: "db-1", Zone: "eu-west-1b"}, {Addr: ip("10.0.1.3")},
				})},
			{Namespace: "prod", Name: "manual-1", Service: "manual",
				Endpoints: model.NewEndpoints([]model.Endpoint{{Addr: ip("192.168.1.1")}})},
			{Namespace: "default", Name: "orphan-1", Service: "gone", LastChange: time.Unix(-5, 7).UTC(),
				Endpoints: model.NewEndpoints(nil)},
		},
		Pods: []*model.Pod{
			{Namespace: "prod", Name: "api-0", IPs: []netip.Addr{ip("10.0.0.1"), ip("fd00::1")}},
			{Namespace: "prod", Name: "db-0", IPs: []netip.Addr{ip("10.0.1.1")}},
			{Namespace: "default", IPs: []netip.Addr{ip("10.0.0.9")}},
		},
	}
}

var richMeta = Meta{Cluster: "6b1e2c1a-0d4f-4c4e-9a57-1f1b2a3c4d5e", Written: time.Date(2026, 5, 1, 12, 0, 0, 5, time.UTC)}

// body builds a file by hand, to write what Write never would.
type body []byte

func (b body) uvarint(v uint64) body { return binary.AppendUvarint(b, v) }
func (b body) varint(v int64) body   { return binary.AppendVarint(b, v) }
func (b body) str(s string) body     { return append(b.uvarint(uint64(len(s))), s...) }
func (b body) raw(p ...byte) body    { return append(b, p...) }

// file returns the header, b and its checksum.
func (b body) file() []byte {
	f := append([]byte(magic+string(rune(version))), b...)
	return binary.BigEndian.AppendUint32(f, crc32.Checksum(f, castagnoli))
}

// start is what a hand-built file has before its objects: an empty cluster, the Unix epoch, a
// string table of "ns" and no port lists.
var start = body{}.str("").varint(0).uvarint(0).uvarint(1).str("ns").uvarint(0)

// write writes snap to a file in a new directory and returns its path.
func write(t *testing.T, snap *model.Snapshot, meta Meta) string {
	t.Helper()
	path := t.TempDir() + "/snapshot"
	if err := Write(path, snap, meta); err != nil {
		t.Fatal(err)
	}
	return path
}
