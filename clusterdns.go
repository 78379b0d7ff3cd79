// Package clusterdns is a CoreDNS plugin that serves Kubernetes service discovery (the Kubernetes
// DNS specification, schema 1.1.0) from answers precomputed per name.
package clusterdns

import (
	"context"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/pkg/fall"
	"github.com/coredns/coredns/plugin/pkg/upstream"
)

// podMode is the "pods" option: how "<dashed-ip>.<ns>.pod.<zone>" names are answered.
type podMode int

const (
	podsDisabled podMode = iota // no pod names (NXDOMAIN)
	podsInsecure                // any well-formed address in an existing namespace
	podsVerified                // only addresses of pods in that namespace
)

// ClusterDNS is the plugin.
type ClusterDNS struct {
	Next plugin.Handler

	zones    []string // every zone served, lower case, longest first
	fall     fall.F
	pods     podMode
	upstream *upstream.Upstream
	store    *store

	// source feeds the store; started in OnStartup and stopped in OnShutdown.
	source source
	stop   context.CancelFunc
	// synced is set once the source has delivered a complete data set: until then a name the index
	// does not know is SERVFAIL, never NXDOMAIN (a false NXDOMAIN is cached by clients).
	synced atomic.Bool
}

// source is where the data comes from: manifest files or the Kubernetes API.
type source interface {
	// Start delivers the first complete data set to the store (bounded by ctx), then keeps it up to
	// date until ctx is done. It returns an error only if the first data set cannot be had.
	Start(ctx context.Context, s *store, synced func()) error
}

// Name implements plugin.Handler.
func (c *ClusterDNS) Name() string { return pluginName }

// Ready implements the ready plugin's Readiness: ready once the first complete data set is in.
func (c *ClusterDNS) Ready() bool { return c.synced.Load() }
