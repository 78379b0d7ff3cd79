package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/clusterdns/clusterdns/bench/internal/cluster"
	"github.com/clusterdns/clusterdns/test/controlplane"
)

// queriesInFile is the length of the query file dnsperf cycles through.
const queriesInFile = 100_000

// scaleResult is everything measured at one scale.
type scaleResult struct {
	Services, Endpoints int
	Kubernetes          string
	LoadTime            time.Duration
	Ready               map[string][]readiness
	Memory              map[string]memory
	Throughput          *throughput
	Kubeadm             *throughput // in kubeadm's default Corefile
	MCSZonal            *throughput // with multicluster and zonal, on their mix (mcszonal.go)
	Autopath            *autopathResult
	Latency             *latency
	Programming         *programming
	Relist              *relist
	Churn               *churn
	APICost             *apiCost
	WarmStart           *warmStart
	Pods                *podsMemory
	Profiles            []profile
}

// runScale starts a control plane, loads services, starts the three servers and measures them,
// then adds the pods and measures the memory of both plugins verifying them.
func runScale(ctx context.Context, cfg config, bin, binDir string, services int) (*scaleResult, error) {
	dir, err := os.MkdirTemp("", "clusterdns-bench-")
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	defer os.RemoveAll(dir)
	// Both cores for the control plane while it loads the cluster (see below).
	if err := pin(serverCPU + "," + clientCPU); err != nil {
		return nil, err
	}
	cpDir := filepath.Join(dir, "controlplane")
	if err := os.Mkdir(cpDir, 0o755); err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	cp, err := controlplane.Start(ctx, controlplane.Options{BinDir: binDir, Dir: cpDir, DualStack: true, Log: os.Stderr})
	if err != nil {
		return nil, err
	}
	defer cp.Stop()
	client, err := cluster.FastClient(cp.RESTConfig)
	if err != nil {
		return nil, err
	}
	version, err := client.Discovery().ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("server version: %w", err)
	}
	r := &scaleResult{Services: services, Kubernetes: version.GitVersion}

	start := time.Now()
	f, err := cluster.Load(ctx, cp.RESTConfig, cluster.Spec{Services: services, PodsPerService: cfg.perService, Workers: 8}, os.Stderr)
	if err != nil {
		return nil, err
	}
	r.LoadTime, r.Endpoints = time.Since(start), f.Endpoints()
	fmt.Fprintf(os.Stderr, "cluster: %d services, %d endpoints loaded in %s\n", services, r.Endpoints, r.LoadTime.Round(time.Second))
	// The control plane had both cores for the load; from now on it and this process (which reads
	// dnsperf's verbose output) stay off the servers' core.
	if err := pin(clientCPU); err != nil {
		return nil, err
	}
	queries := filepath.Join(dir, "queries.txt")
	if err := writeQueries(queries, f, queriesInFile); err != nil {
		return nil, err
	}

	servers, ready, err := startServers(ctx, bin, dir, cp.Kubeconfig)
	for _, s := range servers {
		defer s.stop()
	}
	if err != nil {
		return nil, err
	}
	r.Ready = ready
	tag := strconv.Itoa(services)
	profiles := filepath.Join(cfg.out, "profiles")
	time.Sleep(3 * time.Second) // let start-up garbage go before measuring memory
	r.Memory = map[string]memory{}
	for name, s := range servers {
		if r.Memory[name], err = measureMemory(ctx, s); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{ours, kubernetesPlugin} {
		p, err := heapProfile(ctx, servers[name], profiles, tag)
		if err != nil {
			return nil, err
		}
		r.Profiles = append(r.Profiles, p)
	}

	if r.Throughput, err = measureThroughput(ctx, servers, queries, cfg.rounds, cfg.duration, os.Stderr); err != nil {
		return nil, err
	}
	for _, name := range []string{ours, kubernetesPlugin} {
		p, err := cpuProfile(ctx, servers[name], queries, cfg.duration, profiles, tag)
		if err != nil {
			return nil, err
		}
		r.Profiles = append(r.Profiles, p)
	}
	if r.Kubeadm, err = measureKubeadm(ctx, bin, cfg.early, dir, cp.Kubeconfig, queries, cfg.rounds, cfg.duration, os.Stderr); err != nil {
		return nil, err
	}
	if r.MCSZonal, err = measureMCSZonal(ctx, cp.RESTConfig, f, cfg.perService, bin, dir, cp.Kubeconfig, cfg.rounds, cfg.duration, os.Stderr); err != nil {
		return nil, err
	}
	if r.Autopath, err = measureAutopath(ctx, cp, bin, dir, f.Services[0].Namespace, cfg.rounds, cfg.duration, os.Stderr); err != nil {
		return nil, err
	}
	rate := int(cfg.latencyLoad * median(r.Throughput.QPS[kubernetesPlugin]))
	if r.Latency, err = measureLatency(ctx, servers, queries, cfg.rounds, cfg.duration, rate, os.Stderr); err != nil {
		return nil, err
	}
	watching := []*server{servers[ours], servers[kubernetesPlugin]}
	if r.Programming, err = measureProgramming(ctx, client, watching, cfg.changes, os.Stderr); err != nil {
		return nil, err
	}
	if r.Relist, err = measureRelist(ctx, cp, client, watching, os.Stderr); err != nil {
		return nil, err
	}
	if r.Churn, err = measureChurn(ctx, client, watching, queries, cfg.duration, os.Stderr); err != nil {
		return nil, err
	}
	// Last, so that nothing above shares the machine with pod creation or the API server with the
	// pods: the servers with pods insecure are done (then one more replica of each is started alone,
	// for what it costs the API server, and clusterdns from its snapshot), and pod creation takes
	// both cores.
	for _, s := range servers {
		s.stop()
	}
	if r.APICost, err = measureAPICost(ctx, client, bin, dir, cp.Kubeconfig, os.Stderr); err != nil {
		return nil, err
	}
	if r.WarmStart, err = measureWarmStart(ctx, bin, dir, cp.Kubeconfig, f, os.Stderr); err != nil {
		return nil, err
	}
	pods, podProfiles, err := measurePodsVerified(ctx, cp, f, bin, dir, profiles, tag, os.Stderr)
	if err != nil {
		return nil, err
	}
	r.Pods, r.Profiles = pods, append(r.Profiles, podProfiles...)
	return r, nil
}

