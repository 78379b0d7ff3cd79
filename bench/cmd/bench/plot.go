package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// plotScript draws QPS and memory against the number of services from plot.dat.
const plotScript = `set terminal pngcairo size 1200,480 font ",10"
set output "scale.png"
set multiplot layout 1,2
set logscale x
set xlabel "services (x pods-per-service endpoints)"
set key below
set grid
set title "QPS on one core (median; dashed: raw, solid: per CPU-second of the server)"
set ylabel "queries/s"
set yrange [0:*]
plot "plot.dat" using 1:10 with linespoints linecolor 1 title "clusterdns", \
     "" using 1:11 with linespoints linecolor 2 title "kubernetes", \
     "" using 1:12 with linespoints linecolor 3 title "whoami", \
     "" using 1:2 with linespoints linecolor 1 dashtype 2 notitle, \
     "" using 1:3 with linespoints linecolor 2 dashtype 2 notitle, \
     "" using 1:4 with linespoints linecolor 3 dashtype 2 notitle
set title "memory after sync"
set ylabel "MiB"
plot "plot.dat" using 1:5 with linespoints linecolor 1 title "clusterdns RSS", \
     "" using 1:6 with linespoints linecolor 2 title "kubernetes RSS", \
     "" using 1:7 with linespoints linecolor 1 dashtype 2 title "clusterdns heap for data", \
     "" using 1:8 with linespoints linecolor 2 dashtype 2 title "kubernetes heap for data", \
     "" using 1:9 with lines linecolor rgb "black" dashtype 3 title "published sizing (MB)"
unset multiplot
`

// plot writes plot.dat and plot.gp into dir and renders scale.png with gnuplot.
func plot(dir string, results []*scaleResult) error {
	var b strings.Builder
	b.WriteString("# services qps_clusterdns qps_kubernetes qps_whoami rss_clusterdns rss_kubernetes heapdata_clusterdns heapdata_kubernetes sizing_mb percpu_clusterdns percpu_kubernetes percpu_whoami\n")
	for _, r := range results {
		q := r.Throughput.QPS
		fmt.Fprintf(&b, "%d %.0f %.0f %.0f %s %s %s %s %.0f %.0f %.0f %.0f\n", r.Services,
			median(q[ours]), median(q[kubernetesPlugin]), median(q[whoami]),
			mib(r.Memory[ours].RSS), mib(r.Memory[kubernetesPlugin].RSS),
			mib(r.heapData(ours)), mib(r.heapData(kubernetesPlugin)), r.sizing(),
			median(r.Throughput.perCPU(ours)), median(r.Throughput.perCPU(kubernetesPlugin)), median(r.Throughput.perCPU(whoami)))
	}
	if err := os.WriteFile(filepath.Join(dir, "plot.dat"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write plot data: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "plot.gp"), []byte(plotScript), 0o644); err != nil {
		return fmt.Errorf("write plot script: %w", err)
	}
	cmd := exec.Command("gnuplot", "plot.gp")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("gnuplot: %w: %s", err, out)
	}
	return nil
}
