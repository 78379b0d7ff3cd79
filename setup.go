package clusterdns

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/source"
	"github.com/clusterdns/clusterdns/internal/source/kube"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"k8s.io/apimachinery/pkg/labels"
)

const pluginName = "clusterdns"

var log = clog.NewWithPlugin(pluginName)

func init() { plugin.Register(pluginName, setup) }

// Defaults, each declared here only.
const (
	// defaultTTL is the kubernetes plugin's, so that moving to clusterdns changes no caching.
	defaultTTL = 5
	// maxTTL bounds ttl as the kubernetes plugin does: cluster data changes, long TTLs serve stale
	// answers.
	maxTTL = 3600
	// maxDefaultNegativeTTL caps the negative TTL that ttl SECONDS implies: a name that appears (a
	// StatefulSet peer during a scale-up) must not stay cached as NXDOMAIN for the positive TTL.
	maxDefaultNegativeTTL = 5
	// defaultStartupTimeout is how long startup waits for the first sync, as the kubernetes plugin.
	defaultStartupTimeout = 5 * time.Second
)

// Intervals, variables so that tests can shorten them.
var (
	// manifestsPoll is how often manifest files are checked for changes.
	manifestsPoll = 2 * time.Second
	// snapshotDelay gathers changes before the snapshot is written: at most one write this often.
	snapshotDelay = 10 * time.Second
)

func setup(c *caddy.Controller) error {
	cd, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	// Nothing starts here: the source starts in OnStartup and stops in OnShutdown, so that a
	// reload of the Corefile leaves no watch behind.
	c.OnStartup(func() error {
		cd.findTransfer(c)
		cd.identifyClientsFor(dnsserver.GetConfig(c).Handlers())
		return nil
	})
	c.OnStartup(cd.start)
	c.OnShutdown(cd.shutdown)
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		cd.Next = next
		return cd
	})
	return nil
}

// config is the parsed stanza.
type config struct {
	zones       []string
	ttl         uint32
	negTTL      uint32 // TTL and SOA MINIMUM of negative answers
	ptrAll      bool   // ptr all
	pods        podMode
	podNames    bool
	noEndpoints bool
	zonal       bool
	ignoreEmpty bool
	udpFit      bool
	filter      source.Filter
	manifests   []string
	fall        fall.F
	// multicluster are the clusterset zones (Multi-Cluster Services), among zones.
	multicluster []string
	// clientLabels are the pod labels given as client-label/<label> metadata (client_labels).
	clientLabels []string

	client         kube.ClientConfig
	startupTimeout time.Duration
	snapshot       string        // the snapshot option's file
	snapshotMaxAge time.Duration // 0: any age
	apiOptions     []string      // API server directives given, to refuse them beside manifests

	// file and lines locate the stanza (under pluginName) and each directive in the Corefile, for
	// the errors found once the whole stanza is read.
	file  string
	lines map[string]int
}

func parse(c *caddy.Controller) (*ClusterDNS, error) {
	var cd *ClusterDNS
	for c.Next() {
		if cd != nil {
			return nil, plugin.ErrOnce
		}
		cfg, err := parseStanza(c)
		if err != nil {
			return nil, err
		}
		if err := cfg.validate(); err != nil {
			return nil, err
		}
		if cd, err = newClusterDNS(cfg, localAddrs()); err != nil {
			return nil, err
		}
	}
	return cd, nil
}

