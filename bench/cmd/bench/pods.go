package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/bench/internal/cluster"
	"github.com/clusterdns/clusterdns/test/controlplane"
	"github.com/miekg/dns"
)

// podWorkers is how many pods are created in parallel: enough to keep the API server busy on both
// cores, whose time is mostly the round trips of two writes per pod.
const podWorkers = 24

// notAPod is an address no pod has: the endpoints, hence the pods, are in 10.128.0.0/9.
var notAPod = netip.MustParseAddr("10.127.0.1")

// podsMemory is the memory of ours and the kubernetes plugin with "pods verified", which holds every pod's
// addresses, with a pod behind every endpoint.
type podsMemory struct {
	Pods       int
	CreateTime time.Duration // to create the pods and set their status
	Memory     map[string]memory
}

// measurePodsVerified creates the pod behind every endpoint of f, then starts ours and the
// the kubernetes plugin with "pods verified" one after the other, checks that each answers a pod's name and
// not another address's, measures their memory and saves their heap profiles (tagged pods-tag).
// Servers started before must be stopped: pod creation takes both cores.
func measurePodsVerified(ctx context.Context, cp *controlplane.ControlPlane, f *cluster.Fixture, bin, dir, profiles, tag string, log io.Writer) (*podsMemory, []profile, error) {
	pods := f.Pods()
	if err := pin(serverCPU + "," + clientCPU); err != nil {
		return nil, nil, err
	}
	start := time.Now()
	if err := cluster.CreatePods(ctx, cp.RESTConfig, pods, podWorkers, log); err != nil {
		return nil, nil, err
	}
	p := &podsMemory{Pods: len(pods), CreateTime: time.Since(start), Memory: map[string]memory{}}
	fmt.Fprintf(log, "cluster: %d pods running in %s\n", p.Pods, p.CreateTime.Round(time.Second))
	// Back off the servers' core before starting them, as in runScale.
	if err := pin(clientCPU); err != nil {
		return nil, nil, err
	}
	var servers []*server
	for _, name := range []string{ours, kubernetesPlugin} {
		s, err := startServer(bin, filepath.Join(dir, "pods-verified"), name, cp.Kubeconfig, podsVerified)
		if err != nil {
			return nil, nil, err
		}
		defer s.stop()
		d, err := s.waitReady(ctx, 10*time.Minute)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(log, "%s: ready with pods verified %s after start (pid %d, port %d)\n", name, d.Round(time.Millisecond), s.PID(), s.port)
		servers = append(servers, s)
	}
	// Any pod shows that pods are verified: one from the middle of the fixture.
	pod := pods[len(pods)/2]
	for _, s := range servers {
		if err := checkPodAnswers(ctx, s, pod); err != nil {
			return nil, nil, err
		}
	}
	time.Sleep(3 * time.Second) // let start-up garbage go before measuring memory, as in runScale
	var profs []profile
	for _, s := range servers {
		m, err := measureMemory(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		p.Memory[s.name] = m
		pr, err := heapProfile(ctx, s, profiles, "pods-"+tag)
		if err != nil {
			return nil, nil, err
		}
		pr.Title = s.name + " heap in use after sync, pods verified"
		profs = append(profs, pr)
	}
	return p, profs, nil
}

// checkPodAnswers makes sure s answers pod's name with its IPv4 address and the name of an address
// no pod has with NXDOMAIN, so that the memory measured is that of a server verifying pods.
func checkPodAnswers(ctx context.Context, s *server, pod cluster.Pod) error {
	ip, err := netip.ParseAddr(pod.IPs[0])
	if err != nil {
		return fmt.Errorf("address of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	resp, err := ask(ctx, s, podDNSName(ip, pod.Namespace))
	if err != nil {
		return err
	}
	if resp.Rcode != dns.RcodeSuccess || !hasA(ip)(resp) {
		return fmt.Errorf("%s answers pod %s/%s's name with %s %v, not %s", s.name, pod.Namespace, pod.Name, dns.RcodeToString[resp.Rcode], resp.Answer, ip)
	}
	if resp, err = ask(ctx, s, podDNSName(notAPod, pod.Namespace)); err != nil {
		return err
	}
	if resp.Rcode != dns.RcodeNameError {
		return fmt.Errorf("%s answers %s, which no pod has, with %s %v, not NXDOMAIN", s.name, notAPod, dns.RcodeToString[resp.Rcode], resp.Answer)
	}
	return nil
}

// podDNSName is "<dashed-ip>.<namespace>.pod.<zone>" for an IPv4 address.
func podDNSName(ip netip.Addr, namespace string) string {
	return strings.ReplaceAll(ip.String(), ".", "-") + "." + namespace + ".pod." + zone
}

// ask sends s an A query for name over UDP, again every pollEvery for up to 10 s until s answers:
// CoreDNS opens its DNS port only once every plugin's start-up has returned, which can be just
// after /ready answers 200 (the kubernetes plugin's start-up checks its sync every 100 ms).
func ask(ctx context.Context, s *server, name string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c := &dns.Client{Net: "udp", Timeout: time.Second}
	m := new(dns.Msg).SetQuestion(name, dns.TypeA)
	for {
		resp, _, err := c.ExchangeContext(ctx, m, s.addr())
		if err == nil {
			return resp, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("ask %s for %s: %w", s.name, name, err)
		case <-time.After(pollEvery):
		}
	}
}
