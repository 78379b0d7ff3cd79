// Package plugin_test checks where plugin/place.sh puts clusterdns in CoreDNS's plugin.cfg, whose
// order is the order of the chain every query runs through.
package plugin_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The plugins whose place relative to clusterdns changes what operators get.
var (
	// ahead in both places: loadbalance keeps round-robin, rewrite and autopath see every query.
	aheadInBoth = []string{"loadbalance", "rewrite", "autopath", "acl"}
	// behind in the early place only: their rules no longer apply to cluster names, and zone
	// transfers are handed on to transfer (handler.go).
	behindEarly = []string{"cache", "template", "transfer", "hosts"}
)

func TestPlace(t *testing.T) {
	cfg := corednsPluginCfg(t)
	for _, tc := range []struct{ place, next string }{{"default", "kubernetes"}, {"early", "cache"}} {
		t.Run(tc.place, func(t *testing.T) {
			order := names(t, place(t, tc.place, cfg))
			checkOrder(t, order, tc.next)
			if tc.place == "early" {
				for _, p := range behindEarly {
					if slices.Index(order, p) < slices.Index(order, "clusterdns") {
						t.Errorf("%s comes before clusterdns in the early place", p)
					}
				}
			}
			// Placing again, or from the other place, moves the line instead of adding one.
			for _, from := range []string{"default", "early"} {
				again := names(t, place(t, tc.place, place(t, from, cfg)))
				if !slices.Equal(again, order) {
					t.Errorf("placed after %s: %v, want %v", from, again, order)
				}
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		cmd := exec.Command("bash", "place.sh", "late")
		cmd.Stdin = bytes.NewReader(cfg)
		if err := cmd.Run(); err == nil {
			t.Error("place.sh late succeeded")
		}
	})
}

// TestBuiltPlace checks the directive lists that go generate wrote in the source copies of
// plugin/build.sh, when they have been built: what is compiled in, not only what was asked for.
func TestBuiltPlace(t *testing.T) {
	for _, tc := range []struct{ dir, next string }{{"coredns-src", "kubernetes"}, {"coredns-src-early", "cache"}} {
		t.Run(tc.dir, func(t *testing.T) {
			path := filepath.Join("..", "build", tc.dir, "core", "dnsserver", "zdirectives.go")
			src, err := os.ReadFile(path)
			if os.IsNotExist(err) {
				t.Skipf("%s is not built", tc.dir)
			}
			if err != nil {
				t.Fatal(err)
			}
			var order []string
			for _, l := range strings.Split(string(src), "\n") {
				l = strings.TrimSpace(l)
				if strings.HasPrefix(l, `"`) && strings.HasSuffix(l, `",`) {
					order = append(order, strings.Trim(l, `",`))
				}
			}
			checkOrder(t, order, tc.next)
		})
	}
}

// checkOrder checks that clusterdns comes right before next and after every plugin of aheadInBoth.
func checkOrder(t *testing.T, order []string, next string) {
	t.Helper()
	at := slices.Index(order, "clusterdns")
	if at < 0 || at+1 >= len(order) || order[at+1] != next {
		t.Fatalf("clusterdns is not right before %s: %v", next, order)
	}
	for _, p := range aheadInBoth {
		if i := slices.Index(order, p); i < 0 || i > at {
			t.Errorf("%s is not before clusterdns: %v", p, order)
		}
	}
}

// corednsPluginCfg is the plugin.cfg of the CoreDNS version in go.mod, from the module cache.
func corednsPluginCfg(t *testing.T) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/coredns/coredns").Output()
	if err != nil {
		t.Fatalf("go list github.com/coredns/coredns: %v", err)
	}
	cfg, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(dir)), "plugin.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// place runs place.sh on a plugin.cfg.
func place(t *testing.T, where string, cfg []byte) []byte {
	t.Helper()
	cmd := exec.Command("bash", "place.sh", where)
	cmd.Stdin = bytes.NewReader(cfg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("place.sh %s: %v\n%s", where, err, stderr.String())
	}
	return out
}

// names lists the plugins of a plugin.cfg in order.
func names(t *testing.T, cfg []byte) []string {
	t.Helper()
	var out []string
	s := bufio.NewScanner(bytes.NewReader(cfg))
	for s.Scan() {
		l := strings.TrimSpace(s.Text())
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		name, _, _ := strings.Cut(l, ":")
		out = append(out, name)
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
