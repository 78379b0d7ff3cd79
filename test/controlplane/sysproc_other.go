//go:build unix && !linux

package controlplane

import "syscall"

// sysProcAttr puts each component in its own process group, so it can be
// signalled as a group.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
