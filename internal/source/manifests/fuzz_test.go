package manifests

import (
	"bytes"
	"os"
	"testing"

	"github.com/clusterdns/clusterdns/internal/source"
)

// FuzzDecodeManifests throws arbitrary files at the decoder: an error or objects, never a panic,
// and every object decoded is one DNS can name.
func FuzzDecodeManifests(f *testing.F) {
	example, err := os.ReadFile("../../../examples/cluster.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{example, []byte(svcA), []byte(sliceA), []byte("---\n"), []byte(`{"apiVersion":"v1","kind":"List","items":[]}`)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := decodeManifests("fuzz.yaml", bytes.NewReader(data), source.Filter{}, true, nil)
		if err != nil {
			return
		}
		for _, s := range objs.services {
			if s.Name == "" && s.Namespace == "" {
				t.Errorf("a service without a name or namespace: %+v", s)
			}
		}
		for _, sl := range objs.slices {
			if sl.Service == "" {
				t.Errorf("slice %s/%s names no service", sl.Namespace, sl.Name)
			}
		}
	})
}
