package clusterdns

import (
	"context"
	"sync"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/transfer"
)

// notifyDelay gathers the serial changes of a burst (a rollout moves many EndpointSlices within a
// second) into one NOTIFY per zone: each NOTIFY makes every secondary transfer the whole zone.
const notifyDelay = time.Second

// notifier sends NOTIFY (RFC 1996) for the zones whose serial moved, through the transfer plugin,
// to its `to` addresses.
type notifier struct {
	send func(zone string) error

	mu      sync.Mutex
	pending map[string]bool
	kick    chan struct{}
}

func newNotifier(send func(zone string) error) *notifier {
	return &notifier{send: send, pending: map[string]bool{}, kick: make(chan struct{}, 1)}
}

// findTransfer finds the server block's transfer plugin, if any, and has the store's serial
// changes notified through it (OnStartup: the plugin chain is built only after setup).
func (cd *ClusterDNS) findTransfer(c *caddy.Controller) {
	t, ok := dnsserver.GetConfig(c).Handler("transfer").(*transfer.Transfer)
	if !ok {
		return
	}
	cd.notify = newNotifier(t.Notify)
	cd.store.mu.Lock()
	cd.store.onSerial = cd.notify.mark
	cd.store.mu.Unlock()
}

// mark asks for a NOTIFY of zone; it never waits (the store calls it under its lock).
func (n *notifier) mark(zone string) {
	n.mu.Lock()
	n.pending[zone] = true
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default: // kicked already
	}
}

// start sends the NOTIFYs asked for until ctx is done; nothing without a transfer plugin.
func (n *notifier) start(ctx context.Context) {
	if n == nil {
		return
	}
	go n.run(ctx)
}

func (n *notifier) run(ctx context.Context) {
	delay := time.NewTimer(0)
	<-delay.C
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.kick:
		}
		delay.Reset(notifyDelay)
		select {
		case <-ctx.Done():
			delay.Stop()
			return
		case <-delay.C:
		}
		n.mu.Lock()
		zones := n.pending
		n.pending = map[string]bool{}
		n.mu.Unlock()
		for zone := range zones {
			if err := n.send(zone); err != nil {
				// The secondaries still poll at the SOA's REFRESH (RFC 1996 2).
				log.Warningf("NOTIFY of %s: %v", zone, err)
			}
		}
	}
}
