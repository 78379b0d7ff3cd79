package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// writeReport writes results.md: machine, method, one table per scale, targets and profile tops.
func writeReport(path string, cfg config, m machine, results []*scaleResult) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# clusterdns vs the kubernetes plugin\n\nWritten by `make bench` (bench/cmd/bench) on %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "| machine | |\n| --- | --- |\n| clusterdns commit | %s |\n| nproc | %s |\n| CPU | %s |\n| kernel | %s |\n| load average at start | %s |\n| Go | %s |\n| CoreDNS | %s |\n| Kubernetes | %s |\n| dnsperf | %s |\n\n",
		m.Commit, m.Nproc, m.CPU, m.Kernel, m.Load, m.Go, m.CoreDNS, m.Kubernetes, m.DNSPerf)
	writeMethod(&b, cfg)
	for _, r := range results {
		writeScale(&b, cfg, r)
	}
	b.WriteString("![QPS and memory versus scale](scale.png)\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func writeMethod(b *strings.Builder, cfg config) {
	fmt.Fprintf(b, `## Method

Three CoreDNS processes from the same binary, each alone on core %s (taskset; GOMAXPROCS 1), with
bind, ready, prometheus and pprof around one plugin: clusterdns, kubernetes (same options: `+"`pods insecure`, `ttl 30`,"+`
`+"`fallthrough in-addr.arpa ip6.arpa`"+`, a kubeconfig to the control plane), or whoami (a reference for CoreDNS's own server
path). No cache. dnsperf, and once the cluster is loaded the control plane and this program, run
on core %s: %d rounds of %s runs at full speed (`+"`-c 8 -q 200`"+`), each round
clusterdns, kubernetes, whoami, kubernetes again (its second run over its first is the noise floor);
then %d rounds at a fixed rate of %.0f%% of the kubernetes plugin's median maximum, with latency per
query from `+"`dnsperf -v`"+` (Debian's dnsperf has no histogram). Medians over rounds; ratios are
medians of round-by-round ratios. Other work ran on the machine at the same time, so absolute numbers
are noisy and the alternated ratios are what counts.

The synthetic cluster: 100 services per namespace, every tenth service headless (StatefulSet-style
endpoint hostnames), every tenth dual-stack, two named TCP ports each; services without selectors
and their EndpointSlices written directly (ready endpoints with node and pod references). The same
query file (%d queries, cycled) for every server:

| query | share |
| --- | --- |
`, serverCPU, clientCPU, cfg.rounds, cfg.duration, cfg.rounds, cfg.latencyLoad*100, queriesInFile)
	for _, k := range mix {
		fmt.Fprintf(b, "| %s | %d%% |\n", k.name, k.weight)
	}
	fmt.Fprintf(b, `
Memory: VmRSS, and the Go heap in use (HeapInuse: the spans that hold live objects) after a GC
forced through pprof; "cluster data" is that heap minus the whoami server's. The live objects
alone (HeapAlloc) are shown too: the difference is fragmentation. Pods verified, after everything else: one Pod per endpoint (a dual-stack
endpoint's two addresses are one pod's), named as its targetRef, bound to the endpoints' node and
set Running with the endpoint's addresses through the status subresource (no kubelet runs them);
then clusterdns and kubernetes start again with `+"`pods verified`"+` (which watches every pod), must
answer a pod's name with its address and an address no pod has with NXDOMAIN, and their memory is
measured the same way. Re-list: kube-apiserver killed for %s and restarted, RSS sampled every
100 ms (and VmHWM, reset before) until both plugins serve a service created after the restart, plus
5 s; a ConfigMap written just before the stop makes every watcher list again (no watch can resume). Programming latency: %d changes of each kind, one at a time, from just before the API write to
the first changed answer, each server polled every %s over UDP. Time to ready: process start to
/ready answering 200, servers started one after the other, %d times. Churn: for headless services of
%v ready endpoints (slices of 100, StatefulSet hostnames, a named port), %d EndpointSlice updates
as fast as the API server takes them, each flipping one endpoint's readiness; the CPU each server
used from the first write until it answers the last, per change. Then, for the service of %d
endpoints, dnsperf at full speed against each server without changes and while it gets %d
writes a second; then %d more writes at that rate, each timed as a programming latency on both
servers while the next ones go on. Warm start: clusterdns with `+"`snapshot`"+`, once it has written
the file, stopped and started again with an API server that refuses every connection; from the
process start to its first answer for the last ClusterIP service, then to /ready.

`, outage, cfg.changes, pollEvery, readyRounds, churnSizes, churnChanges, churnLoadSize, churnLoadRate, churnTimed)
}