func parseStanza(c *caddy.Controller) (*config, error) {
	cfg := &config{ttl: defaultTTL, negTTL: min(defaultTTL, maxDefaultNegativeTTL), startupTimeout: defaultStartupTimeout, file: c.File(), lines: map[string]int{pluginName: c.Line()}}
	cfg.zones = plugin.OriginsFromArgsOrServerBlock(c.RemainingArgs(), c.ServerBlockKeys)
	for c.NextBlock() {
		if err := cfg.parseDirective(c); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

func (cfg *config) parseDirective(c *caddy.Controller) error {
	dir := c.Val()
	cfg.lines[dir] = c.Line()
	args := c.RemainingArgs()
	switch dir {
	case "ttl":
		return cfg.parseTTL(c, args)
	case "ptr":
		if len(args) != 1 {
			return arity(c, dir, "one or all")
		}
		if args[0] != "one" && args[0] != "all" {
			return c.Errf("ptr must be one (a single name per address) or all (every name), not %q", args[0])
		}
		cfg.ptrAll = args[0] == "all"
	case "namespaces":
		if len(args) == 0 {
			return arity(c, dir, "one or more namespaces")
		}
		cfg.filter.Namespaces = slices.Compact(slices.Sorted(slices.Values(args)))
	case "labels":
		if len(args) == 0 {
			return arity(c, dir, "a label selector")
		}
		sel, err := labels.Parse(strings.Join(args, " "))
		if err != nil {
			return c.Errf("labels: %v", err)
		}
		cfg.filter.Labels = sel
	case "pods":
		if len(args) != 1 {
			return arity(c, dir, "one of disabled, insecure, verified")
		}
		mode, ok := map[string]podMode{"disabled": podsDisabled, "insecure": podsInsecure, "verified": podsVerified}[args[0]]
		if !ok {
			return c.Errf("pods must be disabled, insecure or verified, not %q", args[0])
		}
		cfg.pods = mode
	case "endpoint_pod_names":
		if len(args) != 0 {
			return arity(c, dir, "no argument")
		}
		cfg.podNames = true
	case "client_labels":
		if len(args) == 0 {
			return arity(c, dir, "one or more pod label names")
		}
		cfg.clientLabels = slices.Compact(slices.Sorted(slices.Values(args)))
	case "noendpoints":
		if len(args) != 0 {
			return arity(c, dir, "no argument")
		}
		cfg.noEndpoints = true
	case "zonal":
		if len(args) != 0 {
			return arity(c, dir, "no argument")
		}
		cfg.zonal = true
	case "fallthrough":
		cfg.fall.SetZonesFromArgs(args)
	case "ignore":
		if len(args) != 1 || args[0] != "empty_service" {
			return arity(c, dir, "empty_service")
		}
		cfg.ignoreEmpty = true
	case "udp_fit":
		if len(args) != 0 {
			return arity(c, dir, "no argument")
		}
		cfg.udpFit = true
	case "manifests":
		if len(args) == 0 {
			return arity(c, dir, "one or more files or folders")
		}
		cfg.manifests = append(cfg.manifests, args...)
	case "kubeconfig":
		if len(args) < 1 || len(args) > 2 {
			return arity(c, dir, "a file and an optional context")
		}
		cfg.client.Kubeconfig = args[0]
		if len(args) == 2 {
			cfg.client.Context = args[1]
		}
	case "endpoint":
		if len(args) != 1 {
			return arity(c, dir, "one URL")
		}
		if u, err := url.Parse(args[0]); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c.Errf("endpoint must be an http or https URL such as https://10.0.0.1:6443, not %q", args[0])
		}
		cfg.client.Endpoint = args[0]
	case "tls":
		if len(args) != 3 {
			return arity(c, dir, "three files: CERT KEY CACERT")
		}
		cfg.client.TLSCert, cfg.client.TLSKey, cfg.client.TLSCA = args[0], args[1], args[2]
	case "apiserver_qps":
		if len(args) != 1 {
			return arity(c, dir, "one number")
		}
		qps, err := strconv.ParseFloat(args[0], 32)
		if err != nil || qps <= 0 {
			return c.Errf("apiserver_qps must be a number above 0, not %q", args[0])
		}
		cfg.client.QPS = float32(qps)
	case "apiserver_burst", "apiserver_max_inflight":
		if len(args) != 1 {
			return arity(c, dir, "one whole number")
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n <= 0 {
			return c.Errf("%s must be a whole number above 0, not %q", dir, args[0])
		}
		if dir == "apiserver_burst" {
			cfg.client.Burst = n
		} else {
			cfg.client.MaxInflight = n
		}
	case "apiserver_compression":
		if len(args) != 0 {
			return arity(c, dir, "no argument")
		}
		cfg.client.Compression = true
	case "namespace_labels":
		if len(args) == 0 {
			return arity(c, dir, "a label selector")
		}
		sel, err := labels.Parse(strings.Join(args, " "))
		if err != nil {
			return c.Errf("namespace_labels: %v", err)
		}
		cfg.filter.NamespaceLabels = sel
	case "startup_timeout":
		if len(args) != 1 {
			return arity(c, dir, "one duration")
		}
		d, err := time.ParseDuration(args[0])
		if err != nil || d < 0 {
			return c.Errf("startup_timeout must be a duration such as 5s, not %q", args[0])
		}
		cfg.startupTimeout = d
	case "snapshot":
		if len(args) < 1 || len(args) > 2 {
			return arity(c, dir, "a file and an optional maximum age")
		}
		cfg.snapshot = args[0]
		if len(args) == 2 {
			d, err := time.ParseDuration(args[1])
			if err != nil || d <= 0 {
				return c.Errf("snapshot maximum age must be a duration such as 24h, not %q", args[1])
			}
			cfg.snapshotMaxAge = d
		}
	case "multicluster":
		if len(args) == 0 {
			return arity(c, dir, "one or more clusterset zones, such as clusterset.local")
		}
		for _, z := range plugin.OriginsFromArgsOrServerBlock(args, nil) {
			cfg.multicluster = append(cfg.multicluster, strings.ToLower(z))
		}
	default:
		return c.Errf("unknown property %q", dir)
	}
	if strings.HasPrefix(dir, "apiserver_") || dir == "kubeconfig" || dir == "endpoint" || dir == "tls" || dir == "snapshot" {
		cfg.apiOptions = append(cfg.apiOptions, dir)
	}
	return nil
}

// validate refuses options that exclude each other, naming the line of the one given last.
func (cfg *config) validate() error {
	if len(cfg.manifests) > 0 && len(cfg.apiOptions) > 0 {
		return cfg.errAt(cfg.apiOptions[len(cfg.apiOptions)-1], "manifests serves files, not the API server: remove %s", strings.Join(cfg.apiOptions, ", "))
	}
	if cfg.client.Kubeconfig != "" && cfg.client.Endpoint != "" {
		return cfg.errAt("endpoint", "kubeconfig and endpoint exclude each other")
	}
	if cfg.client.TLSCert != "" && cfg.client.Endpoint == "" {
		return cfg.errAt("tls", "tls goes with endpoint; a kubeconfig carries its own credentials")
	}
	if cfg.zonal && cfg.noEndpoints {
		// Zonal names answer endpoints, which noendpoints does not watch.
		return cfg.errAt("zonal", "zonal answers endpoints: remove noendpoints")
	}
	if err := cfg.validateMulticluster(); err != nil {
		return err
	}
	if len(cfg.filter.Namespaces) > 0 && cfg.filter.NamespaceLabels != nil {
		return cfg.errAt("namespace_labels", "namespaces and namespace_labels exclude each other")
	}
	return nil
}

// errAt is a parse error at the line of directive dir, as caddy writes them.
func (cfg *config) errAt(dir, format string, args ...any) error {
	return fmt.Errorf("%s - Error during parsing: %s", cfg.at(dir), fmt.Sprintf(format, args...))
}

// at is "file:line" of directive dir, or of the stanza when dir was not given.
func (cfg *config) at(dir string) string {
	line, ok := cfg.lines[dir]
	if !ok {
		line = cfg.lines[pluginName]
	}
	return fmt.Sprintf("%s:%d", cfg.file, line)
}

// localAddrs are this host's unicast addresses, answered for ns.dns.<zone> as the kubernetes plugin does
// when it cannot find the service in front of it.
func localAddrs() []netip.Addr {
	ifAddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range ifAddrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().IsGlobalUnicast() {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// arity is the error for a directive given the wrong arguments; like every parse error it names
// the file, line and directive.
func arity(c *caddy.Controller, dir, want string) error {
	return c.Errf("%s takes %s", dir, want)
}
