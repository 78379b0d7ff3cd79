#!/usr/bin/env bash
# Installs knotd (Debian's knot), the secondary DNS server that the zone-transfer e2e test
# (test/e2e/transfer_test.go) runs against the built CoreDNS. Needs root and apt when knotd is missing.
set -euo pipefail
if command -v knotd >/dev/null 2>&1 && command -v knotc >/dev/null 2>&1; then
	exit 0
fi
echo "test/secondary/install.sh: installing knot" >&2
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends knot
# The package starts a system knotd on port 53; the test runs its own, on loopback ports.
if command -v systemctl >/dev/null 2>&1; then
	systemctl disable --now knot >/dev/null 2>&1 || true
fi
