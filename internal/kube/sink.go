// Package kube reads Kubernetes objects, from the API server through client-go or from manifest
// files, and hands them on in the slim form of package model. It knows nothing of DNS.
package kube

import "github.com/clusterdns/clusterdns/internal/model"

// Sink receives what a source reads: one object at a time from reflectors, or a whole snapshot from
// files. Deletes name the object; a delete of an unknown object is a no-op.
type Sink interface {
	UpsertService(*model.Service)
	DeleteService(namespace, name string)
	UpsertEndpointSlice(*model.EndpointSlice)
	DeleteEndpointSlice(namespace, name string)
	UpsertPod(*model.Pod)
	DeletePod(namespace, name string)
	UpsertNamespace(*model.Namespace)
	DeleteNamespace(name string)
	// Retain deletes the objects of one kind the sink holds in namespace ("" for all) that are not
	// listed: a re-list hands over what it listed, so the sources need not keep a key of every
	// object.
	Retain(kind Kind, namespace string, listed []ObjectKey)
	// Replace swaps the whole data set for the snapshot.
	Replace(*model.Snapshot)
}

// Kind is a kind of object a Sink holds.
type Kind int

// The kinds of objects a Sink holds.
const (
	Services Kind = iota
	EndpointSlices
	Pods
	Namespaces
)

// ObjectKey names an object; a Namespace has no namespace.
type ObjectKey struct{ Namespace, Name string }
