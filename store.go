package clusterdns

import (
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/clusterdns/clusterdns/internal/index"
	"github.com/clusterdns/clusterdns/internal/kube"
	"github.com/clusterdns/clusterdns/internal/model"
)

// storeOptions are the Corefile options that decide which objects become names.
type storeOptions struct {
	namespaces map[string]bool // exposed namespaces; empty exposes all
	// nsByObject exposes a namespace only while its Namespace object is known: with
	// namespace_labels the source delivers only the namespaces that match.
	nsByObject  bool
	noEndpoints bool
	ignoreEmpty bool
	podsVerify  bool
}

// store keeps the slim objects a service's names depend on and rebuilds that service's records
// whenever one of them changes. It implements kube.Sink. Everything the index serves is derived
// here; the index itself never sees a Kubernetes object.
type store struct {
	b    *builder
	ix   *index.Index
	opts storeOptions

	mu         sync.Mutex
	services   map[string]*model.Service         // ns/name
	slices     map[string]*model.EndpointSlice   // ns/slice-name
	bySvc      map[string][]*model.EndpointSlice // ns/service -> its slices, sorted by name
	pods       map[podKey][]netip.Addr           // only the addresses, to take back when the pod changes or goes
	podAddrs   map[string]*podAddrs              // namespace -> addresses of its pods, kept with pods
	nsObjects  map[string]bool
	nsServices map[string]int  // services per namespace: a namespace with services exists
	nsShown    map[string]bool // namespaces whose names are in the index
	nsAddrs    []netip.Addr
	serial     uint32

	// programmed is told, for each EndpointSlice change, how long it took from the change in the
	// cluster to the answer (the DNS programming latency SLI), by service kind.
	programmed func(kind string, since time.Time)
	// counted is told the number of objects held after each change.
	counted func(services, slices, pods, namespaces int)
}

func newStore(b *builder, opts storeOptions, nsAddrs []netip.Addr) *store {
	s := &store{
		b: b, opts: opts, nsAddrs: nsAddrs,
		programmed: func(string, time.Time) {}, counted: func(int, int, int, int) {},
		ix: index.New(b.allZones()), nsShown: map[string]bool{}, podAddrs: map[string]*podAddrs{},
	}
	s.reset()
	s.publishApex()
	return s
}

func (s *store) reset() {
	s.services = map[string]*model.Service{}
	s.slices = map[string]*model.EndpointSlice{}
	s.bySvc = map[string][]*model.EndpointSlice{}
	s.pods = map[podKey][]netip.Addr{}
	s.nsObjects = map[string]bool{}
	s.nsServices = map[string]int{}
}

// wanted tells whether objects of a namespace are kept at all (the namespaces option).
func (s *store) wanted(namespace string) bool {
	return len(s.opts.namespaces) == 0 || s.opts.namespaces[namespace]
}

// exposed tells whether a namespace's names are served now.
func (s *store) exposed(namespace string) bool {
	return s.wanted(namespace) && (!s.opts.nsByObject || s.nsObjects[namespace])
}

// changed republishes the apex serial and reports the object counts.
func (s *store) changed() {
	s.publishApex()
	s.counted(len(s.services), len(s.slices), len(s.pods), len(s.nsObjects))
}

// publishApex (re)writes every zone apex when the SOA serial moves. The serial is the time of the
// last data change, in seconds, so secondaries and caches can tell the data moved.
func (s *store) publishApex() {
	serial := uint32(time.Now().Unix())
	if serial == s.serial {
		return
	}
	s.serial = serial
	for _, z := range s.b.allZones() {
		s.ix.Replace("zone/"+z, s.b.apex(z, serial, s.nsAddrs))
	}
}

func (s *store) UpsertService(svc *model.Service) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.wanted(svc.Namespace) {
		return
	}
	key := svc.Key()
	if _, had := s.services[key]; !had {
		s.nsServices[svc.Namespace]++
	}
	s.services[key] = svc
	s.rebuildService(key)
	s.syncNamespace(svc.Namespace)
	s.changed()
}

