package main

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clusterdns/clusterdns/bench/internal/cluster"
	"github.com/miekg/dns"
)

// unreachableAPI is an API server address where nothing listens: every request is refused at once.
const unreachableAPI = "http://127.0.0.1:1"

// warmStart is clusterdns starting from its snapshot file while the API server cannot be reached
// (the kubernetes plugin has no such start: it answers nothing until it has listed).
type warmStart struct {
	FileBytes   int64
	FirstAnswer time.Duration // from the process start to the first answer from the snapshot
	Ready       time.Duration // from the process start to /ready: after startup_timeout
}

// warmStartTimeout is the startup_timeout of the warm start: how long it waits for the API server
// before it is ready with the snapshot's data; its names are answered before.
const warmStartTimeout = time.Second

// measureWarmStart runs clusterdns with `snapshot` against the control plane until it has written
// the file, stops it, then starts it again with the file and an API server that refuses every
// connection, and times its first answer for the last ClusterIP service of the fixture.
func measureWarmStart(ctx context.Context, bin, dir, kubeconfig string, f *cluster.Fixture, log io.Writer) (*warmStart, error) {
	path := filepath.Join(dir, "clusterdns.snap")
	conf := func(api string) func(int, [4]int) string {
		return func(dnsPort int, ports [4]int) string {
			var b strings.Builder
			fmt.Fprintf(&b, ".:%d {\n    bind 127.0.0.1\n    ready 127.0.0.1:%d\n", dnsPort, ports[0])
			b.WriteString("    clusterdns cluster.local in-addr.arpa ip6.arpa {\n")
			b.WriteString("        " + api + "\n")
			fmt.Fprintf(&b, "        pods insecure\n        ttl 30\n        snapshot %s\n        startup_timeout %s\n", path, warmStartTimeout)
			b.WriteString("        fallthrough in-addr.arpa ip6.arpa\n    }\n}\n")
			return b.String()
		}
	}
	writer, err := startWith(bin, dir, "snapshot-writer", conf("kubeconfig "+kubeconfig))
	if err != nil {
		return nil, err
	}
	fi, err := waitSnapshot(ctx, writer, path)
	writer.stop()
	if err != nil {
		return nil, err
	}

	var last cluster.Service
	for _, s := range f.Services {
		if !s.Headless {
			last = s
		}
	}
	ip, err := netip.ParseAddr(last.ClusterIPs[0])
	if err != nil {
		return nil, fmt.Errorf("cluster IP of %s: %w", last.Name, err)
	}
	s, err := startWith(bin, dir, "warm-start", conf("endpoint "+unreachableAPI))
	if err != nil {
		return nil, err
	}
	defer s.stop()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	at, err := waitAnswer(wctx, s.addr(), last.FQDN(zone), dns.TypeA, hasA(ip))
	if err != nil {
		return nil, fmt.Errorf("warm start (log %s): %w", s.LogPath, err)
	}
	ready, err := s.waitReady(ctx, time.Minute)
	if err != nil {
		return nil, err
	}
	w := &warmStart{FileBytes: fi.Size(), FirstAnswer: at.Sub(s.startedAt), Ready: ready}
	fmt.Fprintf(log, "warm start: a %d-byte snapshot, first answer %s after start, ready %s after\n", w.FileBytes, w.FirstAnswer.Round(time.Millisecond), w.Ready.Round(time.Millisecond))
	return w, nil
}

// waitSnapshot waits until s is ready and has written the snapshot at path (once synced, at once).
func waitSnapshot(ctx context.Context, s *server, path string) (os.FileInfo, error) {
	if _, err := s.waitReady(ctx, 10*time.Minute); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if fi, err := os.Stat(path); err == nil {
			return fi, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no snapshot at %s a minute after ready (log %s)", path, s.LogPath)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
