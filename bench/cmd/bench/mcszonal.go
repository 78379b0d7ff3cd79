package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/bench/internal/cluster"
	"k8s.io/client-go/rest"
)

// The multicluster-and-zonal row (issue 13): clusterdns and the kubernetes plugin, each with
// `multicluster clusterset.local` and `zonal`, saturated in turn with a mix of cluster,
// clusterset and zonal names.

const clustersetZone = "clusterset.local."

// mcsZonalMix is what pods of a cluster in a clusterset, spread over zones, send: cluster names,
// clusterset names (with the search-path misses that ndots:5 makes of them) and zonal names of
// headless services, for a zone that endpoints carry or one that none does.
var mcsZonalMix = []queryKind{
	{"ClusterIP A", 15, func(r *rand.Rand, p *pools) string { return pickOf(r, p.clusterIP).FQDN(zone) + " A" }},
	{"headless A", 5, func(r *rand.Rand, p *pools) string { return pickOf(r, p.headless).FQDN(zone) + " A" }},
	{"clusterset ClusterSetIP A", 20, func(r *rand.Rand, p *pools) string {
		return pickOf(r, p.imports.ClusterSetIP).FQDN(clustersetZone) + " A"
	}},
	{"clusterset headless A", 10, func(r *rand.Rand, p *pools) string {
		return pickOf(r, p.imports.Headless).FQDN(clustersetZone) + " A"
	}},
	{"clusterset SRV _port._tcp", 5, func(r *rand.Rand, p *pools) string {
		s := pickOf(r, p.imports.ClusterSetIP)
		return fmt.Sprintf("_%s._tcp.%s SRV", s.Ports[r.IntN(len(s.Ports))], s.FQDN(clustersetZone))
	}},
	{"clusterset endpoint A", 5, func(r *rand.Rand, p *pools) string {
		s := pickOf(r, p.imports.Headless)
		return fmt.Sprintf("web-%d.%s.%s A", r.IntN(len(s.Endpoints)), cluster.SourceCluster, s.FQDN(clustersetZone))
	}},
	{"zonal pin A", 15, func(r *rand.Rand, p *pools) string {
		return fmt.Sprintf("%s.pin._zone.%s A", cluster.Zones[r.IntN(len(cluster.Zones))], pickOf(r, p.headless).FQDN(zone))
	}},
	{"zonal pin SRV", 5, func(r *rand.Rand, p *pools) string {
		return fmt.Sprintf("%s.pin._zone.%s SRV", cluster.Zones[r.IntN(len(cluster.Zones))], pickOf(r, p.headless).FQDN(zone))
	}},
	{"zonal prefer A, a zone without endpoints", 5, func(r *rand.Rand, p *pools) string {
		return "zone-z.prefer._zone." + pickOf(r, p.headless).FQDN(zone) + " A"
	}},
	{"clusterset search-path miss (NXDOMAIN)", 15, func(r *rand.Rand, p *pools) string {
		s := pickOf(r, p.imports.ClusterSetIP)
		return fmt.Sprintf("%s%s.svc.%s A", s.FQDN(clustersetZone), s.Namespace, zone)
	}},
}

// mcsZonalCorefile is corefile's server block with the clusterset zone, `multicluster` and `zonal`.
func mcsZonalCorefile(plugin, kubeconfig string, dnsPort int, ports [4]int) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n    bind 127.0.0.1\n", dnsPort)
	fmt.Fprintf(&b, "    ready 127.0.0.1:%d\n    prometheus 127.0.0.1:%d\n    pprof 127.0.0.1:%d\n", ports[0], ports[1], ports[2])
	fmt.Fprintf(&b, "    %s cluster.local %s in-addr.arpa ip6.arpa {\n", plugin, strings.TrimSuffix(clustersetZone, "."))
	fmt.Fprintf(&b, "        kubeconfig %s\n        pods %s\n        ttl 30\n", kubeconfig, podsInsecure)
	fmt.Fprintf(&b, "        multicluster %s\n        zonal\n", strings.TrimSuffix(clustersetZone, "."))
	b.WriteString("        fallthrough in-addr.arpa ip6.arpa\n    }\n}\n")
	return b.String()
}

// measureMCSZonal imports services into the clusterset (cluster.Import), writes the mix's query
// file, starts clusterdns and the kubernetes plugin with both options, and runs dnsperf at full
// speed against each in turn, then the kubernetes plugin again for the noise floor, rounds times.
func measureMCSZonal(ctx context.Context, cfg *rest.Config, f *cluster.Fixture, perService int, bin, dir, kubeconfig string, rounds int, d time.Duration, log io.Writer) (*throughput, error) {
	im, err := cluster.Import(ctx, cfg, f, perService)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(log, "clusterset: %d ClusterSetIP and %d headless imports\n", len(im.ClusterSetIP), len(im.Headless))
	p := fixturePools(f)
	p.imports = im
	file := dir + "/queries-mcs-zonal.txt"
	if err := writeMix(file, mcsZonalMix, p, queriesInFile); err != nil {
		return nil, err
	}
	servers := map[string]*server{}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for _, name := range []string{ours, kubernetesPlugin} {
		s, err := startWith(bin, dir, "mcs-zonal-"+name, func(dnsPort int, ports [4]int) string {
			return mcsZonalCorefile(name, kubeconfig, dnsPort, ports)
		})
		if err != nil {
			return nil, err
		}
		servers[name] = s
		if _, err := s.waitReady(ctx, 10*time.Minute); err != nil {
			return nil, err
		}
	}
	return alternate(ctx, servers, []string{ours, kubernetesPlugin}, file, rounds, d, "clusterset and zonal", log)
}

// writeMCSZonal writes the table of the clusterset-and-zonal runs.
func writeMCSZonal(b *strings.Builder, r *scaleResult) {
	t := r.MCSZonal
	if t == nil {
		return
	}
	fmt.Fprintf(b, "With `multicluster clusterset.local` and `zonal` (every headless service and as many ClusterIP services imported from one cluster, endpoints in %d zones; a mix of cluster, clusterset and zonal names; median of %d rounds):\n\n", len(cluster.Zones), len(t.QPS[ours]))
	b.WriteString("| | QPS | server CPU busy | QPS per CPU-second | / kubernetes (per CPU-second; raw QPS) |\n| --- | --: | --: | --: | --: |\n")
	for _, name := range []string{ours, kubernetesPlugin} {
		pc := t.perCPU(name)
		fmt.Fprintf(b, "| %s | %.0f | %.0f%% | %.0f | %.2fx; %.2fx |\n", name, median(t.QPS[name]), 100*median(t.CPU[name]), median(pc),
			median(ratios(pc, t.perCPU(kubernetesPlugin))), median(ratios(t.QPS[name], t.QPS[kubernetesPlugin])))
	}
	fmt.Fprintf(b, "\nNoise floor, kubernetes run 2 / run 1: %.2fx. Response codes (last run): clusterdns %s; kubernetes %s.\n\n",
		median(t.Noise), t.Rcodes[ours], t.Rcodes[kubernetesPlugin])
}
