package controlplane

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/clusterdns/clusterdns/test/corednstest"
)

// BuildTimeout bounds BinDir from a cold cache: kube-apiserver, kube-controller-manager and etcd
// take several minutes on 2 cores, and longer while other tests compile beside them. Every test
// that needs the binaries waits this long, since the one that builds them may not be the first.
const BuildTimeout = 45 * time.Minute

// BinDir builds the control-plane binaries with test/controlplane/tools/build.sh,
// which caches them outside the checkout (instant once built; several
// minutes cold), and returns the directory holding them. The build's log
// goes to stderr.
func BinDir(ctx context.Context) (string, error) {
	root, err := corednstest.RepoRoot(ctx)
	if err != nil {
		return "", fmt.Errorf("locate main module: %w", err)
	}
	cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "test", "controlplane", "tools", "build.sh"))
	cmd.Stderr = os.Stderr
	// On cancellation, stop the whole build (go and its compilers), letting
	// build.sh remove its temporary directory.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("build control-plane binaries: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := lines[len(lines)-1]
	if dir == "" {
		return "", errors.New("build control-plane binaries: build.sh printed no directory")
	}
	return dir, nil
}
