package clusterdns

import (
	"strconv"

	"github.com/coredns/caddy"
)

// parseTTL reads "ttl SECONDS [NEGATIVE]". NEGATIVE is the TTL and SOA MINIMUM of negative
// answers (RFC 2308 section 5: a negative answer is cached for min(SOA TTL, MINIMUM)); without it,
// the smaller of SECONDS and 5, so that a name that appears (a StatefulSet peer looked up during a
// scale-up) is not cached as NXDOMAIN for as long as a positive answer. NEGATIVE above SECONDS is
// refused: caching the absence of a name longer than its presence has no use in a cluster whose
// names come and go.
func (cfg *config) parseTTL(c *caddy.Controller, args []string) error {
	if len(args) < 1 || len(args) > 2 {
		return arity(c, "ttl", "a number of seconds and an optional negative TTL")
	}
	ttl, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil || ttl > maxTTL {
		return c.Errf("ttl must be a number of seconds from 0 to %d, not %q", maxTTL, args[0])
	}
	cfg.ttl, cfg.negTTL = uint32(ttl), uint32(min(ttl, maxDefaultNegativeTTL))
	if len(args) == 2 {
		neg, err := strconv.ParseUint(args[1], 10, 32)
		if err != nil || neg > ttl {
			return c.Errf("ttl's negative TTL must be a number of seconds from 0 to the ttl, %d, not %q", ttl, args[1])
		}
		cfg.negTTL = uint32(neg)
	}
	return nil
}