func (s *store) DeleteService(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := namespace + "/" + name
	if _, had := s.services[key]; !had {
		return
	}
	delete(s.services, key)
	s.nsServices[namespace]--
	if s.nsServices[namespace] == 0 {
		delete(s.nsServices, namespace)
	}
	s.rebuildService(key)
	s.syncNamespace(namespace)
	s.changed()
}

func (s *store) UpsertEndpointSlice(sl *model.EndpointSlice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.noEndpoints || !s.wanted(sl.Namespace) {
		return
	}
	old, had := s.slices[sl.Key()]
	if had && old.Service != sl.Service {
		s.removeSlice(old)
	}
	s.slices[sl.Key()] = sl
	svcKey := sl.Namespace + "/" + sl.Service
	s.bySvc[svcKey] = withSlice(s.bySvc[svcKey], sl)
	s.rebuildService(svcKey)
	s.changed()
	if svc, ok := s.services[svcKey]; ok && (!had || sl.LastChange.After(old.LastChange)) {
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
	if old, ok := s.slices[namespace+"/"+name]; ok {
		s.removeSlice(old)
		s.changed()
	}
}

// removeSlice forgets a slice and rebuilds the service it belonged to.
func (s *store) removeSlice(sl *model.EndpointSlice) {
	delete(s.slices, sl.Key())
	svcKey := sl.Namespace + "/" + sl.Service
	if rest := withoutSlice(s.bySvc[svcKey], sl.Name); len(rest) > 0 {
		s.bySvc[svcKey] = rest
	} else {
		delete(s.bySvc, svcKey)
	}
	s.rebuildService(svcKey)
}

func (s *store) UpsertPod(p *model.Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.opts.podsVerify || !s.wanted(p.Namespace) {
		return
	}
	key := podKey{p.Namespace, p.Name}
	s.addrs(p.Namespace).swap(s.pods[key], p.IPs)
	s.pods[key] = p.IPs
	s.changed()
}

func (s *store) DeletePod(namespace, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := podKey{namespace, name}
	if ips, ok := s.pods[key]; ok {
		delete(s.pods, key)
		s.addrs(namespace).swap(ips, nil)
		s.changed()
	}
}

// podKey names a pod with the strings of its own object: no key string is built per pod.
type podKey struct{ namespace, name string }

func (s *store) UpsertNamespace(ns *model.Namespace) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.wanted(ns.Name) || s.nsObjects[ns.Name] {
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
		delete(s.nsObjects, name)
		s.exposureChanged(name)
		s.changed()
	}
}

// Held lists the objects of a kind held in namespace ("" for all), for a re-list to delete those
// its list no longer has.
func (s *store) Held(kind kube.Kind, namespace string) []kube.ObjectKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []kube.ObjectKey
	add := func(ns, name string) {
		if namespace == "" || ns == namespace {
			out = append(out, kube.ObjectKey{Namespace: ns, Name: name})
		}
	}
	switch kind {
	case kube.Services:
		for _, svc := range s.services {
			add(svc.Namespace, svc.Name)
		}
	case kube.EndpointSlices:
		for _, sl := range s.slices {
			add(sl.Namespace, sl.Name)
		}
	case kube.Pods:
		for k := range s.pods {
			add(k.namespace, k.name)
		}
	case kube.Namespaces:
		for ns := range s.nsObjects {
			add("", ns)
		}
	}
	return out
}

