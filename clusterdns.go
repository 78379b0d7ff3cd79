package clusterdns

import (
	"context"
	"net/netip"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/internal/source/kube"
	"github.com/clusterdns/clusterdns/internal/source/manifests"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/coredns/coredns/plugin/pkg/upstream"
	"github.com/miekg/dns"
)

// podMode is the "pods" option: how "<dashed-ip>.<ns>.pod.<zone>" names are answered.
type podMode int

const (
	podsDisabled podMode = iota // no pod names (NXDOMAIN)
	podsInsecure                // any well-formed address in an existing namespace
	podsVerified                // only addresses of pods in that namespace
)

// ClusterDNS is the plugin.
type ClusterDNS struct {
	Next plugin.Handler

	zones    []string // every zone served, lower case, longest first
	fall     fall.F
	pods     podMode
	zonal    bool // zonal names with a dotted topology zone are looked up past Synthesize
	upstream *upstream.Upstream
	store    *store
	// hostSearch is the host's search list (/etc/resolv.conf), the end of an autopath search list.
	hostSearch []string

	// src feeds the store; started in OnStartup and stopped in OnShutdown.
	src  dataSource
	stop context.CancelFunc
	// synced is set once the source has delivered a complete data set: until then a name the index
	// does not know is SERVFAIL, never NXDOMAIN (a false NXDOMAIN is cached by clients).
	synced atomic.Bool
	// importsSynced is the same for the clusterset zones, whose ServiceImports come from a
	// resource of their own (see multicluster.go); true without multicluster.
	importsSynced atomic.Bool
	// notify sends NOTIFY when a zone's serial moves, if the transfer plugin is configured.
	notify *notifier

	// udpFit serves a UDP answer too large for the client a rotated window of its addresses, without
	// TC (the udp_fit option); fitTurn counts the windows served (fit.go), srvTurn the SRV records
	// (fitsrv.go).
	udpFit  bool
	fitTurn atomic.Uint64
	srvTurn atomic.Uint64
}

// dataSource is where the data comes from: manifest files or the Kubernetes API.
type dataSource interface {
	// Start delivers the first complete data set to the store (bounded by ctx), then keeps it up to
	// date until ctx is done. It returns an error only if the first data set cannot be had.
	Start(ctx context.Context, s *store, synced func()) error
}

// newClusterDNS builds the plugin from a validated stanza. nsAddrs are the addresses of
// ns.dns.<zone>.
func newClusterDNS(cfg *config, nsAddrs []netip.Addr) (*ClusterDNS, error) {
	b := &builder{ttl: cfg.ttl, negTTL: cfg.negTTL, insecurePods: cfg.pods == podsInsecure, zonal: cfg.zonal}
	for _, z := range cfg.zones {
		z = strings.ToLower(z)
		switch {
		case dns.IsSubDomain("in-addr.arpa.", z) || dns.IsSubDomain("ip6.arpa.", z):
			b.reverse = append(b.reverse, z)
		case cfg.isMulticluster(z):
			b.mcZones = append(b.mcZones, z)
		default:
			b.zones = append(b.zones, z)
		}
	}
	if len(b.zones) == 0 {
		return nil, cfg.errAt(pluginName, "no forward zone: at least one (such as cluster.local) names the records")
	}
	cd := &ClusterDNS{
		zones:      b.allZones(),
		fall:       cfg.fall,
		pods:       cfg.pods,
		zonal:      cfg.zonal,
		upstream:   upstream.New(),
		udpFit:     cfg.udpFit,
		hostSearch: hostSearch(resolvConf),
	}
	cd.importsSynced.Store(len(b.mcZones) == 0)
	// Longest first, so that a name matches the most specific zone it is in.
	sort.SliceStable(cd.zones, func(i, j int) bool { return len(cd.zones[i]) > len(cd.zones[j]) })
	cd.store = newStore(b, storeOptions{
		namespacesByObject: cfg.filter.ByNamespaceObject(),
		noEndpoints:        cfg.noEndpoints,
		ignoreEmpty:        cfg.ignoreEmpty,
		podsVerify:         cfg.pods == podsVerified,
		clientLabels:       cfg.clientLabels,
		ptrAll:             cfg.ptrAll,
	}, nsAddrs)
	cd.store.programmed = func(kind string, since time.Time) {
		// Changes met during the first sync are old news, not programming latency.
		if cd.synced.Load() {
			observeProgramming(kind, since)
		}
	}
	cd.store.counted = countObjects
	if len(cfg.manifests) > 0 {
		files := manifests.New(cfg.manifests, cfg.filter, cfg.podNames)
		files.PodLabels = cfg.clientLabels
		cd.src = &manifestSource{files: files, at: cfg.at("manifests")}
		return cd, nil
	}
	client := cfg.client
	client.UserAgent = userAgent()
	src := &kubeSource{
		at:             cfg.at(clientDirective(cfg)),
		client:         client,
		startupTimeout: cfg.startupTimeout,
		connect:        kube.NewClient,
		watch: kube.WatchConfig{
			Filter:    cfg.filter,
			PodNames:  cfg.podNames,
			Endpoints: !cfg.noEndpoints,
			Pods:      cd.store.clients != nil, // or autopath: identifyClientsFor
			PodLabels: cfg.clientLabels,
		},
	}
	if len(b.mcZones) > 0 {
		src.imports = &importsSource{connect: kube.NewMCSClient, synced: func() { cd.importsSynced.Store(true) }}
	}
	if cfg.snapshot != "" {
		src.lastGood = &lastGood{path: cfg.snapshot, maxAge: cfg.snapshotMaxAge, delay: snapshotDelay, keep: cfg.filter}
	}
	cd.src = src
	return cd, nil
}

// clientDirective is the directive that says how to reach the API server, to name its line when
// that fails; "" for the in-cluster default.
func clientDirective(cfg *config) string {
	switch {
	case cfg.client.Kubeconfig != "":
		return "kubeconfig"
	case cfg.client.Endpoint != "":
		return "endpoint"
	}
	return ""
}

// Name implements plugin.Handler.
func (cd *ClusterDNS) Name() string { return pluginName }

// Ready implements the ready plugin's Readiness: ready once the first complete data set is in,
// ServiceImports included with multicluster.
func (cd *ClusterDNS) Ready() bool { return cd.synced.Load() && cd.importsSynced.Load() }

// start runs the source (OnStartup): setup starts nothing, so that a reload of the Corefile leaves
// no watch behind.
func (cd *ClusterDNS) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	cd.stop = cancel
	synced.Set(0)
	markSynced := func() {
		cd.synced.Store(true)
		synced.Set(1)
		cd.store.serialsSynced()
	}
	cd.notify.start(ctx)
	if err := cd.src.Start(ctx, cd.store, markSynced); err != nil {
		cancel()
		return plugin.Error(pluginName, err)
	}
	return nil
}

// shutdown stops the source and empties the store (OnShutdown): after a reload the old handler
// is still referenced until the second GC (see store.release).
func (cd *ClusterDNS) shutdown() error {
	if cd.stop != nil {
		cd.stop()
	}
	cd.store.release()
	// The manifests source keeps the last good objects of its files; nothing reads src past startup.
	cd.src = nil
	return nil
}
