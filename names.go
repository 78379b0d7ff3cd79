package clusterdns

import (
	"net/netip"
	"strings"

	"github.com/clusterdns/clusterdns/internal/model"

	"github.com/miekg/dns"
)

// The names of records (spec 2.4, 2.5, 2.6; RFC 1035 3.5 and RFC 3596 2.5 for reverse names).

func serviceName(svc *model.Service, zone string) string {
	return svc.Name + "." + svc.Namespace + ".svc." + zone
}

// portName is "_<port>._<proto>.<base>" (spec 2.4.2).
func portName(p model.Port, base string) string {
	return "_" + p.Name + "._" + p.Protocol + "." + base
}

// parseDashed reads a dashed address label: 10-244-1-7 or 2001-db8--1. Leading zeros, zones and
// IPv4-mapped forms are rejected so that one address has one name.
func parseDashed(label string) (netip.Addr, bool) {
	if strings.Count(label, "-") == 3 {
		if ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ".")); err == nil {
			return ip, true
		}
	}
	ip, err := netip.ParseAddr(strings.ReplaceAll(label, "-", ":"))
	return ip, err == nil && ip.Is6() && !ip.Is4In6() && ip.Zone() == ""
}

// endpointName is the endpoint's own name (hostname, or pod name with endpoint_pod_names) when it
// is one DNS label, else "": the endpoint is then named by its dashed address (spec 2.5.1 lets the
// system pick a unique label).
func endpointName(e model.Endpoint) string {
	if len(e.Name) <= 63 && !strings.Contains(e.Name, ".") {
		return e.Name
	}
	return ""
}

// dashed writes an address as one DNS label: 10.244.1.7 -> 10-244-1-7, 2001:db8::1 -> 2001-db8--1.
func dashed(ip netip.Addr) string {
	var buf [64]byte
	return string(appendDashed(buf[:0], ip))
}

// appendDashed appends dashed(ip) to b.
func appendDashed(b []byte, ip netip.Addr) []byte {
	sep := byte('.')
	if ip.Is6() {
		sep = ':'
	}
	start := len(b)
	b = ip.AppendTo(b)
	for i := start; i < len(b); i++ {
		if b[i] == sep {
			b[i] = '-'
		}
	}
	return b
}

// reverseName is the in-addr.arpa or fully expanded ip6.arpa name of ip (RFC 1035 3.5, RFC 3596 2.5).
func reverseName(ip netip.Addr) string {
	name, _ := dns.ReverseAddr(ip.String())
	return name
}
