package main

import (
	"context"
	"fmt"
	"io"
	"time"
)

// throughput is the saturating runs of every round, server by server.
type throughput struct {
	QPS    map[string][]float64 // round by round
	Avg    map[string][]time.Duration
	Rcodes map[string]string // of the last round, to check that ours and the kubernetes plugin agree
	// CPU is the server's CPU time over the run's length: near 1 when the server, not dnsperf, is
	// the bottleneck.
	CPU map[string][]float64
	// Noise is the kubernetes plugin's second run of a round over its first: the noise floor of a ratio.
	Noise []float64
}

// perCPU is, round by round, the queries answered per second of CPU the server used: its
// capacity on a core of its own, whatever else the machine ran at the time.
func (t *throughput) perCPU(name string) []float64 {
	out := make([]float64, len(t.QPS[name]))
	for i, q := range t.QPS[name] {
		out[i] = q / max(t.CPU[name][i], 0.01)
	}
	return out
}

// measureThroughput runs dnsperf at full speed against ours, the kubernetes plugin, whoami and the
// the kubernetes plugin again, in that order, rounds times.
func measureThroughput(ctx context.Context, servers map[string]*server, file string, rounds int, d time.Duration, log io.Writer) (*throughput, error) {
	return alternate(ctx, servers, []string{ours, kubernetesPlugin, whoami}, file, rounds, d, "throughput", log)
}

// alternate runs dnsperf at full speed against each server of order in turn, then the kubernetes
// plugin again (its second run over its first is the noise floor), rounds times.
func alternate(ctx context.Context, servers map[string]*server, order []string, file string, rounds int, d time.Duration, label string, log io.Writer) (*throughput, error) {
	t := &throughput{QPS: map[string][]float64{}, Avg: map[string][]time.Duration{}, Rcodes: map[string]string{}, CPU: map[string][]float64{}}
	for r := range rounds {
		for _, name := range append(order[:len(order):len(order)], kubernetesPlugin) {
			p, busy, err := saturate(ctx, servers[name], file, d)
			if err != nil {
				return nil, fmt.Errorf("%s round %d, %s: %w", label, r+1, name, err)
			}
			fmt.Fprintf(log, "%s round %d/%d %-16s %8.0f qps, avg %v, lost %d, server CPU %.0f%%\n", label, r+1, rounds, name, p.QPS, p.AvgLatency, p.Lost, busy*100)
			if len(t.QPS[name]) > r {
				t.Noise = append(t.Noise, p.QPS/t.QPS[name][r])
				continue
			}
			t.QPS[name] = append(t.QPS[name], p.QPS)
			t.CPU[name] = append(t.CPU[name], busy)
			t.Avg[name] = append(t.Avg[name], p.AvgLatency)
			t.Rcodes[name] = p.Rcodes
		}
	}
	return t, nil
}

// saturate runs dnsperf at full speed against s for d and returns its result and the server's
// CPU time over d.
func saturate(ctx context.Context, s *server, file string, d time.Duration) (perf, float64, error) {
	return saturateArgs(ctx, s, dnsperfArgs(s.port, file, d, 0), d)
}

// saturateArgs is saturate with dnsperf's arguments made by dnsperfArgs, and more.
func saturateArgs(ctx context.Context, s *server, args []string, d time.Duration) (perf, float64, error) {
	before, err := cpuTime(s.PID())
	if err != nil {
		return perf{}, 0, err
	}
	p, err := runDNSPerfArgs(ctx, args, d, 0)
	if err != nil {
		return perf{}, 0, err
	}
	after, err := cpuTime(s.PID())
	if err != nil {
		return perf{}, 0, err
	}
	return p, float64(after-before) / float64(d), nil
}

// latency is the fixed-rate runs of every round, server by server.
type latency struct {
	Rate     int
	P50, P99 map[string][]time.Duration // round by round
	Lost     map[string]int             // summed over rounds
}

// measureLatency sends rate queries per second to ours, the kubernetes plugin and whoami in turn, rounds
// times, and takes the p50 and p99 of every run from dnsperf's per-query output.
func measureLatency(ctx context.Context, servers map[string]*server, file string, rounds int, d time.Duration, rate int, log io.Writer) (*latency, error) {
	l := &latency{Rate: rate, P50: map[string][]time.Duration{}, P99: map[string][]time.Duration{}, Lost: map[string]int{}}
	for r := range rounds {
		for _, name := range []string{ours, kubernetesPlugin, whoami} {
			p, err := runDNSPerf(ctx, servers[name].port, file, d, rate)
			if err != nil {
				return nil, fmt.Errorf("latency round %d, %s: %w", r+1, name, err)
			}
			fmt.Fprintf(log, "latency round %d/%d %-10s at %d qps: p50 %v p99 %v, lost %d\n", r+1, rounds, name, rate, p.P50, p.P99, p.Lost)
			l.P50[name] = append(l.P50[name], p.P50)
			l.P99[name] = append(l.P99[name], p.P99)
			l.Lost[name] += p.Lost
		}
	}
	return l, nil
}
