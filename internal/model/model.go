// Package model holds the slim form of the Kubernetes objects that cluster DNS reads. Sources convert
// API objects into it before anything is stored, so no full object is ever kept; the DNS side builds
// records from it. It knows neither client-go nor DNS.
package model

import (
	"net/netip"
	"time"
)

// Service is what DNS needs of a v1 Service.
type Service struct {
	Namespace string
	Name      string
	// Headless is true for clusterIP "None": names answer the ready endpoints, not a virtual IP.
	Headless bool
	// HasSelector tells a headless service fed by the EndpointSlice controller from one whose
	// endpoints are managed by hand; the programming-latency metric is split by it.
	HasSelector bool
	// ClusterIPs in spec order, one per family at most (dual-stack).
	ClusterIPs []netip.Addr
	// ExternalName is the CNAME target of an ExternalName service, without the trailing dot.
	ExternalName string
	Ports        []Port
}

// Key returns "namespace/name", the key every source and store uses for namespaced objects.
func (s *Service) Key() string { return s.Namespace + "/" + s.Name }

// Port is a service or EndpointSlice port. Protocol is lower case ("tcp", "udp", "sctp") because
// that is how it appears in SRV names (spec 1.1.0, 2.4.1).
type Port struct {
	Name     string
	Protocol string
	Port     uint16
}

// EndpointSlice is what DNS needs of a discovery.k8s.io/v1 EndpointSlice (or of a v1 Endpoints
// object mirrored into one).
type EndpointSlice struct {
	Namespace string
	Name      string
	// Service is the owning service's name (label kubernetes.io/service-name).
	Service   string
	Ports     []Port
	Endpoints Endpoints
	// LastChange is when the change this version of the slice carries was triggered: the
	// endpoints.kubernetes.io/last-change-trigger-time annotation, else the slice's creation. The
	// DNS programming latency SLI is measured from it.
	LastChange time.Time
}

// Key returns "namespace/name".
func (e *EndpointSlice) Key() string { return e.Namespace + "/" + e.Name }

// Endpoint is one ready endpoint of a slice (packed in Endpoints): DNS never names the others, so
// sources drop them.
type Endpoint struct {
	// Addr is the endpoint's address. The API allows several, but defines only the first, and the
	// EndpointSlice controller always writes exactly one.
	Addr netip.Addr
	// Name is the endpoint's hostname (set by the EndpointSlice controller when the pod has
	// spec.hostname and a spec.subdomain equal to the service name, as StatefulSet pods do), else
	// its pod's name when the source was asked to keep pod names, else "".
	Name string
	// Zone is the endpoint's topology zone (the slice endpoint's zone field, which the EndpointSlice
	// controller copies from its node's topology.kubernetes.io/zone label), lower case so that
	// case-insensitive DNS names compare with ==; "" when unset.
	Zone string
}

// Pod is what DNS needs of a v1 Pod: its addresses, for "pods verified" and the client index,
// and the labels that client_labels names (nil when it names none).
type Pod struct {
	Namespace string
	Name      string
	IPs       []netip.Addr
	Labels    map[string]string
}

// Key returns "namespace/name".
func (p *Pod) Key() string { return p.Namespace + "/" + p.Name }

// Namespace is what DNS needs of a v1 Namespace. Labels are kept for namespace_labels.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// Snapshot is a whole data set at once, as a file source reads it.
type Snapshot struct {
	Services   []*Service
	Slices     []*EndpointSlice
	Pods       []*Pod
	Namespaces []*Namespace
}
