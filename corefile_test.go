package clusterdns

import (
	"os"
	"slices"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"
)

// TestCorefileExamples parses the Corefiles the README shows: every directive is one CoreDNS knows
// (with clusterdns) and the clusterdns stanza is accepted by the plugin's own parser.
func TestCorefileExamples(t *testing.T) {
	directives := append(slices.Clone(dnsserver.Directives), pluginName)
	for _, file := range []string{"Corefile.example", "examples/Corefile.demo"} {
		t.Run(file, func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			blocks, err := caddyfile.Parse(file, f, directives)
			if err != nil {
				t.Fatal(err)
			}
			var stanzas int
			for _, b := range blocks {
				tokens, ok := b.Tokens[pluginName]
				if !ok {
					continue
				}
				stanzas++
				c := caddy.NewTestController("dns", "")
				c.Dispenser = caddyfile.NewDispenserTokens(file, tokens)
				if _, err := parse(c); err != nil {
					t.Errorf("clusterdns stanza: %v", err)
				}
			}
			if stanzas != 1 {
				t.Errorf("%d clusterdns stanzas, want 1", stanzas)
			}
		})
	}
}
