package main

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// machine describes where the numbers come from.
type machine struct {
	Commit, Nproc, CPU, Kernel, Load, Go, CoreDNS, DNSPerf string
	Kubernetes                                             string // from the API server, set per run
}

func describeMachine(corednsBin string) machine {
	return machine{
		Commit:  firstLine("git", "describe", "--always", "--dirty"),
		Nproc:   firstLine("nproc"),
		CPU:     cpuModel(),
		Kernel:  firstLine("uname", "-r"),
		Load:    strings.Join(strings.Fields(readFile("/proc/loadavg"))[:3], " "),
		Go:      runtime.Version(),
		CoreDNS: firstLine(corednsBin, "-version"),
		DNSPerf: dnsperfVersion(),
	}
}

func firstLine(name string, args ...string) string {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	return line
}

func readFile(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "unknown 0 0"
	}
	return string(data)
}

func cpuModel() string {
	for line := range strings.Lines(readFile("/proc/cpuinfo")) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// dnsperfVersion is the "Version" line of dnsperf -h.
func dnsperfVersion() string {
	out, _ := exec.Command("dnsperf", "-h").CombinedOutput()
	for line := range strings.Lines(string(out)) {
		if strings.HasPrefix(line, "Version") {
			return strings.TrimSpace(line)
		}
	}
	return "unknown"
}
