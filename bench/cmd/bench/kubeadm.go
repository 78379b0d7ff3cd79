package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// oursEarly is clusterdns built before cache (make coredns PLACE=early), in kubeadm's chain.
const oursEarly = "clusterdns early"

// kubeadmCorefile is kubeadm's default Corefile around plugin (ours, kubernetesPlugin or whoami),
// on loopback ports: what most clusters run, where every plugin in front of the cluster plugin
// (cache above all) takes its share of each query. The directives are in kubeadm's order; the
// chain runs them in plugin.cfg's, which is why the early build differs.
func kubeadmCorefile(plugin, kubeconfig string, dnsPort int, ports [4]int) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n    bind 127.0.0.1\n    errors\n", dnsPort)
	fmt.Fprintf(&b, "    health 127.0.0.1:%d {\n        lameduck 5s\n    }\n    ready 127.0.0.1:%d\n", ports[3], ports[0])
	if plugin == whoami {
		b.WriteString("    whoami\n")
	} else {
		fmt.Fprintf(&b, "    %s cluster.local in-addr.arpa ip6.arpa {\n", plugin)
		fmt.Fprintf(&b, "        kubeconfig %s\n        pods insecure\n", kubeconfig)
		b.WriteString("        fallthrough in-addr.arpa ip6.arpa\n        ttl 30\n    }\n")
	}
	fmt.Fprintf(&b, "    prometheus 127.0.0.1:%d\n", ports[1])
	if plugin != whoami {
		// forward comes after the cluster plugins in plugin.cfg and never sees a cluster name they
		// answer, but before whoami, which it would starve: whoami's chain goes without it.
		b.WriteString("    forward . /etc/resolv.conf {\n        max_concurrent 1000\n    }\n")
	}
	b.WriteString("    cache 30 {\n        disable success cluster.local\n        disable denial cluster.local\n    }\n")
	b.WriteString("    loop\n    reload\n    loadbalance\n}\n")
	return b.String()
}

// measureKubeadm starts clusterdns (from bin, and from early when it is not empty), the kubernetes
// plugin and whoami in kubeadm's Corefile and runs dnsperf at full speed against each in turn,
// then the kubernetes plugin again for the noise floor, rounds times.
func measureKubeadm(ctx context.Context, bin, early, dir, kubeconfig, file string, rounds int, d time.Duration, log io.Writer) (*throughput, error) {
	type start struct{ name, plugin, bin string }
	starts := []start{{ours, ours, bin}, {kubernetesPlugin, kubernetesPlugin, bin}, {whoami, whoami, bin}}
	if early != "" {
		starts = append([]start{{oursEarly, ours, early}}, starts...)
	}
	servers := map[string]*server{}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	var order []string
	for _, st := range starts {
		s, err := startWith(st.bin, dir, "kubeadm-"+strings.ReplaceAll(st.name, " ", "-"), func(dnsPort int, ports [4]int) string {
			return kubeadmCorefile(st.plugin, kubeconfig, dnsPort, ports)
		})
		if err != nil {
			return nil, err
		}
		servers[st.name] = s
		if _, err := s.waitReady(ctx, 10*time.Minute); err != nil {
			return nil, err
		}
		order = append(order, st.name)
	}
	return alternate(ctx, servers, order, file, rounds, d, "kubeadm Corefile", log)
}

// earlyBinary is the early build's path, or "" when it has not been built.
func earlyBinary(path string) string {
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	return path
}

// writeKubeadm writes the table of the runs in kubeadm's Corefile, each server beside the
// kubernetes plugin and whoami in the same chain, and beside its own plugin in the bare block.
func writeKubeadm(b *strings.Builder, r *scaleResult) {
	k, bare := r.Kubeadm, r.Throughput
	fmt.Fprintf(b, "In kubeadm's default Corefile (errors, health, ready, prometheus, forward (not for whoami: it comes before whoami in plugin.cfg), `cache 30` with cluster.local disabled, loop, reload, loadbalance; median of %d rounds; %s is clusterdns built before cache):\n\n", len(k.QPS[ours]), oursEarly)
	b.WriteString("| | QPS | server CPU busy | QPS per CPU-second | / kubernetes | / whoami | / the same plugin in the bare block |\n| --- | --: | --: | --: | --: | --: | --: |\n")
	for _, name := range []string{oursEarly, ours, kubernetesPlugin, whoami} {
		if k.QPS[name] == nil {
			continue
		}
		plain := name
		if name == oursEarly {
			plain = ours
		}
		pc := k.perCPU(name)
		fmt.Fprintf(b, "| %s | %.0f | %.0f%% | %.0f | %.2fx | %.2fx | %.2fx |\n", name, median(k.QPS[name]), 100*median(k.CPU[name]), median(pc),
			median(ratios(pc, k.perCPU(kubernetesPlugin))), median(ratios(pc, k.perCPU(whoami))), median(ratios(pc, bare.perCPU(plain))))
	}
	fmt.Fprintf(b, "\nNoise floor, kubernetes run 2 / run 1 in that chain: %.2fx. Response codes (last run): clusterdns %s; kubernetes %s.\n\n",
		median(k.Noise), k.Rcodes[ours], k.Rcodes[kubernetesPlugin])
}
