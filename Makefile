# Stampede. `make demo` runs a local demo, `make test` runs every test. See README.md.
#
# Both set themselves up on a Debian machine that has Go: pinned Go tools are built into .tools/,
# and the Debian packages make test needs are installed with apt-get when run as root
# (.ci/debian-deps.sh; otherwise one line names them). make demo needs nothing but Go.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null)
# Every time in a build (the binaries' build date, archives, images) is the last commit's, so the
# same commit gives the same bytes.
SOURCE_DATE_EPOCH ?= $(or $(shell git log -1 --format=%ct 2>/dev/null),0)
BUILD_DATE := $(shell date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
VERSION_PKG := github.com/stampede-load/stampede/internal/version
LDFLAGS  := -s -w -X main.version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT) -X $(VERSION_PKG).date=$(BUILD_DATE)
TOOLS    := $(CURDIR)/.tools

# Commands Debian packages provide are linked into .tools/bin when the PATH lacks them.
export PATH := $(TOOLS)/bin:$(PATH)

# Code generation is pinned and pure Go: buf compiles the .proto files (no protoc), the plugins
# generate the code. Each tool is built once into .tools/<tool>-<version>/.
BUF_VERSION                := v1.75.0
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
BUF                := $(TOOLS)/buf-$(BUF_VERSION)/buf
PROTOC_GEN_GO      := $(TOOLS)/protoc-gen-go-$(PROTOC_GEN_GO_VERSION)/protoc-gen-go
PROTOC_GEN_GO_GRPC := $(TOOLS)/protoc-gen-go-grpc-$(PROTOC_GEN_GO_GRPC_VERSION)/protoc-gen-go-grpc

# The Debian packages make test needs, as COMMAND:PACKAGE: node and npm for the UI's unit tests and
# web/node_modules, Chromium for its browser test, skopeo to read the images internal/ociimage
# writes, podman, podman-compose and runc for the Docker Compose test (internal/composetest),
# qemu-user-static for the swarm of linux/arm64 binaries (internal/e2e/arm64_test.go).
TEST_DEBIAN := git:git node:nodejs npm:npm chromium:chromium skopeo:skopeo \
	podman:podman podman-compose:podman-compose runc:runc qemu-aarch64-static:qemu-user-static

BINARIES := bin/stampede-master bin/stampede-worker bin/stampede-target

.PHONY: all build cross demo demo-ui test test-setup debian-deps unit e2e fuzz soak proto proto-check lint bench tools clean web web-check web-deps images dist FORCE

all: build

build: $(BINARIES)

bin/stampede-master: FORCE
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/master
bin/stampede-worker: FORCE
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/worker
bin/stampede-target: FORCE
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./examples/target

# The master and the worker for every platform make dist releases (DIST_PLATFORMS), built as make
# dist builds them (static, -trimpath) into bin/cross/OS_ARCH/ (.exe on Windows). Part of make test,
# so code that breaks one OS fails there; the tests also run a swarm of linux/arm64 binaries under
# qemu-user (internal/e2e/arm64_test.go).
CROSS_PLATFORMS ?= $(DIST_PLATFORMS)

cross:
	@set -e; for p in $(CROSS_PLATFORMS); do \
		os=$${p%/*} arch=$${p#*/} ext=; \
		[ $$os = windows ] && ext=.exe; \
		for b in master worker; do \
			echo "$$p stampede-$$b$$ext"; \
			CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
				-o bin/cross/$${os}_$$arch/stampede-$$b$$ext ./cmd/$$b; \
		done; \
	done

# A 20-second headless run of examples/quickstart.js: master + 2 local workers + the demo target.
demo: build
	./examples/demo.sh

# The same with the web UI on http://127.0.0.1:8089, until Ctrl+C.
demo-ui: build
	./examples/demo.sh --ui

# Everything CI checks: generated code is current, the code is clean, the master and the worker
# build for every OS (make cross), and every test passes with the race detector (unit tests,
# real-gRPC tests and end-to-end runs of real processes); as root (CI is), then make test-node.
# The Kubernetes tests (internal/kubetest) start a real control plane from the tools .ci/k8s-tools.sh
# builds and caches (about 20 minutes the first time, a second after); with STAMPEDE_REQUIRE_K8S=1 a
# missing tool fails them instead of skipping them, and STAMPEDE_REQUIRE_COMPOSE=1 does the same for
# podman in internal/composetest.
test: test-setup proto-check lint web-check build cross
	set -a && . $(TOOLS)/k8s.env && set +a && STAMPEDE_REQUIRE_K8S=1 STAMPEDE_REQUIRE_COMPOSE=1 \
		$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz
	@if [ "$$(id -u)" = 0 ]; then $(MAKE) --no-print-directory test-node; \
	else echo "make test: the real-node tests did not run: they need root (sudo make test-node)"; fi

