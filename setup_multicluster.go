package clusterdns

import (
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// validateMulticluster checks the multicluster zones: each must be one of the zones the plugin
// serves (as the kubernetes plugin requires: it answers them with authority), a forward zone,
// and not the only forward zone, which the cluster's own names need. ServiceImports come from the
// API server only: manifest files do not hold them.
func (cfg *config) validateMulticluster() error {
	if len(cfg.multicluster) == 0 {
		return nil
	}
	if len(cfg.manifests) > 0 {
		return cfg.errAt("multicluster", "multicluster reads ServiceImports from the API server, not from manifests")
	}
	zones := make([]string, len(cfg.zones))
	for i, z := range cfg.zones {
		zones[i] = strings.ToLower(z)
	}
	for _, z := range cfg.multicluster {
		if !slices.Contains(zones, z) {
			return cfg.errAt("multicluster", "multicluster zone %s is not among the zones served (%s): add it to them", z, strings.Join(zones, " "))
		}
		if dns.IsSubDomain("arpa.", z) {
			return cfg.errAt("multicluster", "multicluster zone %s is a reverse zone", z)
		}
	}
	return nil
}

// isMulticluster tells whether zone (lower case, fully qualified) is a clusterset zone.
func (cfg *config) isMulticluster(zone string) bool { return slices.Contains(cfg.multicluster, zone) }
