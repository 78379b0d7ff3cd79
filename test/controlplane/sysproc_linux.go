package controlplane

import "syscall"

// sysProcAttr puts each component in its own process group, so it can be
// signalled as a group, and kills it if the test binary dies first.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
