package corednstest

import (
	"errors"
	"net"
	"strconv"
)

// FreeUDPTCPPort finds a loopback port free for both UDP and TCP a moment ago. Another process
// could take it before CoreDNS binds it; CoreDNS then fails with its bind error in its log.
func FreeUDPTCPPort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err != nil {
			continue
		}
		pc.Close()
		return port, nil
	}
	return 0, errors.New("no loopback port free for both UDP and TCP after 20 tries")
}

// FreeTCPPorts returns n distinct loopback TCP ports, all held open together while chosen.
func FreeTCPPorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
