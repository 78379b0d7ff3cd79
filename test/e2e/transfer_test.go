package e2e

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterdns/clusterdns/test/corednstest"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// transferZones are the zones the secondary transfers.
var transferZones = []string{zone, "in-addr.arpa."}

// transferBlock is the transfer plugin's block allowing AXFR and sending NOTIFY to addr.
func transferBlock(addr string) []string {
	return []string{"transfer {", "    to " + addr, "}"}
}

// axfrOf transfers zone from addr over TCP.
func axfrOf(addr, zone string) ([]dns.RR, error) {
	m := new(dns.Msg)
	m.SetAxfr(zone)
	tr := &dns.Transfer{DialTimeout: 5 * time.Second, ReadTimeout: 20 * time.Second}
	env, err := tr.In(m, addr)
	if err != nil {
		return nil, err
	}
	var out []dns.RR
	for e := range env {
		if e.Error != nil {
			return nil, e.Error
		}
		out = append(out, e.RR...)
	}
	return out, nil
}

func serialAt(c *coreDNS, t *testing.T, zone string) uint32 {
	t.Helper()
	r := c.ask(t, "udp", zone, dns.TypeSOA)
	if len(r.Answer) != 1 {
		t.Fatalf("%s SOA: %v", zone, r)
	}
	return r.Answer[0].(*dns.SOA).Serial
}

// knot is a knotd secondary on loopback with its own configuration in a temporary directory.
type knot struct {
	*corednstest.Process
	addr string
}

