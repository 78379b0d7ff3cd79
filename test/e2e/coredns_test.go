package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Bounds on CoreDNS process waits.
const (
	corednsStopGrace = 10 * time.Second
	corednsLogTail   = 32 << 10
)

// corefileOptions are what varies between the CoreDNS instances of the suite.
type corefileOptions struct {
	kubeconfig       string
	pods             string // verified or insecure
	endpointPodNames bool
	startupTimeout   time.Duration
	upstream         string // host:port of the forward target
	// manifests, when set, replaces kubeconfig (see CLUSTERDNS_E2E_SOURCE in harness_test.go).
	manifests string
	ttl       int           // 0: the plugin's default
	reload    time.Duration // 0: no reload plugin
}

// corefile renders the live-API Corefile for the given ports.
func corefile(o corefileOptions, dnsPort, readyPort, metricsPort int) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n", dnsPort)
	b.WriteString("    bind 127.0.0.1\n")
	b.WriteString("    errors\n")
	fmt.Fprintf(&b, "    ready 127.0.0.1:%d\n", readyPort)
	fmt.Fprintf(&b, "    prometheus 127.0.0.1:%d\n", metricsPort)
	if o.reload > 0 {
		fmt.Fprintf(&b, "    reload %s\n", o.reload)
	}
	b.WriteString("    clusterdns cluster.local in-addr.arpa ip6.arpa {\n")
	if o.manifests != "" {
		fmt.Fprintf(&b, "        manifests %s\n", o.manifests)
	} else {
		fmt.Fprintf(&b, "        kubeconfig %s\n", o.kubeconfig)
	}
	fmt.Fprintf(&b, "        pods %s\n", o.pods)
	if o.endpointPodNames {
		b.WriteString("        endpoint_pod_names\n")
	}
	if o.startupTimeout > 0 && o.manifests == "" {
		fmt.Fprintf(&b, "        startup_timeout %s\n", o.startupTimeout)
	}
	if o.ttl > 0 {
		fmt.Fprintf(&b, "        ttl %d\n", o.ttl)
	}
	b.WriteString("        fallthrough in-addr.arpa ip6.arpa\n")
	b.WriteString("    }\n")
	fmt.Fprintf(&b, "    forward . %s\n", o.upstream)
	b.WriteString("}\n")
	return b.String()
}

// coreDNS is one running CoreDNS process.
type coreDNS struct {
	name       string
	addr       string // 127.0.0.1:port for UDP and TCP
	readyURL   string
	metricsURL string
	corefile   string
	logPath    string

	cmd      *exec.Cmd
	exited   chan struct{}
	err      error // Wait's result, valid once exited is closed
	stopOnce sync.Once
}

// startCoreDNS writes a Corefile under dir/name and starts the binary on fresh loopback ports. It
// does not wait for readiness: see waitServing and waitReady.
func startCoreDNS(bin, dir, name string, o corefileOptions) (*coreDNS, error) {
	work := filepath.Join(dir, name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	dnsPort, err := freeUDPTCPPort()
	if err != nil {
		return nil, err
	}
	ports, err := freeTCPPorts(2)
	if err != nil {
		return nil, err
	}
	conf := corefile(o, dnsPort, ports[0], ports[1])
	confPath := filepath.Join(work, "Corefile")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	c := &coreDNS{
		name:       name,
		addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(dnsPort)),
		readyURL:   fmt.Sprintf("http://127.0.0.1:%d/ready", ports[0]),
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[1]),
		corefile:   conf,
		logPath:    filepath.Join(work, "coredns.log"),
		exited:     make(chan struct{}),
	}
	logFile, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	c.cmd = exec.Command(bin, "-conf", confPath)
	c.cmd.Dir = work
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	// Own process group, and killed if the test binary dies first.
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		c.err = c.cmd.Wait()
		logFile.Close()
		close(c.exited)
	}()
	return c, nil
}

// pid is the CoreDNS process ID.
func (c *coreDNS) pid() int { return c.cmd.Process.Pid }

// exitErr reports an error if the process has already exited.
func (c *coreDNS) exitErr() error {
	select {
	case <-c.exited:
		return fmt.Errorf("CoreDNS %s (pid %d) exited: %v", c.name, c.pid(), c.err)
	default:
		return nil
	}
}

// stop sends SIGTERM to the process by PID, then SIGKILL after corednsStopGrace, and waits for it
// to be reaped. It is idempotent and returns an error if SIGKILL was needed.
func (c *coreDNS) stop() error {
	var err error
	c.stopOnce.Do(func() {
		select {
		case <-c.exited:
			return
		default:
		}
		_ = syscall.Kill(c.pid(), syscall.SIGTERM)
		select {
		case <-c.exited:
			return
		case <-time.After(corednsStopGrace):
		}
		err = fmt.Errorf("CoreDNS %s (pid %d) still running %s after SIGTERM; killed", c.name, c.pid(), corednsStopGrace)
		_ = syscall.Kill(c.pid(), syscall.SIGKILL)
		<-c.exited
	})
	return err
}

// logTail returns the end of the CoreDNS log.
func (c *coreDNS) logTail() string {
	data, err := os.ReadFile(c.logPath)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", c.logPath, err)
	}
	if len(data) > corednsLogTail {
		data = data[len(data)-corednsLogTail:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return string(data)
}

// describe is the instance's Corefile and log tail, for failure output.
func (c *coreDNS) describe() string {
	state := "running"
	if err := c.exitErr(); err != nil {
		state = err.Error()
	}
	return fmt.Sprintf("==> CoreDNS %s (pid %d, %s), %s <==\nCorefile:\n%s\n==> tail of %s <==\n%s",
		c.name, c.pid(), state, c.addr, c.corefile, c.logPath, c.logTail())
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// readyStatus returns the HTTP status of /ready, or an error if it could not be had.
func (c *coreDNS) readyStatus(ctx context.Context) (int, string, error) {
	return httpGet(ctx, c.readyURL)
}

func httpGet(ctx context.Context, url string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return resp.StatusCode, string(body), nil
}

// waitReady polls /ready until it answers 200, the process exits, or ctx ends.
func (c *coreDNS) waitReady(ctx context.Context) error {
	var last string
	for {
		code, body, err := c.readyStatus(ctx)
		switch {
		case err != nil:
			last = err.Error()
		case code == http.StatusOK:
			return nil
		default:
			last = fmt.Sprintf("%d %s", code, strings.TrimSpace(body))
		}
		if err := c.exitErr(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CoreDNS %s: /ready not 200: %w (last: %s)", c.name, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitServing waits until the DNS port answers anything (over UDP), the process exits, or ctx
// ends. CoreDNS opens its listeners only after every plugin's startup, so this also waits for
// the plugin's startup_timeout when the API server is unreachable.
func (c *coreDNS) waitServing(ctx context.Context, qname string, qtype uint16) error {
	var last error
	for {
		if _, err := c.exchange("udp", qname, qtype); err == nil {
			return nil
		} else {
			last = err
		}
		if err := c.exitErr(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CoreDNS %s not answering on %s: %w (last: %v)", c.name, c.addr, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freeUDPTCPPort finds a loopback port free for both UDP and TCP a moment ago.
func freeUDPTCPPort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err != nil {
			continue
		}
		pc.Close()
		return port, nil
	}
	return 0, errors.New("no loopback port free for both UDP and TCP after 20 tries")
}

// freeTCPPorts returns n distinct loopback TCP ports, all held open together while chosen.
func freeTCPPorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
