package controlplane

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// stopGrace is how long a component gets to exit after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// process is one running control-plane binary, in its own process group,
// writing stdout and stderr to its own log file.
type process struct {
	name    string
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has been reaped
	err     error         // exit status, valid after done is closed
}

// startProcess starts bin with args, appending its output to logPath.
func startProcess(name, bin, logPath string, args []string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open %s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// exitErr reports an error if the process has already exited.
func (p *process) exitErr() error {
	select {
	case <-p.done:
		if p.err == nil {
			return fmt.Errorf("%s (pid %d) exited", p.name, p.cmd.Process.Pid)
		}
		return fmt.Errorf("%s (pid %d) exited: %w", p.name, p.cmd.Process.Pid, p.err)
	default:
		return nil
	}
}

// stop terminates the process group gracefully, escalating to SIGKILL after
// stopGrace, and waits for the process to be reaped. It is idempotent.
func (p *process) stop() error {
	if err := p.signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(stopGrace):
	}
	return p.kill()
}

// kill SIGKILLs the process group, like a crash, and waits for the process
// to be reaped. It is idempotent.
func (p *process) kill() error {
	if err := p.signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.done
	return nil
}

// signal sends sig to the process group by PID unless already reaped.
func (p *process) signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	pgid := p.cmd.Process.Pid
	if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s (pid %d) with %v: %w", p.name, pgid, sig, err)
	}
	return nil
}
