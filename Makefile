# Stampede. `make demo` runs a local demo, `make test` runs every test. See README.md.

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
TOOLS    := $(CURDIR)/.tools

# Code generation is pinned: protoc from Debian bookworm's protobuf-compiler, plugins by version.
PROTOC_VERSION             := 3.21.12
PROTOC_GEN_GO_VERSION      := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
PROTO_SRC                  := proto/stampede/v1/stampede.proto

BINARIES := bin/stampede-master bin/stampede-worker bin/stampede-target

.PHONY: all build demo demo-ui test unit e2e fuzz soak proto proto-check lint bench tools clean web web-check web-deps images FORCE

all: build

build: $(BINARIES)

bin/stampede-master: FORCE
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/master
bin/stampede-worker: FORCE
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./cmd/worker
bin/stampede-target: FORCE
	$(GO) build -ldflags '$(LDFLAGS)' -o $@ ./examples/target

# A 20-second headless run of examples/quickstart.js: master + 2 local workers + the demo target.
demo: build
	./examples/demo.sh

# The same with the web UI on http://127.0.0.1:8089, until Ctrl+C.
demo-ui: build
	./examples/demo.sh --ui

# Everything CI checks: generated code is current, the code is clean, and every test passes
# with the race detector (unit tests, real-gRPC tests and end-to-end runs of real processes).
# The Kubernetes tests (internal/kubetest) start a real control plane from the tools .ci/k8s-tools.sh
# builds and caches (about 20 minutes the first time, a second after); with STAMPEDE_REQUIRE_K8S=1 a
# missing tool fails them instead of skipping them.
test: proto-check lint web-check web-deps build
	@mkdir -p $(TOOLS) && .ci/k8s-tools.sh --env-file $(TOOLS)/k8s.env >/dev/null
	set -a && . $(TOOLS)/k8s.env && set +a && STAMPEDE_REQUIRE_K8S=1 \
		$(GO) test -race -count=1 -timeout 20m ./...
	$(MAKE) --no-print-directory fuzz

# A short run of every fuzz target, one at a time (go test -fuzz takes one); their seed corpora
# (f.Add and testdata/fuzz/) already ran with the tests. The budget is a count of inputs, not a
# duration: with a duration, Go 1.26's fuzz coordinator can fail a target with a bare "context
# deadline exceeded" and no failing input when the deadline races a busy worker (golang/go#75804,
# fixed in Go 1.27); seen in CI on FuzzWorkerMessage. FUZZTIME=5m (or 1000000x) for a longer hunt.
FUZZTIME ?= 5000x
FUZZ_TARGETS := ./internal/stats:FuzzParseThreshold ./internal/stats:FuzzHistogram ./web:FuzzRunBodies \
	./scenario:FuzzLoadBundle ./scenario:FuzzBundleValidate ./internal/rpc:FuzzWorkerMessage
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

tools: $(TOOLS)/protoc-gen-go $(TOOLS)/protoc-gen-go-grpc
$(TOOLS)/protoc-gen-go:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
$(TOOLS)/protoc-gen-go-grpc:
	GOBIN=$(TOOLS) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)

define protoc
	@protoc --version | grep -q ' $(PROTOC_VERSION)$$' || { echo "need protoc $(PROTOC_VERSION) (Debian bookworm: apt-get install protobuf-compiler), found: $$(protoc --version)"; exit 1; }
	PATH=$(TOOLS):$$PATH protoc -I proto \
		--go_out=$(1) --go_opt=module=github.com/stampede-load/stampede \
		--go-grpc_out=$(1) --go-grpc_opt=module=github.com/stampede-load/stampede \
		$(PROTO_SRC)
endef

proto: tools
	$(call protoc,.)

# Fails when the committed generated code differs from what `make proto` would write.
proto-check: tools
	@rm -rf .proto-check && mkdir -p .proto-check
	$(call protoc,.proto-check)
	@diff -r proto/stampede/v1 .proto-check/proto/stampede/v1 -x '*.proto' \
		|| { echo "generated code is stale: run 'make proto' and commit"; exit 1; }

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
		if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Benchmarks are reports, never pass/fail (docs/performance.md): a worker's CPU per 1,000 requests
# and memory per VU against plain k6; the master under 1,000 names x 10 workers x 50 websocket
# clients; the master across fleet shapes up to 1,000 workers and 200 x 1,000 names (CPU, memory,
# delta-to-frame and delta-to-/metrics delay, a CPU profile); Go benchmarks of merging.
bench: build
	./bench/cpu.sh
	NO_BUILD=1 ./bench/master.sh
	NO_BUILD=1 ./bench/scale.sh
	$(GO) test -run '^$$' -bench . -benchmem ./internal/stats/ ./internal/rpc/

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
# one-layer image, written to dist/images/stampede-*.tar for docker load, ctr images import, kind load
# image-archive and skopeo. Tagged with the chart's appVersion so the chart's defaults find them; the
# same commit and toolchain give the same digests. IMAGE_ARCH (or GOARCH) picks the architecture.
IMAGE_REPO  ?= ghcr.io/stampede-load
IMAGE_TAG   ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\} *$$/\1/p' deploy/helm/stampede/Chart.yaml)
IMAGE_ARCH  ?= $(or $(GOARCH),amd64)
IMAGE_EPOCH ?= $(or $(SOURCE_DATE_EPOCH),$(shell git log -1 --format=%ct 2>/dev/null),0)
IMAGE_REV   ?= $(shell git rev-parse HEAD 2>/dev/null)
IMAGE_DIR   := dist/images

# image builds stampede-$(1) from package $(2) into an image; $(3) are more stampede-image flags.
# The tool itself is built for this machine whatever GOOS/GOARCH say.
define image
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
		-o $(IMAGE_DIR)/linux-$(IMAGE_ARCH)/stampede-$(1) $(2)
	GOOS= GOARCH= $(GO) run ./internal/ociimage/cmd/stampede-image --binary $(IMAGE_DIR)/linux-$(IMAGE_ARCH)/stampede-$(1) \
		--ref $(IMAGE_REPO)/stampede-$(1):$(IMAGE_TAG) --arch $(IMAGE_ARCH) --epoch $(IMAGE_EPOCH) \
		--version '$(VERSION)' --revision '$(IMAGE_REV)' $(3) --out $(IMAGE_DIR)/stampede-$(1).tar
endef

images:
	$(call image,master,./cmd/master,--port 5557/tcp --port 8089/tcp)
	$(call image,worker,./cmd/worker,--port 9100/tcp)
	$(call image,target,./examples/target,--port 8080/tcp --env STAMPEDE_TARGET_LISTEN=0.0.0.0:8080)

clean:
	rm -rf bin dist tmp test-artifacts .proto-check

FORCE:
