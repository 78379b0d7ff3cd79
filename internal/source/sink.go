// Package source holds what the two sources of Kubernetes objects share: the conversion of API
// objects into the slim form of package model, the Filter that chooses what is served, and the
// Sink they hand objects to. The API source is package source/kube, the file source package
// source/manifests. None of them knows anything of DNS.
package source

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
	// ServiceImports and the EndpointSlices labelled for them come only with multicluster.
	UpsertServiceImport(*model.ServiceImport)
	DeleteServiceImport(namespace, name string)
	UpsertImportedSlice(*model.ImportedSlice)
	DeleteImportedSlice(namespace, name string)
	// Retain deletes the objects of one kind the sink holds in namespace ("" for all) that are not
	// listed: a re-list hands over what it listed, so the sources need not keep a key of every
	// object.
	Retain(kind Kind, namespace string, listed []ObjectKey)
	// Replace swaps the whole data set for the snapshot, as a client-go store's Replace does.
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
	ServiceImports
	ImportedSlices
)

// ObjectKey names an object; a Namespace has no namespace.
type ObjectKey struct{ Namespace, Name string }
