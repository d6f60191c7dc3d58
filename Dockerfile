# syntax=docker/dockerfile:1
#
# Stampede's images, for people with Docker and BuildKit. `make images` builds the same images with
# no Docker engine at all (docs/images.md). One build stage compiles the three binaries; pick the
# image with --target (the default, the last stage, is the master):
#
#   docker build --target master -t ghcr.io/stampede-load/stampede-master:dev .
#   docker build --target worker -t ghcr.io/stampede-load/stampede-worker:dev .
#   docker build --target target -t ghcr.io/stampede-load/stampede-target:dev .
#
# --build-arg VERSION=v0.1.0 --build-arg REVISION=$(git rev-parse HEAD) stamp the version and labels;
# --platform linux/arm64 cross-compiles (Go runs on the build platform, no emulation).
# The binaries are static and run as 65532:65532 (distroless "nonroot"); the images have no shell.

ARG GO_VERSION=1.26

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=bind,source=go.mod,target=go.mod \
    --mount=type=bind,source=go.sum,target=go.sum \
    go mod download
ARG TARGETOS TARGETARCH
ARG VERSION=dev
# `go build -o DIR/` names each binary after its package directory: master, worker, target.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    --mount=type=bind,target=. \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ \
      ./cmd/master ./cmd/worker ./examples/target

FROM gcr.io/distroless/static-debian12:nonroot AS base
ARG VERSION=dev
ARG REVISION=""
LABEL org.opencontainers.image.source="https://github.com/stampede-load/stampede" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
USER 65532:65532
WORKDIR /home/nonroot

FROM base AS target
COPY --from=build /out/target /usr/local/bin/stampede-target
# The demo server listens on loopback by default; in a container it must take outside connections.
ENV STAMPEDE_TARGET_LISTEN=0.0.0.0:8080
EXPOSE 8080/tcp
LABEL org.opencontainers.image.title="stampede-target"
ENTRYPOINT ["/usr/local/bin/stampede-target"]

FROM base AS worker
COPY --from=build /out/worker /usr/local/bin/stampede-worker
EXPOSE 9100/tcp
LABEL org.opencontainers.image.title="stampede-worker"
ENTRYPOINT ["/usr/local/bin/stampede-worker"]

FROM base AS master
COPY --from=build /out/master /usr/local/bin/stampede-master
EXPOSE 5557/tcp 8089/tcp
LABEL org.opencontainers.image.title="stampede-master"
ENTRYPOINT ["/usr/local/bin/stampede-master"]