# Everything make test needs before it runs a test: the Debian packages, the Go tools, the modules,
# web/node_modules and the Kubernetes tools.
test-setup: debian-deps tools web-deps
	$(GO) mod download
	@mkdir -p $(TOOLS) && .ci/k8s-tools.sh --env-file $(TOOLS)/k8s.env >/dev/null

debian-deps:
	@.ci/debian-deps.sh --bin $(TOOLS)/bin --for 'make test' $(TEST_DEBIAN)

# A one-node cluster of real parts, as root (internal/nodetest): the control plane of make test plus
# containerd with Debian's runc, the kubelet, kube-proxy, CoreDNS, metrics-server and a CNI bridge
# of its own, all built by .ci/k8s-tools.sh --node and cached with the other tools (20 to 50
# minutes the first time, a second after; see .ci/k8s-tools.md). Pods run as containers: the
# chart's images (make images) are imported, helm install and helm test run for real, and the HPA
# demo (internal/kubedemo) scales the target on the CPU the load burns, seen in Chromium too. Then
# the node is torn down and the test fails if the machine is not as it was (mounts, interfaces,
# iptables and nftables, cgroups, sysctls, processes). About 4 minutes warm.
# NODE_DEBIAN: runc runs the containers; gcc (with libc6-dev, which it recommends) builds the static
# pause binary; iptables, ip and nft set up the node's network and check it was undone; node, npm
# and Chromium look at the UI.
NODE_DEBIAN := runc:runc gcc:gcc iptables:iptables ip:iproute2 nft:nftables \
	node:nodejs npm:npm chromium:chromium

.PHONY: test-node demo-kube node-setup
test-node: node-setup images
	set -a && . $(TOOLS)/node.env && set +a && STAMPEDE_REQUIRE_K8S=1 STAMPEDE_REQUIRE_NODE=1 \
		$(GO) test -race -count=1 -timeout 30m -v ./internal/nodetest/

# The HPA demo on a one-node cluster of this machine's own (as root), or on the cluster of
# $KUBECONFIG when it is set (which must run the images: add SET='--set master.image.repository=...').
# Prints the gate's verdict, the worker and target replica steps and the target pods' own counts.
demo-kube: images
	@if [ -z "$$KUBECONFIG" ]; then $(MAKE) --no-print-directory node-setup; fi
	@[ -z "$$KUBECONFIG" ] || .ci/k8s-tools.sh --env-file $(TOOLS)/k8s.env >/dev/null
	set -a && . $(TOOLS)/$$( [ -z "$$KUBECONFIG" ] && echo node || echo k8s ).env && set +a && \
		$(GO) run ./internal/kubedemo/cmd/kube-demo $(SET)

node-setup:
	@[ "$$(id -u)" = 0 ] || { echo "a real node runs a kubelet and containerd: run this as root"; exit 1; }
	@.ci/debian-deps.sh --bin $(TOOLS)/bin --for 'a real node' $(NODE_DEBIAN)
	@$(MAKE) --no-print-directory web-deps
	@mkdir -p $(TOOLS) && .ci/k8s-tools.sh --node --env-file $(TOOLS)/node.env >/dev/null

# A short run of every fuzz target, one at a time (go test -fuzz takes one); their seed corpora
# (f.Add and testdata/fuzz/) already ran with the tests. The budget is a count of inputs, not a
# duration: with a duration, Go 1.26's fuzz coordinator can fail a target with a bare "context
# deadline exceeded" and no failing input when the deadline races a busy worker (golang/go#75804,
# fixed in Go 1.27); seen in CI on FuzzWorkerMessage. FUZZTIME=5m (or 1000000x) for a longer hunt.
FUZZTIME ?= 5000x
FUZZ_TARGETS := ./internal/stats:FuzzParseThreshold ./internal/stats:FuzzHistogram ./web:FuzzRunBodies \
	./scenario:FuzzReadArchive ./scenario:FuzzBundleValidate ./internal/rpc:FuzzWorkerMessage \
	./scenario/flow:FuzzParse ./internal/native/h1:FuzzReadResponse
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}\$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

# A long steady run on real processes, sampling memory and goroutines (bench/soak.sh; not in test).
soak: build
	./bench/soak.sh

unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /internal/e2e)

e2e: build web-deps
	$(GO) test -race -count=1 -timeout 20m ./internal/e2e/

