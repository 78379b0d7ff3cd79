# clusterdns: build, run and test.
#
#   make coredns   custom CoreDNS with the clusterdns plugin -> build/coredns
#   make coredns PLACE=early   clusterdns before cache instead of kubernetes -> build/coredns-early
#   make run       serve the example cluster on 127.0.0.1:1053
#   make test      go vet, every test with -race, the spec e2e tests built early, a short fuzz run
#   make fuzz-long every fuzz target for FUZZ_LONG_TIME each (not part of make test)

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

GO          ?= go
# Where clusterdns goes in plugin.cfg: default (before kubernetes) or early (before cache).
PLACE       ?= default
COREDNS     := build/coredns
TEST_TIMEOUT ?= 60m
FUZZ_TARGETS ?= FuzzServeDNS
# A count, not a duration: Go 1.26's fuzz coordinator can fail a run that ends on a deadline while
# a worker is busy ("context deadline exceeded", no crasher; golang/go#75804, fixed in Go 1.27),
# which a loaded machine made happen. 20,000 inputs take about 10 to 40 s on 2 cores.
FUZZ_TIME   ?= 20000x
# go minimizes every new interesting input before fuzzing it further, for up to 60s by default, and
# counts those calls only when it is done: on a clean clone (empty fuzz cache) most inputs are new,
# a long name that cannot shrink costs O(n^2) calls at ~0.35 ms each (every dependency is
# instrumented), and both workers minimized to the end of the run while it read "0/sec".
# Rerun with a larger value to minimize a crasher.
FUZZ_MINIMIZE_TIME ?= 1s
# The long run's targets, as package:target: queries, manifest files, snapshot files.
FUZZ_LONG_TARGETS ?= .:FuzzServeDNS .:FuzzMetadataName ./internal/source/manifests:FuzzDecodeManifests ./internal/snapshot:FuzzRead
FUZZ_LONG_TIME ?= 10m
DEMO_PORT   := 1053

.PHONY: all coredns run test vet unit e2e-early fuzz fuzz-long bench

all: coredns

# Always delegated to the script: it is incremental (reuses build/coredns-src,
# only regenerates/tidies when needed) and go build's cache does the rest.
coredns:
	PLACE=$(PLACE) bash plugin/build.sh

run: coredns
	@echo "Serving examples/cluster.yaml on 127.0.0.1:$(DEMO_PORT) (Ctrl-C to stop). Try:"
	@echo "  dig @127.0.0.1 -p $(DEMO_PORT) hostnames.default.svc.cluster.local"
	@echo "  dig @127.0.0.1 -p $(DEMO_PORT) nginx.default.svc.cluster.local"
	@echo "  dig @127.0.0.1 -p $(DEMO_PORT) zookeeper-0.zookeeper-headless.middleware.svc.cluster.local"
	@echo "  dig @127.0.0.1 -p $(DEMO_PORT) _client._tcp.zookeeper-headless.middleware.svc.cluster.local SRV"
	@echo "  dig @127.0.0.1 -p $(DEMO_PORT) -x 10.96.0.1"
	@echo "  dig @127.0.0.1 -p $(DEMO_PORT) my-database.default.svc.cluster.local"
	@command -v dig >/dev/null 2>&1 || echo "  (no dig here: apt-get install -y dnsutils)"
	$(COREDNS) -conf examples/Corefile.demo

# In this order, also under make -j.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...
	$(MAKE) --no-print-directory e2e-early
	$(MAKE) --no-print-directory fuzz

# The specification's e2e tests, the comparison with the kubernetes plugin and a secondary's zone
# transfer (the transfer plugin then comes after clusterdns) and autopath (still before it) again,
# against build/coredns-early (clusterdns before cache): both places must answer the same.
E2E_SPEC := ^(TestSchemaVersionTXT|TestClusterIPAddressRecords|TestClusterIPSRV|TestReversePTR|TestHeadlessRecords|TestEndpointNames|TestHeadlessSRV|TestExternalName|TestPodRecordsVerified|TestNegativeAnswers|TestSearchPathMisses|TestCaseKept|TestApex|TestFallthrough|TestTruncation|TestServiceNameStartingWithDigit|TestPodsInsecureAndEndpointPodNames|TestConformance|TestSameAnswersAsTheKubernetesPlugin|TestChanges|TestTransferToSecondary|TestAutopathMatchesTheKubernetesPlugin)$$
e2e-early:
	PLACE=early $(GO) test -count=1 -timeout $(TEST_TIMEOUT) -run '$(E2E_SPEC)' ./test/e2e/

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

fuzz:
	for t in $(FUZZ_TARGETS); do \
		echo "fuzz: $$t, $(FUZZ_TIME) inputs"; \
		$(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZ_TIME) -fuzzminimizetime $(FUZZ_MINIMIZE_TIME) . ; \
	done

fuzz-long:
	for pt in $(FUZZ_LONG_TARGETS); do \
		echo "fuzz-long: $${pt#*:} in $${pt%%:*} for $(FUZZ_LONG_TIME)"; \
		$(GO) test -run '^$$' -fuzz "^$${pt#*:}\$$" -fuzztime $(FUZZ_LONG_TIME) -fuzzminimizetime $(FUZZ_MINIMIZE_TIME) "$${pt%%:*}" ; \
	done

# Benchmark against the kubernetes plugin (bench/run.sh); e.g. make bench ARGS="-scale 1000,10000"
bench:
	bash bench/run.sh $(ARGS)
