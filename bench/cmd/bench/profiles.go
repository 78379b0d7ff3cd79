package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// profile is the top of one pprof profile, for the report.
type profile struct {
	Title string
	Path  string
	Top   string
}

// heapProfile saves s's heap profile (after a GC) and its top by bytes in use.
func heapProfile(ctx context.Context, s *server, dir, tag string) (profile, error) {
	path := filepath.Join(dir, fmt.Sprintf("heap-%s-%s.pb.gz", s.name, tag))
	if err := saveProfile(ctx, s, "/heap?gc=1", path); err != nil {
		return profile{}, err
	}
	top, err := pprofTop(path, "-sample_index=inuse_space")
	return profile{Title: s.name + " heap in use after sync", Path: path, Top: top}, err
}

// cpuProfile runs dnsperf at full speed against s for d while profiling s's CPU.
func cpuProfile(ctx context.Context, s *server, queries string, d time.Duration, dir, tag string) (profile, error) {
	path := filepath.Join(dir, fmt.Sprintf("cpu-%s-%s.pb.gz", s.name, tag))
	done := make(chan error, 1)
	go func() {
		_, err := runDNSPerf(ctx, s.port, queries, d, 0)
		done <- err
	}()
	secs := max(int(d.Seconds())-2, 1)
	time.Sleep(time.Second)
	err := saveProfile(ctx, s, fmt.Sprintf("/profile?seconds=%d", secs), path)
	if perr := <-done; perr != nil {
		return profile{}, perr
	}
	if err != nil {
		return profile{}, err
	}
	top, err := pprofTop(path)
	return profile{Title: s.name + " CPU at full load", Path: path, Top: top}, err
}

// pprofTop is `go tool pprof -top` of path, without its header lines about the binary.
func pprofTop(path string, args ...string) (string, error) {
	cmdArgs := append([]string{"tool", "pprof", "-top", "-nodecount=15"}, args...)
	out, err := exec.Command("go", append(cmdArgs, path)...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w: %s", path, err, out)
	}
	var keep []string
	for line := range strings.Lines(string(out)) {
		if !strings.HasPrefix(line, "File:") && !strings.HasPrefix(line, "Build ID:") && !strings.HasPrefix(line, "Type:") && !strings.HasPrefix(line, "Time:") {
			keep = append(keep, strings.TrimRight(line, "\n"))
		}
	}
	return strings.Join(keep, "\n"), nil
}

// saveProfile writes the profile at url (relative to the server's pprof root) to path.
func saveProfile(ctx context.Context, s *server, url, path string) error {
	body, err := httpGet(ctx, s.pprofURL+url)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, body, 0o644); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}

func httpGet(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("request %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: %s", url, resp.Status)
	}
	return body, nil
}
