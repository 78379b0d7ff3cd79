package e2e

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// TestSameAnswersAsTheKubernetesPlugin asks clusterdns and the kubernetes plugin, in the same
// binary over the same API server with the same options, every name of the seed scenario and the
// names around them, over UDP and TCP. Where they differ, the kubernetes plugin breaks the
// specification or an RFC; each such question is listed with the reason (and in the README).
func TestSameAnswersAsTheKubernetesPlugin(t *testing.T) {
	s := needLive(t)
	o := s.corefileOptions()
	ours := s.startExtraCoreDNS(t, "reference-ours", o)
	ref := s.reference(t, "reference-kubernetes", o)
	for _, c := range []*coreDNS{ours, ref} {
		if err := c.waitServing(t.Context(), svcName("hostnames", "default"), dns.TypeA); err != nil {
			t.Fatal(err)
		}
	}
	qs := referenceQuestions(s.sc)
	if len(qs) < 100 {
		t.Fatalf("only %d questions: the scenario lost its services", len(qs))
	}
	compareWithReference(t, ours, ref, qs, deliberateDifferences(s.sc))
}

// referenceQuestions are every service name of the seed scenario with A, AAAA, SRV and TXT, every
// named port's SRV, every endpoint hostname and pod address name, the reverse names of every
// ClusterIP and pod address, and the apex, empty non-terminals and misses around them.
func referenceQuestions(sc *scenario) []question {
	var qs []question
	seen := map[question]bool{}
	add := func(name string, types ...uint16) {
		for _, t := range types {
			if q := (question{name, t}); !seen[q] {
				seen[q] = true
				qs = append(qs, q)
			}
		}
	}
	for _, d := range seedServices() {
		if d.svc.Namespace == "bulk" {
			continue // 150 endpoints say nothing that the other headless services do not
		}
		name := svcName(d.svc.Name, d.svc.Namespace)
		add(name, dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeTXT)
		for _, p := range d.svc.Spec.Ports {
			if p.Name != "" {
				add("_"+p.Name+"._"+strings.ToLower(string(p.Protocol))+"."+name, dns.TypeSRV, dns.TypeA)
			}
		}
		for _, ip := range sc.clusterIPs[d.svc.Namespace+"/"+d.svc.Name] {
			add(reverse(ip), dns.TypePTR)
		}
		for _, p := range d.pods {
			if p.hostname != "" && p.subdomain == d.svc.Name {
				add(p.hostname+"."+name, dns.TypeA, dns.TypeAAAA)
			}
			for _, ip := range sc.podIPs[d.svc.Namespace+"/"+p.name] {
				add(podName(ip, d.svc.Namespace), dns.TypeA, dns.TypeAAAA)
				add(reverse(ip), dns.TypePTR)
				if d.svc.Spec.ClusterIP == "None" && p.hostname == "" {
					add(dashed(ip)+"."+name, dns.TypeA)
				}
			}
		}
	}
	add(zone, dns.TypeSOA, dns.TypeNS, dns.TypeA)
	add("dns-version."+zone, dns.TypeTXT, dns.TypeA)
	add("svc."+zone, dns.TypeA)
	add("pod."+zone, dns.TypeA)
	add("default.svc."+zone, dns.TypeA)
	add(emptyNamespace+".svc."+zone, dns.TypeA)
	add("no-such-namespace.svc."+zone, dns.TypeA)
	add("nope.default.svc."+zone, dns.TypeA, dns.TypeSRV)
	add("kubernetes.default.default.svc."+zone, dns.TypeA, dns.TypeAAAA)
	add("_tcp."+svcName("hostnames", "default"), dns.TypeSRV)
	add("_nope._tcp."+svcName("hostnames", "default"), dns.TypeSRV)
	add("x.hostnames.default.svc."+zone, dns.TypeA)
	add("1-2-3-4.default.pod."+zone, dns.TypeA)
	add("01-2-3-4.default.pod."+zone, dns.TypeA)
	add("HostNames.Default.SVC."+strings.ToUpper(zone), dns.TypeA)
	add(reverse(netip.MustParseAddr("10.255.255.254")), dns.TypePTR)
	return qs
}

// deliberateDifferences are the questions where clusterdns is right and the kubernetes plugin is
// not, with the rule it breaks (the README's list).
func deliberateDifferences(sc *scenario) map[question]string {
	const (
		cnameEveryType = "RFC 1034 3.6.2: an ExternalName's CNAME answers every type and the target is chased; the kubernetes plugin answers other types than A and AAAA with an empty NOERROR"
		cnameRcode     = "RFC 6604 / RFC 1034 4.3.2: the rcode is the CNAME target's, NXDOMAIN; the kubernetes plugin answers NOERROR"
		srvNameOnly    = "spec 2.3.1 and 2.4.1: _<port>._<proto>.<service> holds SRV records only, so A is NODATA; the kubernetes plugin answers the service's addresses"
		emptyNonTerm   = "RFC 8020: an empty non-terminal exists, NODATA; the kubernetes plugin answers NXDOMAIN"
		otherType      = "RFC 2308 2.2: dns-version exists with TXT, so A is NODATA; the kubernetes plugin answers NXDOMAIN"
		apexNS         = "RFC 1034 4.2.1: the apex holds the zone's NS; the kubernetes plugin answers NODATA where no kube-dns service points at it"
		ptrOne         = "kubernetes/dns#25: ptr one answers one PTR per address by precedence; the kubernetes plugin answers one per selecting service"
	)
	d := map[question]string{
		{"cluster.local.", dns.TypeNS}:                           apexNS,
		{"dns-version." + zone, dns.TypeA}:                       otherType,
		{"_tcp." + svcName("hostnames", "default"), dns.TypeSRV}: emptyNonTerm,
		{svcName("nowhere", "default"), dns.TypeA}:               cnameRcode,
		{svcName("nowhere", "default"), dns.TypeAAAA}:            cnameRcode,
		{svcName("alias", "default"), dns.TypeAAAA}:              cnameEveryType,
	}
	for _, name := range []string{"alias", "chain", "my-database", "nowhere"} {
		d[question{svcName(name, "default"), dns.TypeSRV}] = cnameEveryType
		d[question{svcName(name, "default"), dns.TypeTXT}] = cnameEveryType
	}
	selecting := map[string]int{} // pod -> the services that list it as an endpoint
	defs := seedServices()
	for _, def := range defs {
		for _, other := range defs {
			for _, p := range other.pods {
				listed := !p.notReady || def.svc.Spec.PublishNotReadyAddresses
				if listed && other.svc.Namespace == def.svc.Namespace && selects(def.svc.Spec.Selector, p.labels) {
					selecting[def.svc.Namespace+"/"+p.name]++
				}
			}
		}
	}
	for pod, n := range selecting {
		for _, ip := range sc.podIPs[pod] {
			if n > 1 {
				d[question{reverse(ip), dns.TypePTR}] = ptrOne
			}
		}
	}
	for _, def := range seedServices() {
		name := svcName(def.svc.Name, def.svc.Namespace)
		headless := def.svc.Spec.ClusterIP == "None"
		for _, p := range def.svc.Spec.Ports {
			// A headless service without ready endpoints has no addresses to answer with.
			if p.Name != "" && (!headless || def.wantReady > 0) {
				d[question{"_" + p.Name + "._" + strings.ToLower(string(p.Protocol)) + "." + name, dns.TypeA}] = srvNameOnly
			}
		}
	}
	return d
}

// selects reports whether a service selector matches a pod's labels (an empty one matches none).
func selects(selector, podLabels map[string]string) bool {
	for k, v := range selector {
		if podLabels[k] != v {
			return false
		}
	}
	return len(selector) > 0
}
