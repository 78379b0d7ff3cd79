package clusterdns

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clusterdns/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"

	"github.com/miekg/dns"
)

// storeOptions are the Corefile options that decide which objects become names. Which objects
// are served at all is the sources' business (source.Filter).
type storeOptions struct {
	// namespacesByObject exposes a namespace only while its Namespace object is known: with
	// namespace_labels the sources deliver only the namespaces that match.
	namespacesByObject bool
	noEndpoints        bool // EndpointSlices are not served
	ignoreEmpty        bool // ignore empty_service
	podsVerify         bool // pods verified
	ptrAll             bool // ptr all: every name that points at an address, not one

	// clientLabels are the pod labels kept as client-label metadata (client_labels). With them or
	// with podsVerify the store holds pods from the start (see clientindex.go).
	clientLabels []string
}

// store keeps the slim objects a service's names depend on and rebuilds that service's records
// whenever one of them changes. It implements source.Sink. Everything the index serves is derived
// here; the index itself never sees a Kubernetes object.
type store struct {
	b    *builder
	ix   *index.Index
	opts storeOptions

	mu sync.Mutex
	// services holds each service with its slices and what it gives the index, under the strings of
	// its own objects: one map entry a service, no key string built (see servicerecords.go).
	services  map[objKey]serviceEntry
	nServices int
	slices    map[objKey]*model.EndpointSlice
	// clients holds the pods, when client identity is on (see clientindex.go), which it is with
	// "pods verified": the namespaces' pod names answer from it.
	clients    *clientIndex
	nsObjects  map[string]bool
	nsServices map[string]int         // services per namespace: a namespace with services exists
	nsShown    map[string][]index.Set // namespaces whose names are in the index, and those names
	mc         imports                // multicluster: ServiceImports and their slices
	// soas are the zones' SOA records with the negative TTL, which every negative answer carries:
	// four answers in ten are negative, and this spares them an index lookup.
	soas    atomic.Pointer[map[string][]dns.RR]
	nsAddrs []netip.Addr
	build   setBuilder // every service build's scratch
	ptrs    *reverseNames
	// serials are each zone's serial and content; grow says whether the history of served serials
	// has started; onSerial, if set, is told of a zone whose serial moved (serial.go).
	serials  map[string]zoneSerial
	grow     bool
	onSerial func(zone string)

	// programmed is told, for each EndpointSlice change, how long it took from the change in the
	// cluster to the answer (the DNS programming latency SLI), by service kind.
	programmed func(kind string, since time.Time)
	// counted is told the number of objects held after each change.
	counted func(services, slices, pods, namespaces int)
	// watcher, if set, is told of changes (see watch).
	watcher chan struct{}
	// pending, while the store is held, are the services to build when it is released (see
	// storehold.go); nil otherwise.
	pending map[objKey][][]index.Set
}

// objKey names a namespaced object with the strings of the object itself.
type objKey struct{ namespace, name string }

func newStore(b *builder, opts storeOptions, nsAddrs []netip.Addr) *store {
	s := &store{
		b: b, opts: opts, nsAddrs: nsAddrs,
		programmed: func(string, time.Time) {}, counted: func(int, int, int, int) {},
		ix:       index.New(b.allZones()),
		services: map[objKey]serviceEntry{}, slices: map[objKey]*model.EndpointSlice{},
		nsObjects: map[string]bool{}, nsServices: map[string]int{}, nsShown: map[string][]index.Set{},
		ptrs: newReverseNames(b, opts.ptrAll), serials: map[string]zoneSerial{},
	}
	if opts.podsVerify || len(opts.clientLabels) > 0 {
		s.clients = newClientIndex(opts.clientLabels)
	}
	s.publishApex()
	return s
}

// exposed tells whether a namespace's names are served now.
func (s *store) exposed(namespace string) bool {
	return !s.opts.namespacesByObject || s.nsObjects[namespace]
}

// changed republishes the apex of zones whose content changed, reports the object counts and
// tells whoever watches.
func (s *store) changed() {
	if s.pending != nil {
		return // the release says it
	}
	s.publishApex()
	nPods := 0
	if s.clients != nil {
		nPods = s.clients.count()
	}
	s.counted(s.nServices, len(s.slices), nPods, len(s.nsObjects))
	if s.watcher != nil {
		select {
		case s.watcher <- struct{}{}:
		default: // told already
		}
	}
}

// watch returns a channel told, without waiting, of every change from now on; one watcher only.
func (s *store) watch() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watcher = make(chan struct{}, 1)
	return s.watcher
}

