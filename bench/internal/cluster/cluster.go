// Package cluster loads a synthetic cluster into a Kubernetes API server for the benchmarks, and
// describes what it loaded so that queries can be generated for it.
package cluster

import (
	"fmt"
	"net/netip"
)

// Spec is the shape of the synthetic cluster.
type Spec struct {
	Services       int
	PodsPerService int
	// Workers is how many creates run in parallel.
	Workers int
}

// Service is one loaded Service, with what DNS serves for it.
type Service struct {
	Namespace  string
	Name       string
	Headless   bool
	DualStack  bool
	ClusterIPs []string // as allocated by the API server; empty when headless
	Ports      []string // named TCP ports
	Endpoints  []string // ready endpoint addresses, IPv4 then IPv6
}

// FQDN is the service's name in zone (with the trailing dot).
func (s Service) FQDN(zone string) string {
	return fmt.Sprintf("%s.%s.svc.%s", s.Name, s.Namespace, zone)
}

// Fixture is what Load created.
type Fixture struct {
	Services []Service
}

// Endpoints is the number of endpoint addresses across all services.
func (f *Fixture) Endpoints() int {
	n := 0
	for _, s := range f.Services {
		n += len(s.Endpoints)
	}
	return n
}

// Every tenth service is headless and every tenth (another one) dual-stack.
func headless(i int) bool  { return i%10 == 0 }
func dualStack(i int) bool { return i%10 == 5 }

// servicesPerNamespace spreads services over namespaces as a mid-sized cluster does.
const servicesPerNamespace = 100

func namespaceOf(i int) string { return fmt.Sprintf("bench-%03d", i/servicesPerNamespace) }
func serviceName(i int) string { return fmt.Sprintf("svc-%05d", i) }

// podName is the pod behind endpoint j of service: what the endpoint's targetRef names.
func podName(service string, j int) string { return fmt.Sprintf("%s-%d", service, j) }

// Zones are the topology zones of the endpoints, round robin: zonal names pick one of them.
var Zones = []string{"zone-a", "zone-b", "zone-c"}

// ports are the named ports of every service: SRV queries ask for _http._tcp and _grpc._tcp.
var ports = []struct {
	name         string
	port, target int32
}{{"http", 80, 8080}, {"grpc", 9090, 9090}}

// endpointIPv4 is the address of endpoint j of service i, from 10.128.0.0/9 (room for 8M).
func endpointIPv4(i, j, perService int) netip.Addr {
	n := uint32(i*perService + j)
	return netip.AddrFrom4([4]byte{10, 128 + byte(n>>16), byte(n >> 8), byte(n)})
}

// endpointIPv6 is the IPv6 address of the same endpoint, in fd00:10:244::/64.
func endpointIPv6(i, j, perService int) netip.Addr {
	n := uint32(i*perService + j)
	b := [16]byte{0xfd, 0x00, 0x00, 0x10, 0x02, 0x44}
	b[12], b[13], b[14], b[15] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return netip.AddrFrom16(b)
}