func writeScale(b *strings.Builder, cfg config, r *scaleResult) {
	fmt.Fprintf(b, "## %d services, %d endpoints\n\n", r.Services, r.Endpoints)
	fmt.Fprintf(b, "Loaded through the API in %s; then %d pods created and set Running in %s.\n\n",
		r.LoadTime.Round(time.Second), r.Pods.Pods, r.Pods.CreateTime.Round(time.Second))
	b.WriteString("| | clusterdns | kubernetes | whoami | clusterdns / kubernetes | clusterdns / whoami |\n| --- | --: | --: | --: | --: | --: |\n")
	t, l := r.Throughput, r.Latency
	q := func(name string) float64 { return median(t.QPS[name]) }
	row(b, fmt.Sprintf("QPS, one core (median of %d)", len(t.QPS[ours])),
		fmt.Sprintf("%.0f", q(ours)), fmt.Sprintf("%.0f", q(kubernetesPlugin)), fmt.Sprintf("%.0f", q(whoami)),
		fmt.Sprintf("%.2fx", median(ratios(t.QPS[ours], t.QPS[kubernetesPlugin]))), fmt.Sprintf("%.2fx", median(ratios(t.QPS[ours], t.QPS[whoami]))))
	busy := func(name string) string { return fmt.Sprintf("%.0f%%", 100*median(t.CPU[name])) }
	row(b, "server CPU busy during those runs", busy(ours), busy(kubernetesPlugin), busy(whoami), "", "")
	pc := func(name string) string { return fmt.Sprintf("%.0f", median(t.perCPU(name))) }
	row(b, "QPS per CPU-second of the server", pc(ours), pc(kubernetesPlugin), pc(whoami),
		fmt.Sprintf("%.2fx", median(ratios(t.perCPU(ours), t.perCPU(kubernetesPlugin)))), fmt.Sprintf("%.2fx", median(ratios(t.perCPU(ours), t.perCPU(whoami)))))
	row(b, "noise floor: kubernetes run 2 / run 1", "", fmt.Sprintf("%.2fx (min %.2f, max %.2f)", median(t.Noise), slices.Min(t.Noise), slices.Max(t.Noise)), "", "", "")
	avg := func(name string) string { return us(median(t.Avg[name])) }
	row(b, "average latency at full speed", avg(ours), avg(kubernetesPlugin), avg(whoami), "", "")
	lat := func(v map[string][]time.Duration, name string) string { return us(median(v[name])) }
	row(b, fmt.Sprintf("p50 at %d qps", l.Rate), lat(l.P50, ours), lat(l.P50, kubernetesPlugin), lat(l.P50, whoami),
		durRatio(median(l.P50[ours]), median(l.P50[kubernetesPlugin])), "")
	row(b, fmt.Sprintf("p99 at %d qps", l.Rate), lat(l.P99, ours), lat(l.P99, kubernetesPlugin), lat(l.P99, whoami),
		durRatio(median(l.P99[ours]), median(l.P99[kubernetesPlugin])), "")
	row(b, "queries lost in the latency runs", fmt.Sprint(l.Lost[ours]), fmt.Sprint(l.Lost[kubernetesPlugin]), fmt.Sprint(l.Lost[whoami]), "", "")
	for _, m := range []struct {
		label string
		of    func(readiness) time.Duration
	}{{"time to ready", func(x readiness) time.Duration { return x.Wall }}, {"CPU used until ready", func(x readiness) time.Duration { return x.CPU }}} {
		rd := func(name string) time.Duration {
			var d []time.Duration
			for _, x := range r.Ready[name] {
				d = append(d, m.of(x))
			}
			return median(d)
		}
		row(b, fmt.Sprintf("%s (median of %d starts)", m.label, readyRounds), ms(rd(ours)), ms(rd(kubernetesPlugin)), ms(rd(whoami)), durRatio(rd(ours), rd(kubernetesPlugin)), "")
	}
	mem := r.Memory
	row(b, "RSS after sync, MiB", mib(mem[ours].RSS), mib(mem[kubernetesPlugin].RSS), mib(mem[whoami].RSS), ratio(mem[ours].RSS, mem[kubernetesPlugin].RSS), "")
	row(b, "Go heap in use after GC, MiB", mib(mem[ours].HeapInuse), mib(mem[kubernetesPlugin].HeapInuse), mib(mem[whoami].HeapInuse), ratio(mem[ours].HeapInuse, mem[kubernetesPlugin].HeapInuse), "")
	row(b, "of which live objects (HeapAlloc), MiB", mib(mem[ours].HeapAlloc), mib(mem[kubernetesPlugin].HeapAlloc), mib(mem[whoami].HeapAlloc), ratio(mem[ours].HeapAlloc, mem[kubernetesPlugin].HeapAlloc), "")
	oursData, incData := r.heapData(ours), r.heapData(kubernetesPlugin)
	row(b, "heap for the cluster's data (minus whoami), MiB", mib(oursData), mib(incData), "", ratio(oursData, incData), "")
	row(b, "published sizing (endpoints + services)/1000 + 54, MB", "", fmt.Sprintf("%.0f", r.sizing()), "", "", "")
	ofSizing := func(name string) string { return fmt.Sprintf("%.2fx", float64(mem[name].RSS)/(1<<20)/r.sizing()) }
	row(b, "RSS / published sizing", ofSizing(ours), ofSizing(kubernetesPlugin), "", "", "")
	pm := r.Pods.Memory
	row(b, "RSS with pods verified, MiB", mib(pm[ours].RSS), mib(pm[kubernetesPlugin].RSS), "", ratio(pm[ours].RSS, pm[kubernetesPlugin].RSS), "")
	row(b, "Go heap in use after GC with pods verified, MiB", mib(pm[ours].HeapInuse), mib(pm[kubernetesPlugin].HeapInuse), "", ratio(pm[ours].HeapInuse, pm[kubernetesPlugin].HeapInuse), "")
	row(b, "of which live objects (HeapAlloc) with pods verified, MiB", mib(pm[ours].HeapAlloc), mib(pm[kubernetesPlugin].HeapAlloc), "", ratio(pm[ours].HeapAlloc, pm[kubernetesPlugin].HeapAlloc), "")
	oursPods, incPods := r.podsHeapData(ours), r.podsHeapData(kubernetesPlugin)
	row(b, "heap for the cluster's data with pods verified (minus whoami), MiB", mib(oursPods), mib(incPods), "", ratio(oursPods, incPods), "")
	row(b, "published sizing with pods verified (pods + services)/250 + 56, MB", "", fmt.Sprintf("%.0f", r.podsSizing()), "", "", "")
	ofPodsSizing := func(name string) string { return fmt.Sprintf("%.2fx", float64(pm[name].RSS)/(1<<20)/r.podsSizing()) }
	row(b, "RSS with pods verified / published sizing", ofPodsSizing(ours), ofPodsSizing(kubernetesPlugin), "", "", "")
	rl := r.Relist
	row(b, "RSS before the re-list, MiB", mib(rl.Steady[ours]), mib(rl.Steady[kubernetesPlugin]), "", "", "")
	row(b, "peak RSS during the re-list, MiB", mib(rl.Peak[ours]), mib(rl.Peak[kubernetesPlugin]), "", ratio(rl.Peak[ours], rl.Peak[kubernetesPlugin]), "")
	row(b, "re-list peak / before", ratio(rl.Peak[ours], rl.Steady[ours]), ratio(rl.Peak[kubernetesPlugin], rl.Steady[kubernetesPlugin]), "", "", "")
	p := r.Programming
	for _, kind := range changeKinds {
		row(b, "programming latency p50 / p99, "+kind, pq(p.latencies(ours, kind)), pq(p.latencies(kubernetesPlugin, kind)), "", "", "")
	}
	row(b, "programming latency p50 / p99, all", pq(p.latencies(ours, "")), pq(p.latencies(kubernetesPlugin, "")), "", "", "")
	row(b, "programming latency, clusterdns minus kubernetes change by change, p50 / p99", "", "", "", pq(p.differences(ours, kubernetesPlugin)), "")
	row(b, "changes not seen in "+changeTimeout.String(), fmt.Sprint(p.missed(ours)), fmt.Sprint(p.missed(kubernetesPlugin)), "", "", "")
	for _, c := range r.Churn.Sizes {
		row(b, fmt.Sprintf("CPU per EndpointSlice change, headless service of %d endpoints", c.Endpoints),
			us(c.PerChange[ours]), us(c.PerChange[kubernetesPlugin]), "", durRatio(c.PerChange[ours], c.PerChange[kubernetesPlugin]), "")
	}
	if cp := r.Churn.Programming; cp != nil {
		row(b, fmt.Sprintf("programming latency p50 / p99 during churn (%d EndpointSlice writes at %d a second, %d-endpoint headless service)", churnTimed, churnLoadRate, churnLoadSize),
			pq(cp.latencies(ours, "")), pq(cp.latencies(kubernetesPlugin, "")), "", "", "")
		row(b, "the same, clusterdns minus kubernetes change by change, p50 / p99", "", "", "", pq(cp.differences(ours, kubernetesPlugin)), "")
		row(b, "changes during churn not seen in "+changeTimeout.String(), fmt.Sprint(cp.missed(ours)), fmt.Sprint(cp.missed(kubernetesPlugin)), "", "", "")
	}
	if w := r.WarmStart; w != nil {
		row(b, fmt.Sprintf("warm start from the snapshot (%.1f MiB), API server unreachable: first answer / ready (startup_timeout %s)", float64(w.FileBytes)/(1<<20), warmStartTimeout),
			ms(w.FirstAnswer)+" / "+ms(w.Ready), "no such start", "", "", "")
	}
	row(b, "response codes (last run)", t.Rcodes[ours], t.Rcodes[kubernetesPlugin], t.Rcodes[whoami], "", "")
	fmt.Fprintf(b, "\nRe-list: from the API server stop until both served a new service: %s. Lists (plain or streamed) the restarted API server served until then, to both plugins and the controller manager: %s.\n\n",
		rl.Took.Round(time.Millisecond), requestCounts(rl.Relists))
	writeKubeadm(b, r)
	writeAPICost(b, r)
	writeMCSZonal(b, r)
	writeAutopath(b, r)
	writeTargets(b, r)
	for _, pr := range r.Profiles {
		fmt.Fprintf(b, "<details><summary>%s (%s)</summary>\n\n```\n%s\n```\n</details>\n\n", pr.Title, pr.Path, pr.Top)
	}
}