// snapshot returns every object held, as a source would hand them over; pods with "pods
// verified" only, whose names answer from them.
func (s *store) snapshot() *model.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	snap := &model.Snapshot{}
	for _, e := range s.services {
		if e.svc != nil {
			snap.Services = append(snap.Services, e.svc)
		}
	}
	for _, sl := range s.slices {
		snap.Slices = append(snap.Slices, sl)
	}
	for ns := range s.nsObjects {
		snap.Namespaces = append(snap.Namespaces, &model.Namespace{Name: ns})
	}
	if s.opts.podsVerify {
		snap.Pods = s.clients.pods()
	}
	return snap
}

// soa returns the SOA record of a zone served here.
func (s *store) soa(zone string) []dns.RR { return (*s.soas.Load())[zone] }

func (s *store) UpsertService(svc *model.Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	prev := s.services[objKey{svc.Namespace, svc.Name}]
	key := s.putService(svc)
	if prev.svc != nil && prev.svc.Headless && svc.Headless && prev.parts != nil {
		// Its slices' records depend only on its name: they stay as they are.
		s.rebuildOwn(key)
	} else {
		s.rebuildService(key)
	}
	s.syncNamespace(svc.Namespace)
	s.changed()
}

// putService stores svc, counting it if it is new, and returns its key.
func (s *store) putService(svc *model.Service) objKey {
	key := objKey{svc.Namespace, svc.Name}
	e := s.services[key]
	if e.svc == nil {
		s.nServices++
		s.nsServices[svc.Namespace]++
	}
	e.svc = svc
	s.services[key] = e
	return key
}

// putSlice stores sl with its service's slices and returns the service's key and sl's place among
// them; a slice it replaces leaves its records there, to be taken back.
func (s *store) putSlice(sl *model.EndpointSlice) (objKey, int) {
	s.slices[objKey{sl.Namespace, sl.Name}] = sl
	key := objKey{sl.Namespace, sl.Service}
	e := s.services[key]
	var i int
	e.slices, e.parts, i = withSlice(e.slices, e.parts, sl)
	s.services[key] = e
	return key, i
}

func (s *store) DeleteService(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deleteService(objKey{namespace, name}) {
		s.changed()
	}
}

func (s *store) deleteService(key objKey) bool {
	e := s.services[key]
	if e.svc == nil {
		return false
	}
	e.svc = nil
	s.services[key] = e
	s.nServices--
	if s.nsServices[key.namespace]--; s.nsServices[key.namespace] == 0 {
		delete(s.nsServices, key.namespace)
	}
	s.rebuildService(key)
	s.syncNamespace(key.namespace)
	return true
}

func (s *store) UpsertEndpointSlice(sl *model.EndpointSlice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.noEndpoints {
		return
	}
	key := objKey{sl.Namespace, sl.Name}
	old, had := s.slices[key]
	if had && old.Service != sl.Service {
		s.removeSlice(old)
	}
	svcKey, i := s.putSlice(sl)
	before := old
	if !had || old.Service != sl.Service {
		before = nil // new to its service: as a slice that had no endpoints there
	}
	s.sliceChanged(svcKey, i, before)
	s.changed()
	if svc := s.services[svcKey].svc; svc != nil && (!had || sl.LastChange.After(old.LastChange)) {
		s.programmed(serviceKind(svc), sl.LastChange)
	}
}

// serviceKind is the service_kind label of the DNS programming latency metric.
func serviceKind(svc *model.Service) string {
	switch {
	case !svc.Headless:
		return "cluster_ip"
	case svc.HasSelector:
		return "headless_with_selector"
	default:
		return "headless_without_selector"
	}
}

func (s *store) DeleteEndpointSlice(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.slices[objKey{namespace, name}]; ok {
		s.removeSlice(old)
		s.changed()
	}
}

// removeSlice forgets a slice and takes back its records: first as a change to a slice without
// endpoints, which rebuilds only what it touches, then by leaving it out of its service.
func (s *store) removeSlice(sl *model.EndpointSlice) {
	delete(s.slices, objKey{sl.Namespace, sl.Name})
	svcKey := objKey{sl.Namespace, sl.Service}
	e := s.services[svcKey]
	emptied := &model.EndpointSlice{Namespace: sl.Namespace, Name: sl.Name, Service: sl.Service}
	var i int
	e.slices, e.parts, i = withSlice(e.slices, e.parts, emptied)
	s.services[svcKey] = e
	s.sliceChanged(svcKey, i, sl)
	e = s.services[svcKey]
	var gone []index.Set
	e.slices, e.parts, gone = withoutSlice(e.slices, e.parts, sl.Name)
	s.services[svcKey] = e
	s.ownChanged(svcKey, gone)
}

