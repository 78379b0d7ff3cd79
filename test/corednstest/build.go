// Package corednstest builds this repository's CoreDNS through plugin/ and runs it as a process
// on loopback, for the integration and end-to-end tests and the benchmarks.
package corednstest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// RepoRoot is the directory of the main module's go.mod.
func RepoRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the main module")
	}
	return filepath.Dir(gomod), nil
}

// Build runs plugin/build.sh from the repository root (incremental after the first run) and
// returns the binary: build/coredns (build/coredns-early with PLACE=early), or COREDNS_OUT as
// build.sh honours it. COREDNS_BINARY names a prebuilt one instead.
func Build(ctx context.Context, root string) (string, error) {
	if bin := os.Getenv("COREDNS_BINARY"); bin != "" {
		return bin, nil
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "plugin", "build.sh"))
	cmd.Dir = root
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("plugin/build.sh failed after %s: %w\n%s", time.Since(start).Round(time.Second), err, out.String())
	}
	if out := os.Getenv("COREDNS_OUT"); out != "" {
		return out, nil
	}
	if os.Getenv("PLACE") == "early" {
		return filepath.Join(root, "build", "coredns-early"), nil
	}
	return filepath.Join(root, "build", "coredns"), nil
}
