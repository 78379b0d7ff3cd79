package source

import (
	"maps"
	"net/netip"
	"strings"
	"time"
	"unique"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/utils/ptr"

	"github.com/clusterdns/clusterdns/internal/model"
)

// serviceNameLabel names the service an EndpointSlice belongs to.
const serviceNameLabel = discoveryv1.LabelServiceName // "kubernetes.io/service-name"

// ConvertService returns the slim form of a v1 Service.
//
// Headless is spec.clusterIP "None". ClusterIPs come from spec.clusterIPs (spec.clusterIP when that
// is empty), skipping "None", empty and unparseable entries. An ExternalName service has only its
// ExternalName (without trailing dot), never cluster IPs.
func ConvertService(svc *corev1.Service) *model.Service {
	if svc == nil {
		return nil
	}
	out := &model.Service{
		Namespace:   Intern(svc.Namespace),
		Name:        svc.Name,
		HasSelector: len(svc.Spec.Selector) > 0,
		Ports:       convertServicePorts(svc.Spec.Ports),
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		out.ExternalName = strings.TrimSuffix(svc.Spec.ExternalName, ".")
		return out
	}
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	out.Headless = svc.Spec.ClusterIP == corev1.ClusterIPNone ||
		(svc.Spec.ClusterIP == "" && len(ips) > 0 && ips[0] == corev1.ClusterIPNone)
	for _, s := range ips {
		if a, ok := parseAddr(s); ok {
			out.ClusterIPs = append(out.ClusterIPs, a)
		}
	}
	return out
}

func convertServicePorts(ports []corev1.ServicePort) []model.Port {
	var out []model.Port
	for _, p := range ports {
		if mp, ok := convertPort(p.Name, string(p.Protocol), p.Port); ok {
			out = append(out, mp)
		}
	}
	return internPorts(out)
}

// convertPort is one port of any kind of object, refused when its number is not a valid port.
func convertPort(name, proto string, number int32) (model.Port, bool) {
	if number < 1 || number > 65535 {
		return model.Port{}, false
	}
	return model.Port{Name: Intern(name), Protocol: protocol(proto), Port: uint16(number)}, true
}

// ConvertEndpointSlice returns the slim form of a discovery.k8s.io/v1 EndpointSlice, or nil for a
// slice that serves no name: one without the kubernetes.io/service-name label, or of address type
// FQDN.
//
// Only ready endpoints are kept. An endpoint is ready when conditions.ready is true, or when it is
// unset and the endpoint is not terminating (the Kubernetes DNS spec reads unset as ready; a terminating endpoint of a service
// that publishes not-ready addresses has ready=true set by the controller).
func ConvertEndpointSlice(es *discoveryv1.EndpointSlice, podNames bool) *model.EndpointSlice {
	if es == nil || es.AddressType == discoveryv1.AddressTypeFQDN {
		return nil
	}
	svc := es.Labels[serviceNameLabel]
	if svc == "" {
		return nil
	}
	out := &model.EndpointSlice{Namespace: Intern(es.Namespace), Name: es.Name, Service: svc, LastChange: es.CreationTimestamp.Time}
	if t, err := time.Parse(time.RFC3339Nano, es.Annotations[triggerTimeAnnotation]); err == nil {
		out.LastChange = t
	}
	for _, p := range es.Ports {
		if p.Port == nil {
			continue
		}
		if mp, ok := convertPort(ptr.Deref(p.Name, ""), string(ptr.Deref(p.Protocol, "")), *p.Port); ok {
			out.Ports = append(out.Ports, mp)
		}
	}
	out.Ports = internPorts(out.Ports)
	var ready []model.Endpoint
	for _, ep := range es.Endpoints {
		if len(ep.Addresses) == 0 || !endpointReady(ep.Conditions) {
			continue
		}
		a, ok := parseAddr(ep.Addresses[0])
		if !ok {
			continue // nothing to answer with
		}
		me := model.Endpoint{Addr: a, Zone: Intern(strings.ToLower(ptr.Deref(ep.Zone, "")))}
		switch {
		case ep.Hostname != nil:
			me.Name = *ep.Hostname
		case podNames && ep.TargetRef != nil && ep.TargetRef.Kind == "Pod":
			me.Name = ep.TargetRef.Name
		}
		ready = append(ready, me)
	}
	out.Endpoints = model.NewEndpoints(ready)
	return out
}

// triggerTimeAnnotation is set by the EndpointSlice controller to the time of the change (pod or
// service) that the slice's current content reflects (KEP-1249, the DNS programming latency SLI).
const triggerTimeAnnotation = "endpoints.kubernetes.io/last-change-trigger-time"

func endpointReady(c discoveryv1.EndpointConditions) bool {
	if c.Ready != nil {
		return *c.Ready
	}
	return c.Terminating == nil || !*c.Terminating
}

// ConvertPod returns the slim form of a v1 Pod, or nil for a pod that no "pods verified" answer may
// name: one without an IP, on the host network (it shares the node's IP), or finished (phase
// Succeeded or Failed, its IP may already belong to another pod).
func ConvertPod(pod *corev1.Pod) *model.Pod {
	if pod == nil || pod.Spec.HostNetwork {
		return nil
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	out := &model.Pod{Namespace: Intern(pod.Namespace), Name: pod.Name}
	for _, ip := range pod.Status.PodIPs {
		if a, ok := parseAddr(ip.IP); ok {
			out.IPs = append(out.IPs, a)
		}
	}
	if len(pod.Status.PodIPs) == 0 {
		if a, ok := parseAddr(pod.Status.PodIP); ok {
			out.IPs = append(out.IPs, a)
		}
	}
	if len(out.IPs) == 0 {
		return nil
	}
	return out
}

// ConvertPodLabels is ConvertPod keeping the pod's labels named in keys (client_labels), and no
// other: a label map per pod would cost more than the rest of the pod.
func ConvertPodLabels(keys []string) func(*corev1.Pod) *model.Pod {
	return func(pod *corev1.Pod) *model.Pod {
		out := ConvertPod(pod)
		if out == nil || len(keys) == 0 {
			return out
		}
		for _, k := range keys {
			if v, ok := pod.Labels[k]; ok {
				if out.Labels == nil {
					out.Labels = make(map[string]string, len(keys))
				}
				out.Labels[Intern(k)] = Intern(v)
			}
		}
		return out
	}
}

// ConvertNamespace returns the slim form of a v1 Namespace; its labels are copied.
func ConvertNamespace(ns *corev1.Namespace) *model.Namespace {
	if ns == nil {
		return nil
	}
	return &model.Namespace{Name: ns.Name, Labels: maps.Clone(ns.Labels)}
}

// parseAddr parses an IP address, unmapping IPv4-in-IPv6 forms. "None", "" and garbage fail.
func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// protocol lower-cases a Kubernetes protocol, "tcp" when empty; the three the API allows come back
// as constants, not as a new string per port.
func protocol(p string) string {
	switch p {
	case "", "TCP":
		return "tcp"
	case "UDP":
		return "udp"
	case "SCTP":
		return "sctp"
	}
	return strings.ToLower(p)
}

// Intern returns the one copy of a namespace or port name: every object decoded from the API
// carries its own, and a namespace can hold thousands of objects, most with the same few port names.
func Intern(namespace string) string { return unique.Make(namespace).Value() }
