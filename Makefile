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

.PHONY: all build demo test unit e2e proto proto-check lint bench tools clean FORCE

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

# Everything CI checks: generated code is current, the code is clean, and every test passes
# with the race detector (unit tests, real-gRPC tests and end-to-end runs of real processes).
test: proto-check lint build
	$(GO) test -race -count=1 -timeout 20m ./...

unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v /internal/e2e)

e2e: build
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

# Benchmarks are reports, never pass/fail: CPU per 1,000 requests against plain k6, plus Go benchmarks.
bench: build
	./bench/cpu.sh
	$(GO) test -run '^$$' -bench . -benchmem ./internal/stats/

clean:
	rm -rf bin tmp test-artifacts .proto-check

FORCE:
