package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"

	"github.com/clusterdns/clusterdns/bench/internal/cluster"
	"github.com/miekg/dns"
)

const zone = "cluster.local."

// queryKind is one kind of query in the mix, with its share in percent.
type queryKind struct {
	name   string
	weight int
	pick   func(r *rand.Rand, p *pools) string // one dnsperf line: "NAME TYPE"
}

// pools are the services each kind of query picks from.
type pools struct {
	clusterIP []cluster.Service // not headless
	headless  []cluster.Service
	ipv4Only  []cluster.Service // not headless, not dual-stack
	imports   *cluster.Imports  // the clusterset's (mcszonal.go)
}

// mix is what pods send to cluster DNS: mostly service lookups, and search-path misses from
// ndots:5 (a pod in namespace ns asking for svc.ns.svc.cluster.local first tries it with
// .ns.svc.cluster.local, .svc.cluster.local and .cluster.local appended).
var mix = []queryKind{
	{"ClusterIP A", 30, func(r *rand.Rand, p *pools) string {
		return pickOf(r, p.clusterIP).FQDN(zone) + " A"
	}},
	{"headless A", 10, func(r *rand.Rand, p *pools) string {
		return pickOf(r, p.headless).FQDN(zone) + " A"
	}},
	{"SRV _port._tcp", 10, func(r *rand.Rand, p *pools) string {
		s := pickOf(r, p.clusterIP)
		return fmt.Sprintf("_%s._tcp.%s SRV", s.Ports[r.IntN(len(s.Ports))], s.FQDN(zone))
	}},
	{"PTR of ClusterIP", 10, func(r *rand.Rand, p *pools) string {
		s := pickOf(r, p.clusterIP)
		name, _ := dns.ReverseAddr(s.ClusterIPs[0])
		return name + " PTR"
	}},
	{"AAAA of IPv4-only (NODATA)", 15, func(r *rand.Rand, p *pools) string {
		return pickOf(r, p.ipv4Only).FQDN(zone) + " AAAA"
	}},
	{"search-path miss (NXDOMAIN)", 25, func(r *rand.Rand, p *pools) string {
		s := pickOf(r, p.clusterIP)
		suffix := []string{s.Namespace + ".svc." + zone, "svc." + zone, zone}[r.IntN(3)]
		return fmt.Sprintf("%s.%s.svc.cluster.local.%s A", s.Name, s.Namespace, suffix)
	}},
}

func pickOf(r *rand.Rand, from []cluster.Service) cluster.Service { return from[r.IntN(len(from))] }

// writeQueries writes n queries drawn from mix for the fixture to path, the same file (same seed)
// for every server.
func writeQueries(path string, f *cluster.Fixture, n int) error {
	return writeMix(path, mix, fixturePools(f), n)
}

// fixturePools sorts the fixture's services into the pools the query kinds pick from.
func fixturePools(f *cluster.Fixture) *pools {
	p := &pools{}
	for _, s := range f.Services {
		switch {
		case s.Headless:
			p.headless = append(p.headless, s)
		case s.DualStack:
			p.clusterIP = append(p.clusterIP, s)
		default:
			p.clusterIP = append(p.clusterIP, s)
			p.ipv4Only = append(p.ipv4Only, s)
		}
	}
	return p
}

// writeMix writes n queries drawn from kinds, picking from p, to path, with a fixed seed.
func writeMix(path string, kinds []queryKind, p *pools, n int) error {
	if len(p.headless) == 0 || len(p.ipv4Only) == 0 {
		return fmt.Errorf("fixture of %d services has no headless or no IPv4-only service", len(p.clusterIP)+len(p.headless))
	}
	file, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create query file: %w", err)
	}
	w := bufio.NewWriter(file)
	r := rand.New(rand.NewPCG(1, 2))
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	for range n {
		x := r.IntN(total)
		for _, k := range kinds {
			if x < k.weight {
				fmt.Fprintln(w, k.pick(r, p))
				break
			}
			x -= k.weight
		}
	}
	if err := w.Flush(); err != nil {
		file.Close()
		return fmt.Errorf("write query file: %w", err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("write query file: %w", err)
	}
	return nil
}
