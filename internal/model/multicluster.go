package model

import "net/netip"

// ServiceImport is what DNS needs of a multicluster.x-k8s.io ServiceImport (the Multi-Cluster
// Services API, KEP-1645): a service exported from one or more clusters of the clusterset.
type ServiceImport struct {
	Namespace string
	Name      string
	// Headless is type Headless: names answer the ready endpoints of every cluster; otherwise
	// (ClusterSetIP) they answer IPs.
	Headless bool
	// IPs are the clusterset IPs of a ClusterSetIP import, one per family at most.
	IPs   []netip.Addr
	Ports []Port
}

// Key returns "namespace/name".
func (s *ServiceImport) Key() string { return s.Namespace + "/" + s.Name }

// ImportedSlice is an EndpointSlice that an MCS controller wrote for an imported service (label
// multicluster.kubernetes.io/service-name, held in Service), with the cluster its endpoints run
// in (label multicluster.kubernetes.io/source-cluster).
type ImportedSlice struct {
	EndpointSlice
	Cluster string
}
