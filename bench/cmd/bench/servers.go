package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The three servers, in the order every round runs them.
const (
	ours      = "clusterdns"
	incumbent = "kubernetes"
	whoami    = "whoami"
)

// serverCPU and clientCPU keep the DNS servers and dnsperf on separate cores.
const (
	serverCPU = "0"
	clientCPU = "1"
)

// server is one CoreDNS process serving one plugin on loopback ports.
type server struct {
	name      string
	port      int // DNS, UDP and TCP
	readyURL  string
	pprofURL  string
	logPath   string
	startedAt time.Time

	cmd    *exec.Cmd
	exited chan struct{}
	err    error // Wait's result, valid once exited is closed
}

// corefile is the server block for plugin (ours, incumbent or whoami) on the given ports: the same
// plugins around it for all three, no cache, so that the plugin's own work is what differs.
func corefile(plugin, kubeconfig string, dnsPort, readyPort, metricsPort, pprofPort int) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n    bind 127.0.0.1\n", dnsPort)
	fmt.Fprintf(&b, "    ready 127.0.0.1:%d\n    prometheus 127.0.0.1:%d\n    pprof 127.0.0.1:%d\n", readyPort, metricsPort, pprofPort)
	if plugin == whoami {
		b.WriteString("    whoami\n")
	} else {
		fmt.Fprintf(&b, "    %s cluster.local in-addr.arpa ip6.arpa {\n", plugin)
		fmt.Fprintf(&b, "        kubeconfig %s\n        pods insecure\n        ttl 30\n", kubeconfig)
		b.WriteString("        fallthrough in-addr.arpa ip6.arpa\n    }\n")
	}
	b.WriteString("}\n")
	return b.String()
}

// startServer writes the Corefile under dir/name and starts bin on core serverCPU.
func startServer(bin, dir, name, kubeconfig string) (*server, error) {
	work := filepath.Join(dir, name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", work, err)
	}
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(work, "Corefile")
	if err := os.WriteFile(conf, []byte(corefile(name, kubeconfig, ports[0], ports[1], ports[2], ports[3])), 0o644); err != nil {
		return nil, fmt.Errorf("write Corefile: %w", err)
	}
	s := &server{
		name:     name,
		port:     ports[0],
		readyURL: fmt.Sprintf("http://127.0.0.1:%d/ready", ports[1]),
		pprofURL: fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", ports[3]),
		logPath:  filepath.Join(work, "coredns.log"),
		exited:   make(chan struct{}),
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, fmt.Errorf("create log: %w", err)
	}
	// taskset execs CoreDNS, so the PID is CoreDNS's.
	s.cmd = exec.Command("taskset", "-c", serverCPU, bin, "-conf", conf)
	s.cmd.Dir = work
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	s.startedAt = time.Now()
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	return s, nil
}

func (s *server) pid() int { return s.cmd.Process.Pid }

// addr is the DNS address.
func (s *server) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// stop sends SIGTERM to the process by PID, SIGKILL after 10 s, and waits for it.
func (s *server) stop() {
	_ = syscall.Kill(s.pid(), syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(s.pid(), syscall.SIGKILL)
		<-s.exited
	}
}

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
		select {
		case <-s.exited:
			return 0, fmt.Errorf("%s exited before ready: %v (log %s)", s.name, s.err, s.logPath)
		case <-ctx.Done():
			return 0, fmt.Errorf("%s not ready (log %s): %w", s.name, s.logPath, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// freePorts returns n loopback ports free a moment ago, the first free for both TCP and UDP.
func freePorts(n int) ([]int, error) {
	var ports []int
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find free port: %w", err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		if len(ports) == 0 {
			u, err := net.ListenPacket("udp", l.Addr().String())
			if err != nil {
				continue
			}
			u.Close()
		}
		ports = append(ports, port)
	}
	return ports, nil
}
