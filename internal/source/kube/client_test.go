package kube

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestClientAsksForGzipOnlyWithCompression checks what the API server is asked for: a stream
// it need not gzip by default, gzip with apiserver_compression.
func TestClientAsksForGzipOnlyWithCompression(t *testing.T) {
	for _, tc := range []struct {
		name        string
		compression bool
		want        string
	}{
		{"uncompressed by default", false, ""},
		{"gzip with apiserver_compression", true, "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan string, 1)
			api := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select {
				case got <- r.Header.Get("Accept-Encoding"):
				default:
				}
				http.Error(w, "not here", http.StatusNotFound)
			}))
			defer api.Close()
			// Over TLS, as to every API server: client-go sends plain HTTP through Go's default
			// transport, whatever the config says of compression.
			ca := filepath.Join(t.TempDir(), "ca.crt")
			if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: api.Certificate().Raw}), 0o600); err != nil {
				t.Fatal(err)
			}
			client, err := NewClient(ClientConfig{Endpoint: api.URL, TLSCA: ca, Compression: tc.compression})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = client.CoreV1().Services("").List(context.Background(), metav1.ListOptions{})
			if enc := <-got; enc != tc.want {
				t.Errorf("Accept-Encoding %q, want %q", enc, tc.want)
			}
		})
	}
}
