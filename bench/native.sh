#!/usr/bin/env bash
# Builds the demo target and bench/native, then compares the CPU per request
# of the h1 client, a net/http loop and wrk (see bench/native/README.md).
# Environment: CONNS (50), DURATION (10s), REPEATS (3), TOOLS (h1,nethttp,wrk),
# IDLE (0; N > 0, or auto for 9/10 of the open-file limit up to 18,000, also reports the memory
# of N idle h1 users, and of N idle users of the native engine: one request each, then a 10 s
# think on an open connection; N is bounded by ulimit -n),
# SHARED_IDLE (0; N > 0 reports the memory of N idle users of the native engine that share
# connections, shareConnections: true, which need about as many open files as requests in flight),
# OPEN (empty; a comma-separated list of rates a second, or 1 for 1000,2000,5000,10000,20000,40000,
# also runs the open model: the native engine's constant-arrival-rate at each rate for
# OPEN_DURATION (5s) on OPEN_VUS (500) VUs, stopping once under 90% of the asked rate).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-tmp/bench}
mkdir -p "$out"
go build -o "$out/stampede-target" ./examples/target
go build -o "$out/native" ./bench/native
if ! command -v wrk >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	apt-get install -y wrk >/dev/null 2>&1 || echo "could not install wrk; running without it"
fi
# The harness itself sits on the target's CPU, away from the generators.
taskset -c "${TARGET_CPU:-1}" "$out/native" -target "$out/stampede-target" \
	-c "${CONNS:-50}" -d "${DURATION:-10s}" -n "${REPEATS:-3}" -tools "${TOOLS:-h1,nethttp,wrk}" \
	-gen-cpu "${GEN_CPU:-0}" -target-cpu "${TARGET_CPU:-1}"
if [ "${IDLE:-0}" = auto ]; then # 9/10 of the open-file limit, at most 18,000
	IDLE=$(ulimit -Hn)
	if [ "$IDLE" = unlimited ] || [ "$IDLE" -gt 20000 ]; then IDLE=20000; fi
	IDLE=$((IDLE * 9 / 10))
fi
if [ "${IDLE:-0}" -gt 0 ]; then
	"$out/native" -target "$out/stampede-target" -idle "$IDLE"
	"$out/native" -target "$out/stampede-target" -engine-idle "$IDLE"
fi
if [ "${SHARED_IDLE:-0}" -gt 0 ]; then
	"$out/native" -target "$out/stampede-target" -engine-idle "$SHARED_IDLE" -share
fi
if [ -n "${OPEN:-}" ]; then
	rates=$OPEN
	[ "$rates" = 1 ] && rates=1000,2000,5000,10000,20000,40000
	# The engine runs in the program's own process, so the program is pinned as a generator.
	taskset -c "${GEN_CPU:-0}" "$out/native" -target "$out/stampede-target" -target-cpu "${TARGET_CPU:-1}" \
		-open "$rates" -d "${OPEN_DURATION:-5s}" -open-vus "${OPEN_VUS:-500}"
fi
