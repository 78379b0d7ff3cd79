package clusterdns

import (
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/request"
	"github.com/miekg/dns"
)

// resolvConf is where the host's search list is read, as the kubernetes plugin reads it.
var resolvConf = "/etc/resolv.conf"

// hostSearch returns the search domains of a resolv.conf, normalized; none if it cannot be read.
func hostSearch(path string) []string {
	rc, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil
	}
	plugin.Zones(rc.Search).Normalize()
	return rc.Search
}

// AutoPath implements the autopath plugin's AutoPather: the search list of the pod that sent the
// query, as kubelet writes it into the pod's resolv.conf (<ns>.svc.<zone> svc.<zone> <zone>, then
// the host's domains), and "" for the name as asked. Nil means no autopath: the query is answered
// as asked. That is the case for a client this plugin cannot name with certainty (see clientindex.go),
// where the kubernetes plugin takes the first pod it finds with that address (coredns#2842,
// coredns#7120, coredns#3765).
func (cd *ClusterDNS) AutoPath(state request.Request) []string {
	zone := cd.match(state.Name())
	if zone == "" || cd.store.clients == nil {
		return nil
	}
	cl, ok := cd.store.clients.lookup(clientAddr(state.W))
	if !ok {
		return nil
	}
	search := make([]string, 0, 4+len(cd.hostSearch))
	if zone == "." {
		search = append(search, cl.namespace+".svc.", "svc.", ".")
	} else {
		search = append(search, cl.namespace+".svc."+zone, "svc."+zone, zone)
	}
	search = append(search, cd.hostSearch...)
	return append(search, "") // the name as asked, last (the autopath plugin's sentinel)
}

// identifyClients turns the client index on: the Pod watch starts even without "pods verified", and
// feeds the index (once; the source is not started yet).
func (cd *ClusterDNS) identifyClients() {
	if cd.store.clients != nil {
		return
	}
	cd.store.clients = newClientIndex(nil) // client_labels would have turned it on already
	if src, ok := cd.src.(*kubeSource); ok {
		src.watch.Pods = true
	}
}

// identifyClientsFor turns the client index on when the server block has an autopath plugin. The
// autopath plugin finds the plugin it names only at startup, by name, and tells it nothing; a
// server block's autopath names the plugin that serves its cluster zone, so its presence is taken
// as asking for this one.
func (cd *ClusterDNS) identifyClientsFor(chain []plugin.Handler) {
	for _, h := range chain {
		if h != nil && h.Name() == "autopath" {
			cd.identifyClients()
			return
		}
	}
}
