package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// zonalNamespace holds the services of TestZonalMatchesTheKubernetesPlugin.
const zonalNamespace = "e2e-zonal"

// zonalEndpoint is one endpoint of a hand-written EndpointSlice: a service without a selector
// keeps the slices a test writes, zones included, as an MCS or mesh controller writes them.
type zonalEndpoint struct {
	ip       string
	hostname string
	zone     string
	notReady bool
}

func zonalSlice(name, svc string, family discoveryv1.AddressType, eps []zonalEndpoint) *discoveryv1.EndpointSlice {
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: zonalNamespace, Name: name, Labels: map[string]string{
			discoveryv1.LabelServiceName: svc, discoveryv1.LabelManagedBy: "e2e",
		}},
		AddressType: family,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("sql"), Port: ptr.To[int32](5432), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, e := range eps {
		ep := discoveryv1.Endpoint{Addresses: []string{e.ip}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(!e.notReady)}}
		if e.hostname != "" {
			ep.Hostname = ptr.To(e.hostname)
		}
		if e.zone != "" {
			ep.Zone = ptr.To(e.zone)
		}
		sl.Endpoints = append(sl.Endpoints, ep)
	}
	return sl
}

// createZonalObjects creates a dual-stack headless service whose endpoints sit in several zones,
// one dotted and one written in upper case, a headless service without endpoints, a ClusterIP
// service whose endpoint has a zone, and an ExternalName service.
func createZonalObjects(ctx context.Context, t *testing.T, s *suite) {
	t.Helper()
	if err := createNamespace(ctx, s.cp, zonalNamespace); err != nil {
		t.Fatal(err)
	}
	sqlPort := []corev1.ServicePort{{Name: "sql", Port: 5432, Protocol: corev1.ProtocolTCP}}
	services := []*corev1.Service{
		service(zonalNamespace, "db", corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: sqlPort}),
		service(zonalNamespace, "drained", corev1.ServiceSpec{ClusterIP: corev1.ClusterIPNone, Ports: sqlPort}),
		service(zonalNamespace, "api", corev1.ServiceSpec{Ports: sqlPort}),
		service(zonalNamespace, "ext", externalNameSpec("db.example.net")),
	}
	for _, svc := range services {
		if _, err := s.cp.Client.CoreV1().Services(zonalNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	slices := []*discoveryv1.EndpointSlice{
		zonalSlice("db-v4", "db", discoveryv1.AddressTypeIPv4, []zonalEndpoint{
			{ip: "10.246.0.1", hostname: "db-0", zone: "us-east-1a"},
			{ip: "10.246.0.2", zone: "US-East-1B"},
			{ip: "10.246.0.3", zone: "us-east-1.a"},
			{ip: "10.246.0.4"},
			{ip: "10.246.0.5", zone: "us-east-1a", notReady: true},
		}),
		zonalSlice("db-v6", "db", discoveryv1.AddressTypeIPv6, []zonalEndpoint{
			{ip: "fd00:246::1", zone: "us-east-1a"},
			{ip: "fd00:246::2", zone: "eu"},
		}),
		zonalSlice("api-v4", "api", discoveryv1.AddressTypeIPv4, []zonalEndpoint{{ip: "10.246.1.1", zone: "us-east-1a"}}),
	}
	for _, sl := range slices {
		if _, err := s.cp.Client.DiscoveryV1().EndpointSlices(zonalNamespace).Create(ctx, sl, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// zonalQuestions are every zonal name shape, asked for A, AAAA and SRV, and the names around them.
func zonalQuestions() []question {
	svc := func(name string) string { return name + "." + zonalNamespace + ".svc." + zone }
	db := "._zone." + svc("db")
	var qs []question
	for _, dir := range []string{"pin", "prefer"} {
		for _, z := range []string{"us-east-1a", "us-east-1b", "US-EAST-1B", "us-east-1.a", "a", "eu", "nowhere"} {
			for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV} {
				qs = append(qs, question{z + "." + dir + db, t})
			}
		}
	}
	web := "._zone." + svc("web")
	for _, dir := range []string{"pin", "prefer"} {
		for _, z := range []string{"us-west-2a", "us-west-2.b", "eu-west-1", "EU-WEST-1", "b", "nowhere"} {
			for _, t := range []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV} {
				qs = append(qs, question{z + "." + dir + web, t})
			}
		}
	}
	return append(qs,
		question{"_zone." + svc("web"), dns.TypeAAAA},
		question{"us-east-1a.pin" + db, dns.TypeTXT},
		question{"us-east-1a.prefer" + db, dns.TypeMX},
		question{"_sql._tcp.us-east-1a.pin" + db, dns.TypeSRV},
		question{"us-east-1a.nearest" + db, dns.TypeA},
		question{"us-east-1a.pin.zone." + svc("db"), dns.TypeA},
		question{"_zone." + svc("db"), dns.TypeA},
		question{"pin._zone." + svc("db"), dns.TypeA},
		question{"prefer._zone." + svc("db"), dns.TypeSRV},
		question{"us-east-1a.pin._zone." + svc("drained"), dns.TypeA},
		question{"nowhere.prefer._zone." + svc("drained"), dns.TypeA},
		question{"pin._zone." + svc("drained"), dns.TypeA},
		question{"us-east-1a.pin._zone." + svc("api"), dns.TypeA},
		question{"us-east-1a.prefer._zone." + svc("api"), dns.TypeSRV},
		question{"_zone." + svc("api"), dns.TypeA},
		question{"us-east-1a.pin._zone." + svc("ext"), dns.TypeA},
		question{"us-east-1a.pin._zone." + svc("nosuch"), dns.TypeA},
		question{"us-east-1a.pin._zone.db.nosuch.svc." + zone, dns.TypeA},
		question{svc("db"), dns.TypeA},
		question{svc("db"), dns.TypeSRV},
		question{"db-0." + svc("db"), dns.TypeA},
	)
}

// TestZonalMatchesTheKubernetesPlugin asks clusterdns and the kubernetes plugin, both with zonal,
// every zonal name shape over UDP and TCP: of endpoints whose zones a test wrote (db) and of
// endpoints whose zones the EndpointSlice controller copied from their nodes (web).
func TestZonalMatchesTheKubernetesPlugin(t *testing.T) {
	s := needLive(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	createZonalObjects(ctx, t, s)
	createZonalNodes(ctx, t, s)

	o := s.corefileOptions()
	o.stanza = []string{"zonal"}
	ours := s.startExtraCoreDNS(t, "zonal", o)
	ref := s.reference(t, "zonal-reference", o)
	// Both have every endpoint, and the zones the controller copied from the nodes.
	probe := "us-east-1a.pin._zone.db." + zonalNamespace + ".svc." + zone
	dotted := "us-west-2.b.pin._zone.web." + zonalNamespace + ".svc." + zone
	all := "nowhere.prefer._zone.web." + zonalNamespace + ".svc." + zone
	var every []string
	for i := 1; i <= 5; i++ {
		every = append(every, aKey(all, netip.MustParseAddr(fmt.Sprintf("10.246.2.%d", i))))
	}
	for _, c := range []*coreDNS{ours, ref} {
		if err := c.waitReady(ctx); err != nil {
			t.Fatal(err)
		}
		for _, w := range []struct {
			name string
			want expect
		}{
			{probe, answers(aKey(probe, netip.MustParseAddr("10.246.0.1")))},
			{dotted, answers(aKey(dotted, netip.MustParseAddr("10.246.2.3")))},
			{all, answers(every...)},
		} {
			if _, err := c.awaitAnswer(ctx, time.Now(), w.name, dns.TypeA, w.want, propagationDeadline); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
	}

	svc := func(name string) string { return name + "." + zonalNamespace + ".svc." + zone }
	rfc8020 := "an empty non-terminal above zonal names is NODATA (RFC 8020), not NXDOMAIN"
	noService := "a headless service without ready endpoints does not exist (spec 2.5.1): nothing below it can exist (RFC 8020)"
	compareWithReference(t, ours, ref, zonalQuestions(), map[question]string{
		{"_zone." + svc("db"), dns.TypeA}:                     rfc8020,
		{"_zone." + svc("web"), dns.TypeAAAA}:                 rfc8020,
		{"pin._zone." + svc("db"), dns.TypeA}:                 rfc8020,
		{"prefer._zone." + svc("db"), dns.TypeSRV}:            rfc8020,
		{"us-east-1a.pin._zone." + svc("drained"), dns.TypeA}: noService,
		{"nowhere.prefer._zone." + svc("drained"), dns.TypeA}: noService,
	})
}