// heapData is a server's heap in use minus the empty server's.
func (r *scaleResult) heapData(name string) uint64 { return r.minusEmpty(r.Memory[name]) }

// podsHeapData is a server's heap in use with pods verified minus the empty server's.
func (r *scaleResult) podsHeapData(name string) uint64 { return r.minusEmpty(r.Pods.Memory[name]) }

func (r *scaleResult) minusEmpty(m memory) uint64 {
	return m.HeapInuse - min(r.Memory[whoami].HeapInuse, m.HeapInuse)
}

// sizing is the kubernetes plugin's published memory sizing in MB for this cluster, pods not verified.
func (r *scaleResult) sizing() float64 {
	return float64(r.Endpoints+r.Services)/1000 + 54
}

// podsSizing is the kubernetes plugin's published memory sizing in MB with pods verified.
func (r *scaleResult) podsSizing() float64 {
	return float64(r.Pods.Pods+r.Services)/250 + 56
}

func writeTargets(b *strings.Builder, r *scaleResult) {
	t, l, p, rl := r.Throughput, r.Latency, r.Programming, r.Relist
	b.WriteString("| target | measured | met |\n| --- | --: | --- |\n")
	target := func(name, measured string, met bool) {
		fmt.Fprintf(b, "| %s | %s | %s |\n", name, measured, map[bool]string{true: "yes", false: "**no**"}[met])
	}
	qpsTarget := func(other string, want float64) {
		raw, cpu := median(ratios(t.QPS[ours], t.QPS[other])), median(ratios(t.perCPU(ours), t.perCPU(other)))
		target(fmt.Sprintf("QPS per core >= %.2fx %s (per CPU-second; raw QPS)", want, other), fmt.Sprintf("%.3fx; %.3fx", cpu, raw), cpu >= want)
	}
	qpsTarget(whoami, 0.95)
	qpsTarget(kubernetesPlugin, 1.35)
	for _, k := range []struct {
		name string
		want float64
	}{{ours, 1.4}, {oursEarly, 1.8}} {
		if r.Kubeadm.QPS[k.name] == nil {
			continue
		}
		cpu := median(ratios(r.Kubeadm.perCPU(k.name), r.Kubeadm.perCPU(kubernetesPlugin)))
		target(fmt.Sprintf("in kubeadm's Corefile, %s QPS per CPU-second >= %.1fx kubernetes", k.name, k.want), fmt.Sprintf("%.2fx", cpu), cpu >= k.want)
	}
	p99o, p99i := median(l.P99[ours]), median(l.P99[kubernetesPlugin])
	target(fmt.Sprintf("p99 at %d qps below kubernetes", l.Rate), us(p99o)+" vs "+us(p99i), p99o < p99i)
	heap := float64(r.heapData(ours)) / float64(max(r.heapData(kubernetesPlugin), 1))
	target("heap for the cluster's data <= 0.4x kubernetes (pods insecure)", fmt.Sprintf("%.3fx", heap), heap <= 0.4)
	podsHeap := float64(r.podsHeapData(ours)) / float64(max(r.podsHeapData(kubernetesPlugin), 1))
	target("heap for the cluster's data <= 0.25x kubernetes (pods verified)", fmt.Sprintf("%.3fx", podsHeap), podsHeap <= 0.25)
	peak := float64(rl.Peak[ours]) / float64(rl.Steady[ours])
	target("re-list peak <= 1.3x steady RSS", fmt.Sprintf("%.3fx", peak), peak <= 1.3)
	kept := r.Churn.QPSKept[ours]
	target(fmt.Sprintf("QPS while a %d-endpoint headless service changes %d times a second >= 0.9x QPS without", churnLoadSize, churnLoadRate),
		fmt.Sprintf("%.2fx (kubernetes %.2fx)", kept, r.Churn.QPSKept[kubernetesPlugin]), kept >= 0.9)
	for _, c := range r.Churn.Sizes {
		cpu := float64(c.PerChange[ours]) / float64(max(c.PerChange[kubernetesPlugin], 1))
		target(fmt.Sprintf("CPU per EndpointSlice change of a %d-endpoint headless service <= 3x kubernetes", c.Endpoints), fmt.Sprintf("%.2fx", cpu), cpu <= 3)
	}
	po, pi := sortedQuantile(p.latencies(ours, ""), 0.99), sortedQuantile(p.latencies(kubernetesPlugin, ""), 0.99)
	target(fmt.Sprintf("programming latency p99 no worse than kubernetes (within the %s poll)", pollEvery), ms(po)+" vs "+ms(pi),
		po <= pi+pollEvery && p.missed(ours) <= p.missed(kubernetesPlugin))
	if w := r.WarmStart; w != nil {
		target("warm start from the snapshot answering in under 1 s", ms(w.FirstAnswer), w.FirstAnswer < time.Second)
	}
	if cp := r.Churn.Programming; cp != nil {
		po, pi := sortedQuantile(cp.latencies(ours, ""), 0.99), sortedQuantile(cp.latencies(kubernetesPlugin, ""), 0.99)
		target(fmt.Sprintf("programming latency p99 during churn no worse than kubernetes (within the %s poll)", pollEvery), ms(po)+" vs "+ms(pi),
			po <= pi+pollEvery && cp.missed(ours) <= cp.missed(kubernetesPlugin))
	}
	b.WriteString("\n")
}

func row(b *strings.Builder, cells ...string) {
	fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
}

func sortedQuantile(d []time.Duration, q float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return quantile(s, q)
}

// pq is "p50 / p99" of latencies in milliseconds.
func pq(d []time.Duration) string {
	if len(d) == 0 {
		return "none"
	}
	return ms(sortedQuantile(d, 0.5)) + " / " + ms(sortedQuantile(d, 0.99))
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }
func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
func mib(n uint64) string       { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

func ratio(a, b uint64) string {
	if b == 0 {
		return ""
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

func durRatio(a, b time.Duration) string {
	if b == 0 {
		return ""
	}
	return fmt.Sprintf("%.2fx", float64(a)/float64(b))
}

// requestCounts is "endpointslices 3, services 3" in a stable order.
func requestCounts(c map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(c)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
	}
	return strings.Join(parts, ", ")
}
