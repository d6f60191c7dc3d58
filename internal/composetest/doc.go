//go:build linux

// Package composetest runs deploy/compose/compose.yaml for real, with podman and podman-compose:
// its one test builds the images with `make images`, starts a master, three workers and the demo
// target, drives a bounded run through the master's API and checks that the target counted exactly
// the requests the master reports. It holds a machine-wide lock, so two such tests (from two
// clones, say) never run at once, and it leaves no container, network, volume or image behind.
//
// It needs podman, podman-compose and runc (make test installs them on Debian, see
// .ci/debian-deps.sh) and runs podman with runc: crun refuses a host with hybrid cgroups. The
// containers' nofile and nproc limits are the host's (at most 4096): a container may not raise
// them above its runtime's where that is not permitted. Without the tools the test is skipped, or
// fails with STAMPEDE_REQUIRE_COMPOSE=1.
package composetest
