package clusterdns

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/internal/kube"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/pkg/upstream"
	"github.com/miekg/dns"
	"k8s.io/apimachinery/pkg/labels"
)

const pluginName = "clusterdns"

var log = clog.NewWithPlugin(pluginName)

func init() { plugin.Register(pluginName, setup) }

// defaultTTL is the incumbent's default, so that moving to clusterdns changes no caching.
const defaultTTL = 5

// maxTTL bounds ttl as the incumbent does: cluster data changes, long TTLs serve stale answers.
const maxTTL = 3600

// manifestsPoll is how often manifest files are checked for changes.
var manifestsPoll = 2 * time.Second

func setup(c *caddy.Controller) error {
	k, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	// Nothing starts here: the source starts in OnStartup and stops in OnShutdown, so that a
	// reload of the Corefile leaves no watch behind.
	c.OnStartup(k.start)
	c.OnShutdown(k.shutdown)
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		k.Next = next
		return k
	})
	return nil
}

func (c *ClusterDNS) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	c.stop = cancel
	synced.Set(0)
	markSynced := func() {
		c.synced.Store(true)
		synced.Set(1)
	}
	if err := c.source.Start(ctx, c.store, markSynced); err != nil {
		cancel()
		return plugin.Error(pluginName, err)
	}
	return nil
}

func (c *ClusterDNS) shutdown() error {
	if c.stop != nil {
		c.stop()
	}
	return nil
}

// config is the parsed stanza.
type config struct {
	zones     []string
	ttl       uint32
	pods      podMode
	podNames  bool
	opts      storeOptions
	labels    labels.Selector
	manifests []string
	fall      fall.F

	client         kube.ClientConfig
	nsLabels       labels.Selector
	startupTimeout time.Duration
	apiOptions     []string // API server directives given, to refuse them beside manifests
}

