package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// perf is what one dnsperf run measured.
type perf struct {
	QPS        float64
	AvgLatency time.Duration
	Lost       int
	Rcodes     string // dnsperf's "Response codes" line, e.g. "NOERROR 75 (75%), NXDOMAIN 25 (25%)"
	// P50 and P99 are set by fixed-rate runs only (from dnsperf -v, one line per query).
	P50, P99 time.Duration
}

// dnsperfArgs are the arguments shared by every run: 8 sockets and enough queries outstanding to
// keep a saturated server busy; rate 0 means as fast as the server answers.
func dnsperfArgs(port int, file string, d time.Duration, rate int) []string {
	args := []string{"-c", clientCPU, "dnsperf", "-s", "127.0.0.1", "-p", strconv.Itoa(port), "-d", file,
		"-l", strconv.FormatFloat(d.Seconds(), 'f', -1, 64), "-c", "8", "-q", "200", "-t", "2"}
	if rate > 0 {
		args = append(args, "-Q", strconv.Itoa(rate), "-v")
	}
	return args
}

// runDNSPerf runs dnsperf on core clientCPU against port for d; with rate > 0 it sends at that rate
// and reads the latency of every query from its verbose output.
func runDNSPerf(ctx context.Context, port int, file string, d time.Duration, rate int) (perf, error) {
	return runDNSPerfArgs(ctx, dnsperfArgs(port, file, d, rate), d, rate)
}

// runDNSPerfArgs is runDNSPerf with taskset's arguments made by dnsperfArgs, and more.
func runDNSPerfArgs(ctx context.Context, args []string, d time.Duration, rate int) (perf, error) {
	ctx, cancel := context.WithTimeout(ctx, d+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "taskset", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return perf{}, fmt.Errorf("dnsperf: %w", err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return perf{}, fmt.Errorf("start dnsperf: %w", err)
	}
	var latencies []time.Duration
	var summary strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if lat, ok := verboseLatency(line); ok {
			latencies = append(latencies, lat)
			continue
		}
		summary.WriteString(line)
		summary.WriteByte('\n')
	}
	if err := cmd.Wait(); err != nil {
		return perf{}, fmt.Errorf("dnsperf: %w: %s%s", err, stderr.String(), summary.String())
	}
	p, err := parseSummary(summary.String())
	if err != nil {
		return perf{}, err
	}
	if rate > 0 {
		if len(latencies) == 0 {
			return perf{}, fmt.Errorf("dnsperf -v printed no latencies:\n%s", summary.String())
		}
		slices.Sort(latencies)
		p.P50, p.P99 = quantile(latencies, 0.50), quantile(latencies, 0.99)
	}
	return p, nil
}

// verboseLatency parses a dnsperf -v line such as "> NOERROR name A 0.000253".
func verboseLatency(line string) (time.Duration, bool) {
	if !strings.HasPrefix(line, "> ") {
		return 0, false
	}
	f := strings.Fields(line)
	sec, err := strconv.ParseFloat(f[len(f)-1], 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(sec * float64(time.Second)), true
}

var (
	reQPS    = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	reAvg    = regexp.MustCompile(`Average Latency \(s\):\s+([0-9.]+)`)
	reLost   = regexp.MustCompile(`Queries lost:\s+([0-9]+)`)
	reRcodes = regexp.MustCompile(`Response codes:\s+(.*)`)
)

// parseSummary reads dnsperf's closing statistics.
func parseSummary(out string) (perf, error) {
	var p perf
	qps := reQPS.FindStringSubmatch(out)
	avg := reAvg.FindStringSubmatch(out)
	lost := reLost.FindStringSubmatch(out)
	if qps == nil || avg == nil || lost == nil {
		return p, fmt.Errorf("no statistics in dnsperf output:\n%s", out)
	}
	p.QPS, _ = strconv.ParseFloat(qps[1], 64)
	sec, _ := strconv.ParseFloat(avg[1], 64)
	p.AvgLatency = time.Duration(sec * float64(time.Second))
	p.Lost, _ = strconv.Atoi(lost[1])
	if m := reRcodes.FindStringSubmatch(out); m != nil {
		p.Rcodes = strings.TrimSpace(m[1])
	}
	return p, nil
}