tools: $(BUF) $(PROTOC_GEN_GO) $(PROTOC_GEN_GO_GRPC)
# GOFLAGS=-mod=mod: a tool's own go.mod decides its dependencies, whatever GOFLAGS the caller has.
$(BUF):
	GOBIN=$(@D) GOFLAGS=-mod=mod $(GO) install github.com/bufbuild/buf/cmd/buf@$(BUF_VERSION)
$(PROTOC_GEN_GO):
	GOBIN=$(@D) GOFLAGS=-mod=mod $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(PROTOC_GEN_GO_GRPC):
	GOBIN=$(@D) GOFLAGS=-mod=mod $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

# protogen generates the code of every .proto file under proto/ into $(1).
PROTO_OPT := module=github.com/stampede-load/stampede
define protogen
	$(BUF) generate proto --template '{"version":"v2","plugins":[{"local":"$(PROTOC_GEN_GO)","out":"$(1)","opt":"$(PROTO_OPT)"},{"local":"$(PROTOC_GEN_GO_GRPC)","out":"$(1)","opt":"$(PROTO_OPT)"}]}'
endef

proto: tools
	$(call protogen,.)

# Fails when the committed generated code differs from what `make proto` would write.
proto-check: tools
	@rm -rf .proto-check && mkdir -p .proto-check
	$(call protogen,.proto-check)
	@diff -r proto/stampede/v1 .proto-check/proto/stampede/v1 -x '*.proto' \
		|| { echo "generated code is stale: run 'make proto' and commit"; exit 1; }

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Benchmarks are reports, never pass/fail (docs/performance.md): a worker's CPU per 1,000 requests
# and memory per VU against plain k6; the master under 1,000 names x 10 workers x 50 websocket
# clients; the master across fleet shapes up to 1,000 workers and 200 x 1,000 names (CPU, memory,
# delta-to-frame and delta-to-/metrics delay, a CPU profile); Go benchmarks of merging; the two
# engines, plain k6 and wrk on one target (CPU per request), the h1 client against net/http and wrk,
# idle users' memory (as many as the open-file limit allows with a connection each, and 100,000
# sharing connections).
bench: build
	./bench/cpu.sh
	NO_BUILD=1 ./bench/master.sh
	NO_BUILD=1 ./bench/scale.sh
	$(GO) test -run '^$$' -bench . -benchmem ./internal/stats/ ./internal/rpc/
	./bench/engines.sh
	IDLE=auto SHARED_IDLE=100000 OPEN=1 ./bench/native.sh

# The web UI (web/static) is plain files; the one generated part is the chart library in
# web/static/vendor, copied from its npm package (pinned in web/package-lock.json) so that `go build`
# needs no npm. The browser test (internal/e2e/ui_test.go) needs web/node_modules and Chromium.
WEB_DEPS   := web/node_modules/.package-lock.json
WEB_VENDOR := web/static/vendor

# web-vendor copies the vendored files into $(1).
define web-vendor
	@mkdir -p $(1)
	cp web/node_modules/uplot/dist/uPlot.esm.js web/node_modules/uplot/dist/uPlot.min.css $(1)/
	cp web/node_modules/uplot/LICENSE $(1)/uPlot.LICENSE
endef

web-deps: $(WEB_DEPS)
	@[ "$$STAMPEDE_SKIP_BROWSER" = 1 ] || command -v "$${CHROMIUM:-chromium}" >/dev/null \
		|| { echo "the browser test needs Chromium: apt-get install chromium (Debian), or set CHROMIUM to its path"; exit 1; }
$(WEB_DEPS): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "need node and npm to install web/node_modules"; exit 1; }
	npm ci --prefix web --no-audit --no-fund
	@touch $@

# Refreshes the vendored chart library from a clean install of web/package-lock.json.
web:
	npm ci --prefix web --no-audit --no-fund
	rm -rf $(WEB_VENDOR)
	$(call web-vendor,$(WEB_VENDOR))

# Fails when the committed vendored files differ from what `make web` would write, or when a unit
# test of the UI's plain JavaScript fails (the browser tests are Go tests: internal/e2e/ui_test.go).
web-check: $(WEB_DEPS)
	@rm -rf tmp/web-check
	$(call web-vendor,tmp/web-check)
	@diff -r $(WEB_VENDOR) tmp/web-check \
		|| { echo "web/static/vendor is stale: run 'make web' and commit"; exit 1; }
	node --test --test-reporter=dot web/test/unit.test.mjs

