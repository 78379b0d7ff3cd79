// Package clusterdns is a CoreDNS plugin that serves Kubernetes service discovery (the Kubernetes
// DNS specification, schema 1.1.0) from answers precomputed per name. It replaces the kubernetes
// plugin; docs/spec-rules.md lists the rules its tests cite.
//
// Three paths run through it; the files of each, in order:
//
// The query path builds nothing but a PTR: a zone match, one index lookup and a write.
//
//	handler.go             ServeDNS: match a zone, lookup, chase a CNAME, write the answer
//	fit.go, fitsrv.go      cut a large address or SRV answer (and its glue) to the client's buffer
//	autopath.go            AutoPath: the client pod's search list, for the autopath plugin
//	metadata.go            Metadata: clusterdns/ keys of the query name and the client, lazily
//	internal/index         Lookup, Synthesize (names built on demand, PTRs among them), Resolve
//
// The data path turns Kubernetes objects into those RRsets whenever an object changes.
//
//	internal/source/kube       the API: watcher.go (reflectors), feed.go, slim.go, client.go, health.go,
//	                           multicluster.go (ServiceImports and their EndpointSlices)
//	internal/source/manifests  files: manifests.go (load and poll), decode.go
//	internal/source            what both share: filter.go, convert.go, mirror.go, ports.go, sink.go,
//	                           multicluster.go (ServiceImports, imported EndpointSlices)
//	internal/model             the slim objects that are kept
//	source_kube.go, source_manifests.go  start a source for the plugin
//	source_multicluster.go     the ServiceImport watch beside it, synced apart (multicluster)
//	store.go                   the objects kept, as a source.Sink; what depends on each
//	storehold.go               the first list built once, when complete
//	storerelease.go            a shut down instance's data dropped (a reload's old handler lives on)
//	clientindex.go             pods: address -> namespace, name, client_labels (autopath,
//	                           metadata) and a namespace's addresses (pods verified), held once;
//	                           clienttables.go its compact tables
//	servicerecords.go          a service's records: its own, and each slice's, rebuilt alone
//	claims.go                  which slice answers an address or name that several hold
//	storeimports.go            ServiceImports with their clusters' slices, rebuilt per import
//	reversenames.go            the PTR of each address, built when asked: one name by precedence, or all
//	reslice.go                 a slice's new version keeps the PTR refs of its unchanged endpoints
//	endpointdiff.go            the endpoints a slice's new version keeps in place, for claims.go and reslice.go
//	records.go, names.go       the records of a service, a slice, a namespace, a zone apex (pure)
//	zonal.go                   <topology-zone>.pin|prefer._zone names: built when asked, kept
//	mcsrecords.go              the records of a ServiceImport in the clusterset zones (pure)
//	setbuilder.go              the scratch and arrays that records are built in
//	scratch.go                 scratch maps reused between builds, dropped when one grew large
//	internal/index             Swap: an owner's RRsets in for those it gave before; content.go: each
//	                           zone's content sum and its names as one state
//	serial.go                  the SOA serial, derived from that sum
//	lastgood.go                the snapshot file: the data served, kept for a start without the API
//	internal/snapshot          its format
//
// The transfer path hands a zone to the transfer plugin (AXFR, IXFR as AXFR) and tells secondaries.
//
//	transfer.go            Transfer: a zone's SOA, names, PTRs and SOA, from one state
//	notify.go              NOTIFY through the transfer plugin when a zone's serial moves
//
// The build path compiles the plugin into CoreDNS, as operators do.
//
//	plugin/build.sh        CoreDNS's source at the version in go.mod, with clusterdns added
//	                       to its plugin.cfg before kubernetes
//	plugin/place.sh        where in plugin.cfg: before kubernetes, or before cache (PLACE=early)
//	build/coredns          the binary that make coredns, make run and the tests use
//	build/coredns-early    make coredns PLACE=early: clusterdns answers before cache
//
// setup.go parses and validates the Corefile stanza (setup_ttl.go its ttl line,
// setup_multicluster.go the multicluster zones); clusterdns.go holds the plugin type, its
// construction and its lifecycle (the source starts in OnStartup and stops in OnShutdown);
// metrics.go its metrics.
package clusterdns
