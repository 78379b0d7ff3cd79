package manifests

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/clusterdns/clusterdns/internal/model"
	"github.com/clusterdns/clusterdns/internal/source"
)

// fileObjects is what one manifest file holds, already converted and filtered.
type fileObjects struct {
	services   []*model.Service
	slices     []*model.EndpointSlice
	pods       []*model.Pod
	namespaces []*model.Namespace
	// endpoints are legacy v1 Endpoints, already mirrored; whether they are used is only known
	// once all files are merged.
	endpoints []mirroredEndpoints
}

type mirroredEndpoints struct {
	namespace, service string
	slices             []*model.EndpointSlice
}

// defaultNamespace is given to namespaced objects without metadata.namespace, as kubectl apply does.
const defaultNamespace = metav1.NamespaceDefault

var deserializer = scheme.Codecs.UniversalDeserializer()

// readKinds are the group/kinds DNS reads, with the only version understood for each. Documents of
// any other kind are skipped without being decoded.
var readKinds = map[schema.GroupKind]string{
	{Group: "", Kind: "Service"}:                           "v1",
	{Group: "", Kind: "ServiceList"}:                       "v1",
	{Group: "", Kind: "Pod"}:                               "v1",
	{Group: "", Kind: "PodList"}:                           "v1",
	{Group: "", Kind: "Namespace"}:                         "v1",
	{Group: "", Kind: "NamespaceList"}:                     "v1",
	{Group: "", Kind: "Endpoints"}:                         "v1",
	{Group: "", Kind: "EndpointsList"}:                     "v1",
	{Group: "", Kind: "List"}:                              "v1",
	{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:     "v1",
	{Group: "discovery.k8s.io", Kind: "EndpointSliceList"}: "v1",
}

// decodeManifests reads a stream of YAML documents (separated by "---") or JSON objects. Errors
// name the file and the 1-based document number.
func decodeManifests(name string, r io.Reader, f source.Filter, podNames bool, podLabels []string) (*fileObjects, error) {
	d := &decoder{filter: f, podNames: podNames, podLabels: podLabels, out: &fileObjects{}}
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	for doc := 1; ; doc++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
		if err := d.document(raw); err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
	}
	return d.out, nil
}

type decoder struct {
	filter    source.Filter
	podNames  bool     // endpoint_pod_names
	podLabels []string // client_labels
	out       *fileObjects
}

// document decodes one document (or one item of a List) in JSON form.
func (d *decoder) document(raw []byte) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil // empty document
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		return fmt.Errorf("not a Kubernetes object: %w", err)
	}
	if tm.Kind == "" {
		return errors.New("object has no kind")
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return fmt.Errorf("kind %s: %w", tm.Kind, err)
	}
	want, ok := readKinds[gv.WithKind(tm.Kind).GroupKind()]
	if !ok {
		return nil // a kind DNS does not read
	}
	if tm.APIVersion == "" {
		return fmt.Errorf("kind %s: object has no apiVersion", tm.Kind)
	}
	if gv.Version != want {
		return fmt.Errorf("kind %s: apiVersion %s is not supported, use %s", tm.Kind, tm.APIVersion,
			schema.GroupVersion{Group: gv.Group, Version: want}.String())
	}
	obj, _, err := deserializer.Decode(raw, nil, nil)
	if err != nil {
		return err
	}
	return d.object(obj)
}

func (d *decoder) object(obj runtime.Object) error {
	switch o := obj.(type) {
	case *corev1.Service:
		d.service(o)
	case *discoveryv1.EndpointSlice:
		d.slice(o)
	case *corev1.Pod:
		d.pod(o)
	case *corev1.Namespace:
		d.namespace(o)
	case *corev1.Endpoints:
		d.endpoints(o)
	case *corev1.List:
		for i, item := range o.Items {
			raw := item.Raw
			if raw == nil && item.Object != nil {
				if err := d.object(item.Object); err != nil {
					return fmt.Errorf("item %d: %w", i+1, err)
				}
				continue
			}
			if err := d.document(raw); err != nil {
				return fmt.Errorf("item %d: %w", i+1, err)
			}
		}
	case *corev1.ServiceList:
		each(o.Items, d.service)
	case *discoveryv1.EndpointSliceList:
		each(o.Items, d.slice)
	case *corev1.PodList:
		each(o.Items, d.pod)
	case *corev1.NamespaceList:
		each(o.Items, d.namespace)
	case *corev1.EndpointsList:
		each(o.Items, d.endpoints)
	}
	return nil
}

// each hands every item of a typed list to f, in place.
func each[T any](items []T, f func(*T)) {
	for i := range items {
		f(&items[i])
	}
}

func withNamespace(m *metav1.ObjectMeta) {
	if m.Namespace == "" {
		m.Namespace = defaultNamespace
	}
}

func (d *decoder) service(o *corev1.Service) {
	withNamespace(&o.ObjectMeta)
	appendKept(&d.out.services, source.Kept(d.filter, source.Services, o, source.ConvertService))
}

func (d *decoder) slice(o *discoveryv1.EndpointSlice) {
	withNamespace(&o.ObjectMeta)
	appendKept(&d.out.slices, source.Kept(d.filter, source.EndpointSlices, o, func(es *discoveryv1.EndpointSlice) *model.EndpointSlice {
		return source.ConvertEndpointSlice(es, d.podNames)
	}))
}

func (d *decoder) pod(o *corev1.Pod) {
	withNamespace(&o.ObjectMeta)
	appendKept(&d.out.pods, source.Kept(d.filter, source.Pods, o, source.ConvertPodLabels(d.podLabels)))
}

func (d *decoder) namespace(o *corev1.Namespace) {
	appendKept(&d.out.namespaces, source.Kept(d.filter, source.Namespaces, o, source.ConvertNamespace))
}

// appendKept appends obj to list unless it is nil (left out or serving no name).
func appendKept[T any](list *[]*T, obj *T) {
	if obj != nil {
		*list = append(*list, obj)
	}
}

// endpoints keeps a legacy Endpoints object in mirrored form. The filter sees the labels the
// mirrored slice would carry: the Endpoints' own plus kubernetes.io/service-name.
func (d *decoder) endpoints(o *corev1.Endpoints) {
	withNamespace(&o.ObjectMeta)
	l := make(map[string]string, len(o.Labels)+1)
	for k, v := range o.Labels {
		l[k] = v
	}
	l[discoveryv1.LabelServiceName] = o.Name
	if !d.filter.Keep(source.EndpointSlices, o.Namespace, l) {
		return
	}
	slices := source.MirrorEndpoints(o, d.podNames)
	d.out.endpoints = append(d.out.endpoints, mirroredEndpoints{namespace: o.Namespace, service: o.Name, slices: slices})
}