func parse(c *caddy.Controller) (*ClusterDNS, error) {
	var k *ClusterDNS
	for c.Next() {
		if k != nil {
			return nil, plugin.ErrOnce
		}
		cfg, err := parseStanza(c)
		if err != nil {
			return nil, err
		}
		if k, err = cfg.plugin(localAddrs()); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func parseStanza(c *caddy.Controller) (*config, error) {
	cfg := &config{ttl: defaultTTL, startupTimeout: defaultStartupTimeout}
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
	args := c.RemainingArgs()
	switch dir {
	case "ttl":
		if len(args) != 1 {
			return arity(c, dir, "one number of seconds")
		}
		n, err := strconv.ParseUint(args[0], 10, 32)
		if err != nil || n > maxTTL {
			return c.Errf("ttl must be a number of seconds from 0 to %d, not %q", maxTTL, args[0])
		}
		cfg.ttl = uint32(n)
	case "namespaces":
		if len(args) == 0 {
			return arity(c, dir, "one or more namespaces")
		}
		cfg.opts.namespaces = map[string]bool{}
		for _, ns := range args {
			cfg.opts.namespaces[ns] = true
		}
	case "labels":
		if len(args) == 0 {
			return arity(c, dir, "a label selector")
		}
		sel, err := labels.Parse(strings.Join(args, " "))
		if err != nil {
			return c.Errf("labels: %v", err)
		}
		cfg.labels = sel
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
	case "noendpoints":
		if len(args) != 0 {
			return arity(c, dir, "no argument")
		}
		cfg.opts.noEndpoints = true
	case "fallthrough":
		cfg.fall.SetZonesFromArgs(args)
	case "ignore":
		if len(args) != 1 || args[0] != "empty_service" {
			return arity(c, dir, "empty_service")
		}
		cfg.opts.ignoreEmpty = true
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
	case "namespace_labels":
		if len(args) == 0 {
			return arity(c, dir, "a label selector")
		}
		sel, err := labels.Parse(strings.Join(args, " "))
		if err != nil {
			return c.Errf("namespace_labels: %v", err)
		}
		cfg.nsLabels = sel
	case "startup_timeout":
		if len(args) != 1 {
			return arity(c, dir, "one duration")
		}
		d, err := time.ParseDuration(args[0])
		if err != nil || d < 0 {
			return c.Errf("startup_timeout must be a duration such as 5s, not %q", args[0])
		}
		cfg.startupTimeout = d
	default:
		return c.Errf("unknown property %q", dir)
	}
	if strings.HasPrefix(dir, "apiserver_") || dir == "kubeconfig" || dir == "endpoint" || dir == "tls" {
		cfg.apiOptions = append(cfg.apiOptions, dir)
	}
	return nil
}

// plugin builds the plugin from a parsed stanza. nsAddrs are the addresses of ns.dns.<zone>.
func (cfg *config) plugin(nsAddrs []netip.Addr) (*ClusterDNS, error) {
	b := &builder{ttl: cfg.ttl, insecurePods: cfg.pods == podsInsecure}
	for _, z := range cfg.zones {
		z = strings.ToLower(z)
		if dns.IsSubDomain("in-addr.arpa.", z) || dns.IsSubDomain("ip6.arpa.", z) {
			b.reverse = append(b.reverse, z)
		} else {
			b.zones = append(b.zones, z)
		}
	}
	if len(b.zones) == 0 {
		return nil, fmt.Errorf("no forward zone: at least one (such as cluster.local) names the records")
	}
	if len(cfg.manifests) > 0 && len(cfg.apiOptions) > 0 {
		return nil, fmt.Errorf("manifests serves files, not the API server: remove %s", strings.Join(cfg.apiOptions, ", "))
	}
	if cfg.client.Kubeconfig != "" && cfg.client.Endpoint != "" {
		return nil, fmt.Errorf("kubeconfig and endpoint exclude each other")
	}
	if cfg.client.TLSCert != "" && cfg.client.Endpoint == "" {
		return nil, fmt.Errorf("tls goes with endpoint; a kubeconfig carries its own credentials")
	}
	if len(cfg.opts.namespaces) > 0 && cfg.nsLabels != nil {
		return nil, fmt.Errorf("namespaces and namespace_labels exclude each other")
	}
	k := &ClusterDNS{
		zones:    b.allZones(),
		fall:     cfg.fall,
		pods:     cfg.pods,
		upstream: upstream.New(),
	}
	// Longest first, so that a name matches the most specific zone it is in.
	sort.SliceStable(k.zones, func(i, j int) bool { return len(k.zones[i]) > len(k.zones[j]) })
	opts := cfg.opts
	opts.podsVerify = cfg.pods == podsVerified
	opts.nsByObject = cfg.nsLabels != nil
	k.store = newStore(b, opts, nsAddrs)
	k.store.programmed = func(kind string, since time.Time) {
		// Changes met during the first sync are old news, not programming latency.
		if k.synced.Load() {
			observeProgramming(kind, since)
		}
	}
	k.store.counted = countObjects
	filter := kube.Filter{Labels: cfg.labels, PodNames: cfg.podNames}
	if len(cfg.manifests) > 0 {
		k.source = &manifestSource{m: kube.NewManifests(cfg.manifests, filter)}
		return k, nil
	}
	cfg.client.UserAgent = userAgent()
	k.source = &kubeSource{
		client:         cfg.client,
		startupTimeout: cfg.startupTimeout,
		watch: kube.WatchConfig{
			Namespaces:      slices.Sorted(maps.Keys(cfg.opts.namespaces)),
			NamespaceLabels: cfg.nsLabels,
			Filter:          filter,
			Endpoints:       !cfg.opts.noEndpoints,
			Pods:            cfg.pods == podsVerified,
		},
	}
	return k, nil
}

// localAddrs are this host's unicast addresses, answered for ns.dns.<zone> as the incumbent does
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