func (s *store) UpsertPod(p *model.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients == nil {
		return
	}
	s.clients.set(p)
	if s.opts.podsVerify {
		s.changed()
	}
}

func (s *store) DeletePod(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients != nil && s.clients.remove(namespace, name) && s.opts.podsVerify {
		s.changed()
	}
}

func (s *store) UpsertNamespace(ns *model.Namespace) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nsObjects[ns.Name] {
		return
	}
	s.nsObjects[ns.Name] = true
	s.exposureChanged(ns.Name)
	s.changed()
}

func (s *store) DeleteNamespace(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nsObjects[name] {
		s.deleteNamespace(name)
		s.changed()
	}
}

func (s *store) deleteNamespace(name string) {
	delete(s.nsObjects, name)
	s.exposureChanged(name)
}

// Retain deletes the objects of a kind held in namespace ("" for all) that a re-list no longer
// has.
func (s *store) Retain(kind source.Kind, namespace string, listed []source.ObjectKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.changed()
	if kind == source.Pods {
		if s.clients != nil {
			s.clients.retain(namespace, listed)
		}
		return
	}
	keep := make(map[objKey]bool, len(listed))
	for _, k := range listed {
		keep[objKey{k.Namespace, k.Name}] = true
	}
	stale := func(k objKey) bool { return !keep[k] && (namespace == "" || k.namespace == namespace) }
	switch kind {
	case source.Services:
		for k, e := range s.services {
			if e.svc != nil && stale(k) {
				s.deleteService(k)
			}
		}
	case source.EndpointSlices:
		for k, sl := range s.slices {
			if stale(k) {
				s.removeSlice(sl)
			}
		}
	case source.Namespaces:
		for ns := range s.nsObjects {
			if stale(objKey{"", ns}) {
				s.deleteNamespace(ns)
			}
		}
	case source.ServiceImports, source.ImportedSlices:
		s.retainImports(kind, namespace, keep)
	}
}

// Replace swaps the whole data set: every object is stored first, then each service is built once.
func (s *store) Replace(snap *model.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.services
	s.services, s.nServices = map[objKey]serviceEntry{}, 0
	s.slices, s.nsObjects, s.nsServices = map[objKey]*model.EndpointSlice{}, map[string]bool{}, map[string]int{}
	for _, ns := range snap.Namespaces {
		s.nsObjects[ns.Name] = true
	}
	for _, svc := range snap.Services {
		s.putService(svc)
	}
	if !s.opts.noEndpoints {
		for _, sl := range snap.Slices {
			s.putSlice(sl)
		}
	}
	for key, was := range old {
		if e, kept := s.services[key]; kept {
			// Taken back by its rebuild, so that its names never go missing in between.
			e.own, e.parts, e.ptrFrom = was.own, was.parts, was.ptrFrom
			s.services[key] = e
		} else {
			s.ix.SwapAll(was.taken()...)
			s.ix.SwapAll(s.ptrs.update(was.ptrFrom, ptrSource{}, s.opts.ignoreEmpty)...)
		}
	}
	for key := range s.services {
		s.rebuildService(key)
	}
	if s.clients != nil {
		s.clients.replace(snap.Pods)
	}
	for ns := range s.nsShown {
		s.syncNamespace(ns)
	}
	for ns := range s.nsObjects {
		s.syncNamespace(ns)
	}
	for ns := range s.nsServices {
		s.syncNamespace(ns)
	}
	s.changed()
}

// exposureChanged follows a namespace appearing or going: with namespace_labels its services come
// and go with it (its pods' names hang below its own).
func (s *store) exposureChanged(ns string) {
	s.syncNamespace(ns)
	if !s.opts.namespacesByObject {
		return
	}
	s.importsExposureChanged(ns)
	for key := range s.services {
		if key.namespace == ns {
			s.rebuildService(key)
		}
	}
}

// syncNamespace shows a namespace's names while it exists: as an object, or implied by a service
// in it (manifest files often leave Namespace objects out).
func (s *store) syncNamespace(ns string) {
	exists := s.exposed(ns) && (s.nsObjects[ns] || s.nsServices[ns] > 0)
	old, shown := s.nsShown[ns]
	if exists == shown {
		return
	}
	if !exists {
		s.ix.Swap(old, nil)
		delete(s.nsShown, ns)
		return
	}
	var verified podSet
	if s.opts.podsVerify {
		verified = namespacePods{s.clients, ns}
	}
	sets := s.b.namespace(ns, verified)
	s.ix.Swap(nil, sets)
	s.nsShown[ns] = sets
}
