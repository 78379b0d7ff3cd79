// Command bench compares clusterdns with CoreDNS's kubernetes plugin, and with a whoami-only
// CoreDNS as a reference for CoreDNS's own server path, on a synthetic cluster loaded into a real
// control plane on 127.0.0.1: throughput, latency, memory (steady and during a re-list), DNS
// programming latency and time to ready, at one or more scales. It writes results.md and a plot.
// See bench/run.sh (make bench).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/clusterdns/clusterdns/test/controlplane"
)

// config is the command line.
type config struct {
	scales      []int // services per run
	perService  int
	rounds      int
	duration    time.Duration
	changes     int
	latencyLoad float64
	out         string
	coredns     string
	early       string
}

func main() {
	var cfg config
	services := flag.Int("services", 1000, "services in the synthetic cluster")
	scale := flag.String("scale", "", "comma-separated numbers of services, one run each (default: -services)")
	flag.IntVar(&cfg.perService, "pods-per-service", 10, "ready endpoints per service")
	flag.IntVar(&cfg.rounds, "rounds", 5, "rounds of alternated runs (ours, kubernetesPlugin, whoami)")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "length of each dnsperf run")
	flag.IntVar(&cfg.changes, "changes", 20, "changes of each kind timed for the DNS programming latency")
	flag.Float64Var(&cfg.latencyLoad, "latency-load", 1, "rate of the latency runs, as a fraction of the kubernetes plugin's median maximum QPS")
	flag.StringVar(&cfg.out, "out", "bench/results", "directory for results.md, the plot and the profiles")
	flag.StringVar(&cfg.coredns, "coredns", "build/coredns", "CoreDNS binary with clusterdns and kubernetes (make coredns)")
	flag.StringVar(&cfg.early, "coredns-early", "build/coredns-early", "the same with clusterdns before cache (make coredns PLACE=early); its kubeadm row is left out when it is missing")
	flag.Parse()
	cfg.scales = []int{*services}
	if *scale != "" {
		cfg.scales = nil
		for f := range strings.SplitSeq(*scale, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 10 {
				fmt.Fprintf(os.Stderr, "bench: -scale wants numbers of services (at least 10), not %q\n", f)
				os.Exit(2)
			}
			cfg.scales = append(cfg.scales, n)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run measures every scale in turn, rewriting the report after each so that a failure later keeps
// what was measured.
func run(ctx context.Context, cfg config) error {
	bin, err := filepath.Abs(cfg.coredns)
	if err != nil {
		return fmt.Errorf("coredns binary: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(cfg.out, "profiles"), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", cfg.out, err)
	}
	if cfg.early, err = filepath.Abs(cfg.early); err != nil {
		return fmt.Errorf("early coredns binary: %w", err)
	}
	cfg.early = earlyBinary(cfg.early)
	binDir, err := controlplane.BinDir(ctx)
	if err != nil {
		return err
	}
	m := describeMachine(bin)
	var results []*scaleResult
	for _, services := range cfg.scales {
		fmt.Fprintf(os.Stderr, "=== %d services x %d endpoints\n", services, cfg.perService)
		r, err := runScale(ctx, cfg, bin, binDir, services)
		if err != nil {
			return fmt.Errorf("%d services: %w", services, err)
		}
		m.Kubernetes = r.Kubernetes
		results = append(results, r)
		if err := writeReport(filepath.Join(cfg.out, "results.md"), cfg, m, results); err != nil {
			return err
		}
		if err := plot(cfg.out, results); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", filepath.Join(cfg.out, "results.md"))
	return nil
}
