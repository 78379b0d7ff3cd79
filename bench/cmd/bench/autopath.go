package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// The servers of the autopath measurement: each plugin with and without autopath.
const (
	oursAutopath       = "clusterdns autopath"
	kubernetesAutopath = "kubernetes autopath"
)

// autopathClient is the client pod's address: a loopback one, so that the queries this process
// sends from it are the pod's (there is no kubelet: the pod is made Running through the API).
const autopathClient = "127.0.0.2"

// externalName is the name the pod resolves; the upstream answers its A at once, its AAAA with
// NODATA, and every other name with NXDOMAIN.
const externalName = "www.example.net."

// resolutionsPerRound is how many times each server resolves externalName in a round.
const resolutionsPerRound = 500

// autopathResult is what a pod (ndots:5) pays to resolve an external name, A then AAAA, through its
// search list: the queries it sends and the time they take, by server, one mean per round; and
// the QPS per CPU-second of the servers with autopath for the first query of that search (the
// external name with the pod's first search domain), one a round.
type autopathResult struct {
	Search  []string
	Queries map[string]float64
	Time    map[string][]time.Duration
	PerCPU  map[string][]float64
}

// autopathCorefile is one plugin, with autopath naming it or not, over the API server, forwarding
// other names to upstream. The kubernetes plugin's autopath needs pods verified; ours needs nothing.
func autopathCorefile(name, kubeconfig, upstream string, dnsPort int, ports [4]int) string {
	plugin, pods, auto := ours, podsInsecure, ""
	switch name {
	case oursAutopath:
		auto = "autopath @" + ours
	case kubernetesAutopath:
		plugin, pods, auto = kubernetesPlugin, podsVerified, "autopath @"+kubernetesPlugin
	case kubernetesPlugin:
		plugin = kubernetesPlugin
	}
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n    bind 127.0.0.1\n    ready 127.0.0.1:%d\n", dnsPort, ports[0])
	if auto != "" {
		fmt.Fprintf(&b, "    %s\n", auto)
	}
	fmt.Fprintf(&b, "    %s cluster.local in-addr.arpa ip6.arpa {\n        kubeconfig %s\n        pods %s\n        ttl 30\n", plugin, kubeconfig, pods)
	b.WriteString("        fallthrough in-addr.arpa ip6.arpa\n    }\n")
	fmt.Fprintf(&b, "    forward . %s\n}\n", upstream)
	return b.String()
}