// Replace swaps the whole data set: every object is stored first, then each service is built once.
func (s *store) Replace(snap *model.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	oldServices, oldPods, oldNamespaces := s.services, s.pods, s.nsShown
	s.reset()
	for _, ns := range snap.Namespaces {
		if s.wanted(ns.Name) {
			s.nsObjects[ns.Name] = true
		}
	}
	for _, svc := range snap.Services {
		if s.wanted(svc.Namespace) {
			if _, dup := s.services[svc.Key()]; !dup {
				s.nsServices[svc.Namespace]++
			}
			s.services[svc.Key()] = svc
		}
	}
	for _, sl := range snap.Slices {
		if s.opts.noEndpoints || !s.wanted(sl.Namespace) {
			continue
		}
		s.slices[sl.Key()] = sl
		svcKey := sl.Namespace + "/" + sl.Service
		s.bySvc[svcKey] = withSlice(s.bySvc[svcKey], sl)
	}
	for key := range oldServices {
		if _, kept := s.services[key]; !kept {
			s.ix.Replace("svc/"+key, nil)
		}
	}
	for key := range s.services {
		s.rebuildService(key)
	}
	for key, ips := range oldPods {
		s.addrs(key.namespace).swap(ips, nil)
	}
	if s.opts.podsVerify {
		for _, p := range snap.Pods {
			if s.wanted(p.Namespace) {
				s.pods[podKey{p.Namespace, p.Name}] = p.IPs
				s.addrs(p.Namespace).swap(nil, p.IPs)
			}
		}
	}
	for ns := range oldNamespaces {
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

// rebuildService replaces the records of the service at key from its current objects.
func (s *store) rebuildService(key string) {
	svc, ok := s.services[key]
	if !ok || !s.exposed(svc.Namespace) {
		s.ix.Replace("svc/"+key, nil)
		return
	}
	s.ix.Replace("svc/"+key, s.b.service(svc, s.bySvc[key], s.opts.ignoreEmpty))
}

// addrs returns the pod address set of a namespace, made on first use and kept: the namespace's
// names answer from it.
func (s *store) addrs(ns string) *podAddrs {
	a, ok := s.podAddrs[ns]
	if !ok {
		a = &podAddrs{}
		s.podAddrs[ns] = a
	}
	return a
}

// exposureChanged follows a namespace appearing or going: with namespace_labels its services come
// and go with it (its pods' names hang below its own).
func (s *store) exposureChanged(ns string) {
	s.syncNamespace(ns)
	if !s.opts.nsByObject {
		return
	}
	for key, svc := range s.services {
		if svc.Namespace == ns {
			s.rebuildService(key)
		}
	}
}

// syncNamespace shows a namespace's names while it exists: as an object, or implied by a service
// in it (manifest files often leave Namespace objects out).
func (s *store) syncNamespace(ns string) {
	exists := s.exposed(ns) && (s.nsObjects[ns] || s.nsServices[ns] > 0)
	if exists == s.nsShown[ns] {
		return
	}
	if exists {
		s.nsShown[ns] = true
		var verified *podAddrs
		if s.opts.podsVerify {
			verified = s.addrs(ns)
		}
		s.ix.Replace("ns/"+ns, s.b.namespace(ns, verified))
		return
	}
	delete(s.nsShown, ns)
	s.ix.Replace("ns/"+ns, nil)
}

// withSlice returns list with sl in place of the slice of the same name, kept sorted by name so
// that the same objects always give the same record order. list is never modified: the records
// built from it keep it.
func withSlice(list []*model.EndpointSlice, sl *model.EndpointSlice) []*model.EndpointSlice {
	i, found := slices.BinarySearchFunc(list, sl.Name, func(e *model.EndpointSlice, name string) int {
		return strings.Compare(e.Name, name)
	})
	out := make([]*model.EndpointSlice, 0, len(list)+1)
	out = append(out, list[:i]...)
	out = append(out, sl)
	if found {
		i++
	}
	return append(out, list[i:]...)
}

func withoutSlice(list []*model.EndpointSlice, name string) []*model.EndpointSlice {
	out := make([]*model.EndpointSlice, 0, len(list))
	for _, e := range list {
		if e.Name != name {
			out = append(out, e)
		}
	}
	return out
}
