package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/test/corednstest"
)

// The three servers, in the order every round runs them.
const (
	ours             = "clusterdns"
	kubernetesPlugin = "kubernetes"
	whoami           = "whoami"
)

// serverCPU and clientCPU keep the DNS servers and dnsperf on separate cores.
const (
	serverCPU = "0"
	clientCPU = "1"
)

// server is one CoreDNS process serving one plugin on loopback ports.
type server struct {
	*corednstest.Process
	name      string
	port      int // DNS, UDP and TCP
	readyURL  string
	pprofURL  string
	startedAt time.Time
}

// The pods modes the servers run with: insecure for every measurement but the memory of verified,
// which watches every pod.
const (
	podsInsecure = "insecure"
	podsVerified = "verified"
)

// corefile is the server block for plugin (ours, kubernetesPlugin or whoami) on the given ports: the same
// plugins around it for all three, no cache, so that the plugin's own work is what differs; pods
// is the pods mode of ours and the kubernetes plugin.
func corefile(plugin, kubeconfig, pods string, dnsPort, readyPort, metricsPort, pprofPort int) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n    bind 127.0.0.1\n", dnsPort)
	fmt.Fprintf(&b, "    ready 127.0.0.1:%d\n    prometheus 127.0.0.1:%d\n    pprof 127.0.0.1:%d\n", readyPort, metricsPort, pprofPort)
	if plugin == whoami {
		b.WriteString("    whoami\n")
	} else {
		fmt.Fprintf(&b, "    %s cluster.local in-addr.arpa ip6.arpa {\n", plugin)
		fmt.Fprintf(&b, "        kubeconfig %s\n        pods %s\n        ttl 30\n", kubeconfig, pods)
		b.WriteString("        fallthrough in-addr.arpa ip6.arpa\n    }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// startServer writes the Corefile under dir/name, with pods mode pods, and starts bin on core
// serverCPU.
func startServer(bin, dir, name, kubeconfig, pods string) (*server, error) {
	return startWith(bin, dir, name, func(dnsPort int, ports [4]int) string {
		return corefile(name, kubeconfig, pods, dnsPort, ports[0], ports[1], ports[2])
	})
}

// startWith writes the Corefile that conf makes for the ports under dir/name and starts bin on
// core serverCPU; conf serves ready on ports[0], prometheus on ports[1], pprof (if any) on
// ports[2], and may use ports[3] for health.
func startWith(bin, dir, name string, conf func(dnsPort int, ports [4]int) string) (*server, error) {
	work := filepath.Join(dir, name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", work, err)
	}
	dnsPort, err := corednstest.FreeUDPTCPPort()
	if err != nil {
		return nil, err
	}
	free, err := corednstest.FreeTCPPorts(4)
	if err != nil {
		return nil, err
	}
	ports := [4]int(free)
	path := filepath.Join(work, "Corefile")
	if err := os.WriteFile(path, []byte(conf(dnsPort, ports)), 0o644); err != nil {
		return nil, fmt.Errorf("write Corefile: %w", err)
	}
	started := time.Now()
	// taskset execs CoreDNS, so the PID is CoreDNS's.
	p, err := corednstest.Start(name, work, "taskset", "-c", serverCPU, bin, "-conf", path)
	if err != nil {
		return nil, err
	}
	return &server{
		Process:   p,
		name:      name,
		port:      dnsPort,
		readyURL:  fmt.Sprintf("http://127.0.0.1:%d/ready", ports[0]),
		pprofURL:  fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", ports[2]),
		startedAt: started,
	}, nil
}

// addr is the DNS address.
func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// stop sends SIGTERM to the process by PID, SIGKILL after 10 s, and waits for it.
func (s *server) stop() { _ = s.Stop(10 * time.Second) }

// waitReady polls /ready every 10 ms and returns the time from the process start to the first 200.
func (s *server) waitReady(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.readyURL, nil)
		if err != nil {
			return 0, fmt.Errorf("ready request: %w", err)
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(s.startedAt), nil
			}
		}
		if err := s.Exited(); err != nil {
			return 0, fmt.Errorf("%w (log %s)", err, s.LogPath)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("%s not ready (log %s): %w", s.name, s.LogPath, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