// measureAutopath creates a client pod in namespace ns, starts both plugins with and without
// autopath, waits until each autopath knows the pod, then has each resolve externalName through
// the pod's search list resolutionsPerRound times, alternated over rounds, and runs dnsperf from
// the pod's address for d against each autopath in turn, rounds times.
func measureAutopath(ctx context.Context, cp *controlplane.ControlPlane, bin, dir, ns string, rounds int, d time.Duration, log io.Writer) (*autopathResult, error) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "autopath-client"}}
	if _, err := cp.CreateReadyPod(ctx, pod, autopathClient); err != nil {
		return nil, err
	}
	defer func() {
		_ = cp.Client.CoreV1().Pods(ns).Delete(context.Background(), pod.Name, metav1.DeleteOptions{})
	}()
	upstream, err := startUpstream()
	if err != nil {
		return nil, err
	}
	defer upstream.Shutdown()

	r := &autopathResult{Queries: map[string]float64{}, Time: map[string][]time.Duration{}, PerCPU: map[string][]float64{}}
	r.Search = []string{ns + ".svc.cluster.local.", "svc.cluster.local.", "cluster.local."}
	if rc, err := dns.ClientConfigFromFile("/etc/resolv.conf"); err == nil { // the node's, as kubelet adds them
		for _, s := range rc.Search {
			r.Search = append(r.Search, dns.Fqdn(s))
		}
	}
	names := []string{oursAutopath, ours, kubernetesAutopath, kubernetesPlugin}
	servers := map[string]*server{}
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for _, name := range names {
		s, err := startWith(bin, dir, "autopath-"+strings.ReplaceAll(name, " ", "-"), func(dnsPort int, ports [4]int) string {
			return autopathCorefile(name, cp.Kubeconfig, upstream.PacketConn.LocalAddr().String(), dnsPort, ports)
		})
		if err != nil {
			return nil, err
		}
		servers[name] = s
		if _, err := s.waitReady(ctx, 2*time.Minute); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, name := range []string{oursAutopath, kubernetesAutopath} {
		if err := waitAutopath(ctx, servers[name], r.Search[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for round := range rounds {
		for _, name := range names {
			queries, took, err := resolveThroughSearch(servers[name], r.Search, resolutionsPerRound)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			r.Queries[name] = float64(queries) / resolutionsPerRound
			r.Time[name] = append(r.Time[name], took/resolutionsPerRound)
			fmt.Fprintf(log, "autopath round %d: %s %.1f queries, %s a resolution\n", round+1, name, r.Queries[name], took/resolutionsPerRound)
		}
	}
	file := filepath.Join(dir, "autopath-queries.txt")
	if err := os.WriteFile(file, []byte(externalName+r.Search[0]+" A\n"), 0o644); err != nil {
		return nil, fmt.Errorf("write %s: %w", file, err)
	}
	for round := range rounds {
		for _, name := range []string{oursAutopath, kubernetesAutopath} {
			s := servers[name]
			p, busy, err := saturateArgs(ctx, s, append(dnsperfArgs(s.port, file, d, 0), "-a", autopathClient), d)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			r.PerCPU[name] = append(r.PerCPU[name], p.QPS/max(busy, 0.01))
			fmt.Fprintf(log, "autopath round %d: %s %.0f qps, server CPU %.0f%%, %s\n", round+1, name, p.QPS, busy*100, p.Rcodes)
		}
	}
	return r, nil
}

// waitAutopath waits until the server answers the pod's first search with autopath's CNAME: its
// watch has delivered the pod.
func waitAutopath(ctx context.Context, s *server, first string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		m, err := askFrom(s, externalName+first, dns.TypeA)
		if err == nil && len(m.Answer) > 0 && m.Answer[0].Header().Rrtype == dns.TypeCNAME {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("no autopath answer from %s: %v", autopathClient, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// resolveThroughSearch resolves externalName n times as a stub resolver with ndots:5 does, A then
// AAAA, each through the search list then as asked until an answer is not NXDOMAIN, and returns
// the queries sent and the time they took.
func resolveThroughSearch(s *server, search []string, n int) (int, time.Duration, error) {
	tries := append(slices.Clone(search), "")
	queries, start := 0, time.Now()
	for range n {
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			for _, try := range tries {
				queries++
				m, err := askFrom(s, externalName+try, qtype)
				if err != nil {
					return 0, 0, err
				}
				if m.Rcode != dns.RcodeNameError {
					break
				}
			}
		}
	}
	return queries, time.Since(start), nil
}

// askFrom asks over UDP from the client pod's address.
func askFrom(s *server, name string, qtype uint16) (*dns.Msg, error) {
	c := &dns.Client{Timeout: 2 * time.Second, Dialer: &net.Dialer{LocalAddr: &net.UDPAddr{IP: net.ParseIP(autopathClient)}}}
	m, _, err := c.Exchange(new(dns.Msg).SetQuestion(name, qtype), s.addr())
	if err != nil {
		return nil, fmt.Errorf("%s from %s: %w", name, autopathClient, err)
	}
	return m, nil
}

// startUpstream serves externalName on a loopback UDP port, as forward's upstream.
func startUpstream() (*dns.Server, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, NotifyStartedFunc: func() { close(started) }, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg).SetReply(r)
		q := r.Question[0]
		switch {
		case !strings.EqualFold(q.Name, externalName):
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeA:
			m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 30}, A: net.ParseIP("192.0.2.1")}}
		}
		_ = w.WriteMsg(m)
	})}
	go func() { _ = srv.ActivateAndServe() }()
	<-started
	return srv, nil
}

// writeAutopath writes the autopath table.
func writeAutopath(b *strings.Builder, r *scaleResult) {
	a := r.Autopath
	fmt.Fprintf(b, "Resolving %s (A, then AAAA) from a pod through its search list (%s, then as asked), over UDP from the pod's address; the upstream answers at once. Medians of %d rounds of %d resolutions:\n\n",
		externalName, strings.Join(a.Search, " "), len(a.Time[ours]), resolutionsPerRound)
	b.WriteString("| server | queries a resolution | time a resolution | / kubernetes plugin with autopath |\n| --- | --: | --: | --: |\n")
	ref := median(a.Time[kubernetesAutopath])
	for _, name := range []string{oursAutopath, kubernetesAutopath, ours, kubernetesPlugin} {
		t := median(a.Time[name])
		fmt.Fprintf(b, "| %s | %.0f | %s | %.2fx |\n", name, a.Queries[name], us(t), float64(t)/float64(max(ref, 1)))
	}
	fmt.Fprintf(b, "\nThe first query of that search (%s%s A) at full speed from the pod's address, which autopath completes through the list to the upstream: QPS per CPU-second, clusterdns %.0f, kubernetes %.0f (%.2fx, median of round-by-round ratios).\n\n",
		externalName, a.Search[0], median(a.PerCPU[oursAutopath]), median(a.PerCPU[kubernetesAutopath]),
		median(ratios(a.PerCPU[oursAutopath], a.PerCPU[kubernetesAutopath])))
}
