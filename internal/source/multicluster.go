package source

import (
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	mcs "sigs.k8s.io/mcs-api/pkg/apis/v1alpha1"

	"github.com/clusterdns/clusterdns/internal/model"
)

// ConvertServiceImport returns the slim form of a multicluster.x-k8s.io/v1alpha1 ServiceImport.
// The IPs of a Headless import are ignored (the MCS API: "Ignored when type is Headless").
func ConvertServiceImport(si *mcs.ServiceImport) *model.ServiceImport {
	if si == nil {
		return nil
	}
	out := &model.ServiceImport{Namespace: Intern(si.Namespace), Name: si.Name, Headless: si.Spec.Type == mcs.Headless}
	for _, p := range si.Spec.Ports {
		if mp, ok := convertPort(p.Name, string(p.Protocol), p.Port); ok {
			out.Ports = append(out.Ports, mp)
		}
	}
	out.Ports = internPorts(out.Ports)
	if out.Headless {
		return out
	}
	for _, s := range si.Spec.IPs {
		if a, ok := parseAddr(s); ok {
			out.IPs = append(out.IPs, a)
		}
	}
	return out
}

// ConvertImportedSlice returns the slim form of an EndpointSlice that an MCS controller wrote for an
// imported service, or nil for one without the multicluster.kubernetes.io/service-name label. Its
// endpoints are kept as ConvertEndpointSlice keeps them (ready ones only).
func ConvertImportedSlice(es *discoveryv1.EndpointSlice, podNames bool) *model.ImportedSlice {
	if es == nil || es.Labels[mcs.LabelServiceName] == "" {
		return nil
	}
	// Convert as if the slice named its service the usual way; only the label differs.
	relabelled := *es
	relabelled.Labels = map[string]string{serviceNameLabel: es.Labels[mcs.LabelServiceName]}
	sl := ConvertEndpointSlice(&relabelled, podNames)
	if sl == nil {
		return nil
	}
	return &model.ImportedSlice{EndpointSlice: *sl, Cluster: es.Labels[mcs.LabelSourceCluster]}
}

// importedSelector selects the EndpointSlices an MCS controller writes for imported services,
// among those the labels option serves (sel, nil for all), as the kubernetes plugin lists them.
func importedSelector(sel labels.Selector) string {
	if sel == nil {
		sel = labels.NewSelector()
	}
	req, err := labels.NewRequirement(mcs.LabelServiceName, selection.Exists, nil)
	if err != nil {
		return sel.String() // cannot happen: the label is a constant, valid key
	}
	return sel.Add(*req).String()
}