// readiness is how long a server took from its start to ready, and the CPU it used meanwhile.
type readiness struct {
	Wall, CPU time.Duration
}

// readyRounds is how many times each server is started to time its start-up; the last start stays.
const readyRounds = 3

// startServers starts whoami, ours and the kubernetes plugin one after the other, each once the previous
// is ready, so that each start-up has the machine to itself, readyRounds times over, and returns
// the servers of the last round and how long each start took until /ready answered 200.
func startServers(ctx context.Context, bin, dir, kubeconfig string) (map[string]*server, map[string][]readiness, error) {
	servers := map[string]*server{}
	ready := map[string][]readiness{}
	for round := range readyRounds {
		for _, name := range []string{whoami, ours, kubernetesPlugin} {
			s, err := startServer(bin, dir, name, kubeconfig, podsInsecure)
			if err != nil {
				return servers, nil, err
			}
			d, err := s.waitReady(ctx, 10*time.Minute)
			if err != nil {
				s.stop()
				return servers, nil, err
			}
			cpu, err := cpuTime(s.PID())
			if err != nil {
				s.stop()
				return servers, nil, err
			}
			fmt.Fprintf(os.Stderr, "%s: ready %s after start, %s of CPU (pid %d, port %d)\n", name, d.Round(time.Millisecond), cpu, s.PID(), s.port)
			ready[name] = append(ready[name], readiness{d, cpu})
			if round < readyRounds-1 {
				s.stop()
				continue
			}
			servers[name] = s
		}
	}
	return servers, ready, nil
}