# Container images without a Docker engine (docs/images.md): per binary a static linux build in a
# one-layer image, for linux/amd64 and linux/arm64 (IMAGE_ARCHES) in one OCI image index, written
# to dist/images/stampede-*.tar for skopeo, ctr images import --all-platforms, kind load
# image-archive and Docker's containerd store; dist/images/linux-ARCH/stampede-*.tar hold one
# platform each, for docker load with Docker's classic store and podman load. Every image holds
# stampede-probe beside its binary, for health checks. Tagged with the chart's appVersion so the
# chart's defaults find them; the same commit and toolchain give the same digests.
IMAGE_REPO   ?= ghcr.io/stampede-load
IMAGE_TAG    ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$$/\1/p' deploy/helm/stampede/Chart.yaml)
IMAGE_ARCHES ?= amd64 arm64
IMAGE_EPOCH  ?= $(SOURCE_DATE_EPOCH)
IMAGE_DIR    := dist/images
IMAGE_TOOL   := $(IMAGE_DIR)/stampede-image
IMAGE_FLAGS_master := --port 5557/tcp --port 8089/tcp
IMAGE_FLAGS_worker := --port 9100/tcp
IMAGE_FLAGS_target := --port 8080/tcp --env STAMPEDE_TARGET_LISTEN=0.0.0.0:8080

images:
	GOOS= GOARCH= $(GO) build -o $(IMAGE_TOOL) ./internal/ociimage/cmd/stampede-image
	@set -e; for arch in $(IMAGE_ARCHES); do for b in master worker target probe; do \
		echo "linux/$$arch stampede-$$b"; \
		case $$b in master) pkg=./cmd/master;; worker) pkg=./cmd/worker;; \
			target) pkg=./examples/target;; probe) pkg=./internal/ociimage/cmd/stampede-probe;; esac; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
			-o $(IMAGE_DIR)/linux-$$arch/stampede-$$b $$pkg; \
	done; done
	@set -e; for b in master worker target; do \
		case $$b in master) flags="$(IMAGE_FLAGS_master)";; worker) flags="$(IMAGE_FLAGS_worker)";; \
			target) flags="$(IMAGE_FLAGS_target)";; esac; \
		image() { $(IMAGE_TOOL) --ref $(IMAGE_REPO)/stampede-$$b:$(IMAGE_TAG) --epoch $(IMAGE_EPOCH) \
			--version '$(VERSION)' --revision '$(COMMIT)' $$flags "$$@"; }; \
		all=; for arch in $(IMAGE_ARCHES); do \
			bins="--binary $$arch=$(IMAGE_DIR)/linux-$$arch/stampede-$$b --add $$arch=$(IMAGE_DIR)/linux-$$arch/stampede-probe"; \
			all="$$all $$bins"; \
			image $$bins --out $(IMAGE_DIR)/linux-$$arch/stampede-$$b.tar; \
		done; \
		image $$all --out $(IMAGE_DIR)/stampede-$$b.tar; \
	done

# Release archives (README.md, "Downloads"): per OS and architecture the three binaries, LICENSE,
# README.md and examples/ in stampede_VERSION_OS_ARCH.tar.gz (.zip for Windows), and SHA256SUMS,
# in dist/release/. Static builds with -trimpath and every time the commit's: the same commit
# and Go toolchain give the same bytes.
DIST_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
DIST_DIR       := dist/release
DIST_TOOL      := dist/stampede-release

dist:
	GOOS= GOARCH= $(GO) build -o $(DIST_TOOL) ./internal/release/cmd/stampede-release
	@rm -rf $(DIST_DIR) && mkdir -p $(DIST_DIR)
	@set -e; extras="LICENSE README.md $$(git ls-files examples)"; for p in $(DIST_PLATFORMS); do \
		os=$${p%/*} arch=$${p#*/} ext= arc=tar.gz; \
		[ $$os = windows ] && ext=.exe arc=zip; \
		build=dist/build/$${os}_$$arch; \
		for b in master:./cmd/master worker:./cmd/worker target:./examples/target; do \
			echo "$$p stampede-$${b%%:*}$$ext"; \
			CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
				-o $$build/stampede-$${b%%:*}$$ext $${b#*:}; \
			bins="$$bins $$build/stampede-$${b%%:*}$$ext=stampede-$${b%%:*}$$ext"; \
		done; \
		$(DIST_TOOL) --epoch $(SOURCE_DATE_EPOCH) --out $(DIST_DIR)/stampede_$(VERSION)_$${os}_$$arch.$$arc $$bins $$extras; \
		bins=; \
	done
	cd $(DIST_DIR) && sha256sum stampede_* > SHA256SUMS && cat SHA256SUMS

clean:
	rm -rf bin dist tmp test-artifacts .proto-check

FORCE:
