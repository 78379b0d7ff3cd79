package e2e

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// upstream is the tiny authoritative DNS server behind CoreDNS's forward plugin: it answers the
// external names the tests resolve (ExternalName targets, fallthrough PTRs) and records every
// name it is asked, so that tests can tell what the plugin handed on.
type upstream struct {
	addr     string // 127.0.0.1:port, the same port for UDP and TCP
	udp, tcp *dns.Server

	mu   sync.Mutex
	seen map[string]int // lower-case qname -> queries received
}

// upstreamSOAMname marks the upstream's own negative answers (the plugin's SOA names
// ns.dns.cluster.local.).
const upstreamSOAMname = "ns.upstream.test."

// Addresses the upstream answers; the tests compare against them.
const (
	exampleComIP = "192.0.2.1"
	fooIP        = "192.0.2.10"
	barIP        = "192.0.2.20"
	databaseIP   = "192.0.2.30"
	// externalPTRAddr is outside the cluster: its PTR falls through the plugin to forward.
	externalPTRAddr   = "192.0.2.1"
	externalPTRTarget = "example.com."
	externalPTR6Addr  = "2001:db8::1"
	externalPTR6Tgt   = "v6host.example.com."
)

// upstreamZone is the upstream's data: owner -> records.
func upstreamZone() map[string][]dns.RR {
	z := map[string][]dns.RR{}
	add := func(s string) {
		rr, err := dns.NewRR(s)
		if err != nil {
			panic(err)
		}
		name := strings.ToLower(rr.Header().Name)
		z[name] = append(z[name], rr)
	}
	add("example.com. 30 IN A " + exampleComIP)
	add("foo.example.com. 30 IN A " + fooIP)
	add("bar.example.com. 30 IN A " + barIP)
	add("my.database.example.com. 30 IN A " + databaseIP)
	rev, _ := dns.ReverseAddr(externalPTRAddr)
	add(rev + " 30 IN PTR " + externalPTRTarget)
	rev6, _ := dns.ReverseAddr(externalPTR6Addr)
	add(rev6 + " 30 IN PTR " + externalPTR6Tgt)
	return z
}

// startUpstream listens on one free loopback port for both UDP and TCP.
func startUpstream() (*upstream, error) {
	u := &upstream{seen: map[string]int{}}
	zone := upstreamZone()
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { u.serve(zone, w, r) })

	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("upstream: listen udp: %w", err)
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			pc.Close()
			lastErr = err
			continue
		}
		u.addr = fmt.Sprintf("127.0.0.1:%d", port)
		udpStarted, tcpStarted := make(chan struct{}), make(chan struct{})
		u.udp = &dns.Server{PacketConn: pc, Handler: handler, NotifyStartedFunc: func() { close(udpStarted) }}
		u.tcp = &dns.Server{Listener: l, Handler: handler, NotifyStartedFunc: func() { close(tcpStarted) }}
		go u.udp.ActivateAndServe()
		go u.tcp.ActivateAndServe()
		for _, ch := range []chan struct{}{udpStarted, tcpStarted} {
			select {
			case <-ch:
			case <-time.After(10 * time.Second):
				u.stop()
				return nil, fmt.Errorf("upstream: server on %s did not start", u.addr)
			}
		}
		return u, nil
	}
	return nil, fmt.Errorf("upstream: no port free for both UDP and TCP: %w", lastErr)
}

func (u *upstream) serve(zone map[string][]dns.RR, w dns.ResponseWriter, r *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := r.Question[0]
	name := strings.ToLower(q.Name)
	u.mu.Lock()
	u.seen[name]++
	u.mu.Unlock()

	rrs, exists := zone[name]
	for _, rr := range rrs {
		if rr.Header().Rrtype == q.Qtype || q.Qtype == dns.TypeANY {
			rr = dns.Copy(rr)
			rr.Header().Name = q.Name
			m.Answer = append(m.Answer, rr)
		}
	}
	if len(m.Answer) == 0 {
		if !exists {
			m.Rcode = dns.RcodeNameError
		}
		m.Ns = []dns.RR{&dns.SOA{
			Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 30},
			Ns:  upstreamSOAMname, Mbox: "hostmaster.upstream.test.", Serial: 1,
			Refresh: 3600, Retry: 600, Expire: 86400, Minttl: 30,
		}}
	}
	w.WriteMsg(m)
}

// asked reports how often the upstream was asked name (any case).
func (u *upstream) asked(name string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.seen[strings.ToLower(dns.Fqdn(name))]
}

func (u *upstream) stop() {
	for _, s := range []*dns.Server{u.udp, u.tcp} {
		if s != nil {
			_ = s.Shutdown()
		}
	}
}
