package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/test/corednstest"
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
	snapshot  string        // the snapshot option's file; "" for none
	pprof     bool          // serve /debug/pprof, to force a GC before reading the heap

	// kubernetesPlugin renders the same stanza for the kubernetes plugin instead of clusterdns
	// (options it lacks, such as snapshot, are left out), to compare the two query by query.
	kubernetesPlugin bool
	// before are plugin lines placed in front of the stanza, such as "autopath @clusterdns",
	// "metadata" or a transfer block; plugin.cfg, not this order, decides the chain.
	before []string
	// stanza are extra lines inside the stanza, such as "ttl 30 5" or "zonal".
	stanza []string
	// zones are served beside cluster.local and the reverse zones, such as "clusterset.local".
	zones []string
}

// pluginName is the stanza's plugin: clusterdns, or kubernetes for the reference.
func (o corefileOptions) pluginName() string {
	if o.kubernetesPlugin {
		return "kubernetes"
	}
	return "clusterdns"
}

// corefile renders the live-API Corefile for the given ports.
func corefile(o corefileOptions, dnsPort, readyPort, metricsPort, pprofPort int) string {
	var b strings.Builder
	fmt.Fprintf(&b, ".:%d {\n", dnsPort)
	b.WriteString("    bind 127.0.0.1\n")
	b.WriteString("    errors\n")
	fmt.Fprintf(&b, "    ready 127.0.0.1:%d\n", readyPort)
	fmt.Fprintf(&b, "    prometheus 127.0.0.1:%d\n", metricsPort)
	if o.reload > 0 {
		fmt.Fprintf(&b, "    reload %s\n", o.reload)
	}
	if o.pprof {
		fmt.Fprintf(&b, "    pprof 127.0.0.1:%d\n", pprofPort)
	}
	for _, line := range o.before {
		fmt.Fprintf(&b, "    %s\n", line)
	}
	fmt.Fprintf(&b, "    %s %s in-addr.arpa ip6.arpa {\n", o.pluginName(), strings.Join(append([]string{"cluster.local"}, o.zones...), " "))
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
	if o.snapshot != "" && !o.kubernetesPlugin {
		fmt.Fprintf(&b, "        snapshot %s\n", o.snapshot)
	}
	for _, line := range o.stanza {
		fmt.Fprintf(&b, "        %s\n", line)
	}
	b.WriteString("        fallthrough in-addr.arpa ip6.arpa\n")
	b.WriteString("    }\n")
	fmt.Fprintf(&b, "    forward . %s\n", o.upstream)
	b.WriteString("}\n")
	return b.String()
}

// coreDNS is one running CoreDNS process and where it serves.
type coreDNS struct {
	*corednstest.Process
	name       string
	addr       string // 127.0.0.1:port for UDP and TCP
	readyURL   string
	metricsURL string
	pprofURL   string // with the pprof option
	corefile   string
}

// startCoreDNS writes a Corefile under dir/name and starts the binary on fresh loopback ports. It
// does not wait for readiness: see waitServing and waitReady.
func startCoreDNS(bin, dir, name string, o corefileOptions) (*coreDNS, error) {
	work := filepath.Join(dir, name)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	dnsPort, err := corednstest.FreeUDPTCPPort()
	if err != nil {
		return nil, err
	}
	ports, err := corednstest.FreeTCPPorts(3)
	if err != nil {
		return nil, err
	}
	conf := corefile(o, dnsPort, ports[0], ports[1], ports[2])
	confPath := filepath.Join(work, "Corefile")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	p, err := corednstest.Start(name, work, bin, "-conf", confPath)
	if err != nil {
		return nil, err
	}
	return &coreDNS{
		Process:    p,
		name:       name,
		addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(dnsPort)),
		readyURL:   fmt.Sprintf("http://127.0.0.1:%d/ready", ports[0]),
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", ports[1]),
		pprofURL:   fmt.Sprintf("http://127.0.0.1:%d/debug/pprof", ports[2]),
		corefile:   conf,
	}, nil
}

// stop stops the process (SIGTERM, SIGKILL after a grace period); an error if SIGKILL was needed.
func (c *coreDNS) stop() error { return c.Stop(corednsStopGrace) }

// describe is the instance's Corefile and log tail, for failure output.
func (c *coreDNS) describe() string {
	state := "running"
	if err := c.Exited(); err != nil {
		state = err.Error()
	}
	return fmt.Sprintf("==> CoreDNS %s (pid %d, %s), %s <==\nCorefile:\n%s\n==> tail of %s <==\n%s",
		c.name, c.PID(), state, c.addr, c.corefile, c.LogPath, c.LogTail(corednsLogTail))
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
func (c *coreDNS) waitReady(ctx context.Context) error { return c.WaitReady(ctx, c.readyURL) }

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
		if err := c.Exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CoreDNS %s not answering on %s: %w (last: %v)", c.name, c.addr, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
