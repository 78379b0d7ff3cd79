package source

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/clusterdns/clusterdns/internal/model"
)

// skipMirrorLabel on a v1 Endpoints object tells the mirroring controller to leave it alone.
const skipMirrorLabel = discoveryv1.LabelSkipMirror // "endpointslice.kubernetes.io/skip-mirror"

// MirrorEndpoints converts a legacy v1 Endpoints object into EndpointSlices the way the
// EndpointSlice mirroring controller does: one slice per subset and address family (IPv4 first),
// named "<endpoints-name>-<n>" (n from 1), owned by the service of the same name. Subset
// "addresses" are ready, "notReadyAddresses" are not; hostname and a Pod targetRef are kept; the
// ports are the subset's. Unparseable addresses are dropped. Objects labelled
// endpointslice.kubernetes.io/skip-mirror=true give nothing.
func MirrorEndpoints(ep *corev1.Endpoints, podNames bool) []*model.EndpointSlice {
	if ep == nil || ep.Labels[skipMirrorLabel] == "true" {
		return nil
	}
	var out []*model.EndpointSlice
	for _, ss := range ep.Subsets {
		var ports []model.Port
		for _, p := range ss.Ports {
			if mp, ok := convertPort(p.Name, string(p.Protocol), p.Port); ok {
				ports = append(ports, mp)
			}
		}
		ports = internPorts(ports)
		var v4, v6 []model.Endpoint
		seen := map[string]bool{}
		for _, a := range ss.Addresses { // notReadyAddresses are never named
			ip, ok := parseAddr(a.IP)
			if !ok || seen[ip.String()] {
				continue
			}
			seen[ip.String()] = true
			e := model.Endpoint{Addr: ip, Name: a.Hostname}
			if e.Name == "" && podNames && a.TargetRef != nil && a.TargetRef.Kind == "Pod" {
				e.Name = a.TargetRef.Name
			}
			if ip.Is4() {
				v4 = append(v4, e)
			} else {
				v6 = append(v6, e)
			}
		}
		for _, eps := range [][]model.Endpoint{v4, v6} {
			if len(eps) == 0 {
				continue
			}
			out = append(out, &model.EndpointSlice{
				Namespace: ep.Namespace,
				Name:      ep.Name + "-" + strconv.Itoa(len(out)+1),
				Service:   ep.Name,
				Ports:     ports,
				Endpoints: model.NewEndpoints(eps),
			})
		}
	}
	return out
}