// startKnot installs knot if missing (test/secondary/install.sh) and starts it as a secondary of
// the zones, transferring from primary and accepting its NOTIFY.
func startKnot(t *testing.T, ctx context.Context, primary string, port int) *knot {
	t.Helper()
	root, err := corednstest.RepoRoot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.CommandContext(ctx, "bash", filepath.Join(root, "test/secondary/install.sh")).CombinedOutput(); err != nil {
		t.Fatalf("test/secondary/install.sh: %v\n%s", err, out)
	}
	dir := t.TempDir()
	host, pport, _ := net.SplitHostPort(primary)
	conf := fmt.Sprintf(`server:
    listen: 127.0.0.1@%d
    rundir: %[2]s
database:
    storage: %[2]s
control:
    listen: %[2]s/knot.sock
log:
  - target: stdout
    any: info
remote:
  - id: primary
    address: %[3]s@%[4]s
acl:
  - id: notify_from_primary
    address: %[3]s
    action: notify
template:
  - id: default
    storage: %[2]s
    master: primary
    acl: notify_from_primary
    zonefile-sync: -1
    zonefile-load: none
    journal-content: none
zone:
`, port, dir, host, pport)
	for _, z := range transferZones {
		conf += "  - domain: " + z + "\n"
	}
	path := filepath.Join(dir, "knot.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	knotd, err := exec.LookPath("knotd")
	if err != nil {
		t.Fatal(err)
	}
	p, err := corednstest.Start("knotd", dir, knotd, "-c", path)
	if err != nil {
		t.Fatal(err)
	}
	k := &knot{Process: p, addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	t.Cleanup(func() {
		if err := k.Stop(10 * time.Second); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("==> knotd log <==\n%s", k.LogTail(corednsLogTail))
		}
	})
	return k
}

// awaitSerial waits until the secondary answers zone's SOA with serial (over NOTIFY: its
// REFRESH is two hours) or ctx ends.
func (k *knot) awaitSerial(ctx context.Context, zone string, serial uint32) error {
	var last string
	for {
		m := new(dns.Msg)
		m.SetQuestion(zone, dns.TypeSOA)
		r, _, err := (&dns.Client{Timeout: 2 * time.Second}).Exchange(m, k.addr)
		switch {
		case err != nil:
			last = err.Error()
		case len(r.Answer) == 1:
			if soa, ok := r.Answer[0].(*dns.SOA); ok && soa.Serial == serial {
				return nil
			}
			last = r.Answer[0].String()
		default:
			last = dns.RcodeToString[r.Rcode]
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("secondary never answered %s SOA serial %d; last: %s", zone, serial, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// sameAnswers asks ours and the secondary every name and type of the zone's transfer and returns
// where they differ.
func sameAnswers(t *testing.T, c *coreDNS, k *knot, rrs []dns.RR) []string {
	t.Helper()
	seen := map[question]bool{}
	var diff []string
	for _, rr := range rrs {
		q := question{rr.Header().Name, rr.Header().Rrtype}
		if seen[q] {
			continue
		}
		seen[q] = true
		ours := c.ask(t, "tcp", q.name, q.qtype)
		m := new(dns.Msg)
		m.SetQuestion(q.name, q.qtype)
		theirs, _, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(m, k.addr)
		if err != nil {
			diff = append(diff, fmt.Sprintf("%s: secondary: %v", q, err))
			continue
		}
		a, b := rrKeys(ours.Answer), rrKeys(theirs.Answer)
		slices.Sort(a)
		slices.Sort(b)
		if ours.Rcode != theirs.Rcode || !slices.Equal(a, b) {
			diff = append(diff, fmt.Sprintf("%s:\n\tclusterdns %s %q\n\tsecondary  %s %q", q, rcodeName(ours.Rcode), a, rcodeName(theirs.Rcode), b))
		}
	}
	return diff
}

// TestTransferToSecondary: knotd transfers cluster.local and in-addr.arpa from the built binary,
// answers every transferred name as clusterdns does, and after a service is created it is told by
// NOTIFY and answers the new name. Two replicas over the API report one serial and one zone.
func TestTransferToSecondary(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	knotPort, err := corednstest.FreeUDPTCPPort()
	if err != nil {
		t.Fatal(err)
	}
	knotAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(knotPort))
	o := s.corefileOptions()
	o.before = transferBlock(knotAddr)
	a := s.startExtraCoreDNS(t, "transfer-a", o)
	b := s.startExtraCoreDNS(t, "transfer-b", o)
	for _, c := range []*coreDNS{a, b} {
		if err := c.waitReady(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.waitServing(ctx, zone, dns.TypeSOA); err != nil {
			t.Fatal(err)
		}
	}
	k := startKnot(t, ctx, a.addr, knotPort)

	replicasAgree := func(t *testing.T) {
		t.Helper()
		for _, z := range transferZones {
			sa, sb := serialAt(a, t, z), serialAt(b, t, z)
			if sa != sb {
				t.Errorf("%s: replica serials %d and %d", z, sa, sb)
			}
			za, err := axfrOf(a.addr, z)
			if err != nil {
				t.Fatal(err)
			}
			zb, err := axfrOf(b.addr, z)
			if err != nil {
				t.Fatal(err)
			}
			ka, kb := rrKeys(za), rrKeys(zb)
			slices.Sort(ka)
			slices.Sort(kb)
			if !slices.Equal(ka, kb) {
				t.Errorf("%s: replica transfers differ (%d and %d records)", z, len(ka), len(kb))
			}
		}
	}
	secondaryAgrees := func(t *testing.T) {
		t.Helper()
		for _, z := range transferZones {
			if err := k.awaitSerial(ctx, z, serialAt(a, t, z)); err != nil {
				t.Fatal(err)
			}
			rrs, err := axfrOf(a.addr, z)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range sameAnswers(t, a, k, rrs) {
				t.Error(d)
			}
			t.Logf("%s: the secondary answers all %d transferred records as clusterdns does", z, len(rrs))
		}
	}

	t.Run("replicas agree", replicasAgree)
	t.Run("the secondary answers as clusterdns", secondaryAgrees)

	const ns = "e2e-transfer"
	if err := createNamespace(ctx, s.cp, ns); err != nil {
		t.Fatal(err)
	}
	name := svcName("transferred", ns)
	before := serialAt(a, t, zone)
	created, err := s.cp.Client.CoreV1().Services(ns).Create(ctx,
		service(ns, "transferred", corev1.ServiceSpec{Ports: httpPort()}), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.awaitAnswer(ctx, time.Now(), name, dns.TypeA, answers(aKey(name, netip.MustParseAddr(created.Spec.ClusterIP))), propagationDeadline); err != nil {
		t.Fatal(err)
	}
	if _, err := b.awaitAnswer(ctx, time.Now(), name, dns.TypeA, answers(aKey(name, netip.MustParseAddr(created.Spec.ClusterIP))), propagationDeadline); err != nil {
		t.Fatal(err)
	}
	t.Run("the serial grows with a new service", func(t *testing.T) {
		if after := serialAt(a, t, zone); after-before == 0 || after-before >= 1<<31 {
			t.Errorf("serial %d after %d: not greater (RFC 1982)", after, before)
		}
	})
	t.Run("replicas agree after a change", replicasAgree)
	t.Run("NOTIFY: the secondary answers the new service", secondaryAgrees)
}

// TestTransferComparedWithReference compares the AXFR of cluster.local and in-addr.arpa with the
// kubernetes plugin's over the same API server; every difference must be one the README documents.
func TestTransferComparedWithReference(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	o := s.corefileOptions()
	o.before = transferBlock("*")
	ours := s.startExtraCoreDNS(t, "transfer-ours", o)
	ref := s.reference(t, "transfer-reference", o)
	for _, c := range []*coreDNS{ours, ref} {
		if err := c.waitReady(ctx); err != nil {
			t.Fatal(err)
		}
		if err := c.waitServing(ctx, zone, dns.TypeSOA); err != nil {
			t.Fatal(err)
		}
	}
	for _, z := range transferZones {
		a, err := axfrOf(ours.addr, z)
		if err != nil {
			t.Fatal(err)
		}
		b, err := axfrOf(ref.addr, z)
		if err != nil {
			t.Fatalf("kubernetes plugin: %v", err)
		}
		onlyOurs, onlyRef := setDiff(a, b)
		t.Logf("%s: clusterdns %d records, kubernetes plugin %d; only clusterdns %d, only the kubernetes plugin %d",
			z, len(a), len(b), len(onlyOurs), len(onlyRef))
		if z != zone {
			// The kubernetes plugin renames forward records into a reverse zone and sends no PTR;
			// every record of ours there is a PTR, the NS or the SOA (TestAXFRReverseZone).
			continue
		}
		for _, k := range onlyOurs {
			// The NS and its addresses, which the kubernetes plugin leaves out when it cannot find
			// its own Service (coredns#2997, #4689), and dns-version, which it never sends.
			if !strings.HasPrefix(k, zone+" NS ") && !strings.HasPrefix(k, "ns.dns."+zone+" ") &&
				!strings.HasPrefix(k, "dns-version."+zone+" TXT ") {
				t.Errorf("only clusterdns transfers %s", k)
			}
		}
		for _, k := range onlyRef {
			// The SRV at a ClusterIP service's own name, built on demand here and not transferred.
			if f := strings.Fields(k); len(f) < 2 || f[1] != "SRV" || strings.HasPrefix(f[0], "_") {
				t.Errorf("only the kubernetes plugin transfers %s", k)
			}
		}
	}
}

// setDiff returns the records (TTL left out) only in a and only in b, SOA records aside.
func setDiff(a, b []dns.RR) (onlyA, onlyB []string) {
	keys := func(rrs []dns.RR) map[string]bool {
		m := map[string]bool{}
		for _, rr := range rrs {
			if rr.Header().Rrtype != dns.TypeSOA {
				m[rrKey(rr)] = true
			}
		}
		return m
	}
	ka, kb := keys(a), keys(b)
	for k := range ka {
		if !kb[k] {
			onlyA = append(onlyA, k)
		}
	}
	for k := range kb {
		if !ka[k] {
			onlyB = append(onlyB, k)
		}
	}
	slices.Sort(onlyA)
	slices.Sort(onlyB)
	return onlyA, onlyB
}
