package corednstest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one running CoreDNS (or a command that execs it, such as taskset).
type Process struct {
	Name    string
	LogPath string // its stdout and stderr

	cmd      *exec.Cmd
	exited   chan struct{}
	err      error // Wait's result, valid once exited is closed
	stopOnce sync.Once
}

// Start runs argv in dir, logging to dir/coredns.log, in its own process group and killed if the
// calling program dies first.
func Start(name, dir string, argv ...string) (*Process, error) {
	p := &Process{Name: name, LogPath: filepath.Join(dir, "coredns.log"), exited: make(chan struct{})}
	logFile, err := os.OpenFile(p.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(argv[0], argv[1:]...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		logFile.Close()
		close(p.exited)
	}()
	return p, nil
}

// PID is the process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited returns an error if the process has already exited.
func (p *Process) Exited() error {
	select {
	case <-p.exited:
		return fmt.Errorf("CoreDNS %s (pid %d) exited: %v", p.Name, p.PID(), p.err)
	default:
		return nil
	}
}

// Stop sends SIGTERM to the process by PID, then SIGKILL after grace, and waits for it to be
// reaped. It is idempotent and returns an error if SIGKILL was needed.
func (p *Process) Stop(grace time.Duration) error {
	var err error
	p.stopOnce.Do(func() {
		if p.Exited() != nil {
			return
		}
		_ = syscall.Kill(p.PID(), syscall.SIGTERM)
		select {
		case <-p.exited:
			return
		case <-time.After(grace):
		}
		err = fmt.Errorf("CoreDNS %s (pid %d) still running %s after SIGTERM; killed", p.Name, p.PID(), grace)
		_ = syscall.Kill(p.PID(), syscall.SIGKILL)
		<-p.exited
	})
	return err
}

// LogTail returns at most the last max bytes of the log, from a line start.
func (p *Process) LogTail(max int) string {
	data, err := os.ReadFile(p.LogPath)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", p.LogPath, err)
	}
	if len(data) > max {
		data = data[len(data)-max:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return string(data)
}

// WaitReady polls the ready plugin's url until it answers 200, the process exits, or ctx ends.
func (p *Process) WaitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	var last string
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status + ": " + strings.TrimSpace(string(body))
		} else {
			last = err.Error()
		}
		if err := p.Exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CoreDNS %s not ready at %s: %w (last: %s)", p.Name, url, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
