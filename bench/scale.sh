#!/usr/bin/env bash
# bench/scale.sh — the master across fleet shapes: workers × request names per worker.
#
# Runs bench/master.sh once per shape (no reference scenario), each against a fresh master, and
# tabulates per shape: master CPU (cores), RSS, the delay from a worker's delta to the first
# websocket frame that reflects it, and the delay from a delta to the first /metrics scrape that
# reflects it (bench/mastersim scrapes /metrics every second; see bench/README.md). For one shape
# (PROFILE_SHAPE) it also takes a CPU profile of the master with go tool pprof. "lost" counts the
# workers the master dropped during the run: with live simulated workers, each is a false "missing"
# (SHAPES=1000x100 DURATION=10m is the heartbeat soak of docs/performance.md).
#
# The master it runs is a benchmark build of cmd/master with net/http/pprof added through
# `go build -overlay` (bench/pprof/master_pprof.go.in, served on $PPROF_ADDR only in this build).
#
# This is a report, not a test: no figure fails the script. It fails only when it cannot measure.
#
# Environment:
#   SHAPES          WORKERSxNAMES list (default "100x100 300x100 1000x100 200x1000")
#   PER_NAME        requests per name per second on each worker (default 1)
#   WS_CLIENTS      websocket clients (default 50)
#   DURATION        measured window per shape (default 30s); WARMUP before it (default 5s)
#   PROFILE_SHAPE   shape to profile (default 1000x100; empty: none)
#   PROFILE_SECONDS length of the CPU profile (default 20), taken after the warm-up
#   PPROF_ADDR      where the benchmark build serves pprof (default 127.0.0.1:6061)
#   OUT             directory for the report and logs (default tmp/bench/scale)
#   NO_BUILD=1      use bin/ as it is (mastersim and the pprof build are built anyway)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SHAPES=${SHAPES:-100x100 300x100 1000x100 200x1000}
export PER_NAME=${PER_NAME:-1}
export WS_CLIENTS=${WS_CLIENTS:-50}
export DURATION=${DURATION:-30s}
export WARMUP=${WARMUP:-5s}
PROFILE_SHAPE=${PROFILE_SHAPE-1000x100}
PROFILE_SECONDS=${PROFILE_SECONDS:-20}
PPROF_ADDR=${PPROF_ADDR:-127.0.0.1:6061}
OUT=${OUT:-tmp/bench/scale}

die() { echo "bench/scale.sh: $*" >&2; exit 1; }

for s in $SHAPES; do
	[[ $s =~ ^[0-9]+x[0-9]+$ ]] || die "shape '$s': want WORKERSxNAMES, e.g. 1000x100"
done
[[ $PROFILE_SECONDS =~ ^[0-9]+$ ]] || die "PROFILE_SECONDS must be a whole number"
command -v curl >/dev/null || die "needs curl"

mkdir -p "$OUT/bin"
if [[ ${NO_BUILD:-} != 1 ]]; then
	make build >&2
fi
BIN=$OUT/bin/stampede-master-pprof
printf '{"Replace":{"%s/cmd/master/zz_bench_pprof.go":"%s/bench/pprof/master_pprof.go.in"}}\n' "$PWD" "$PWD" >"$OUT/overlay.json"
go build -overlay "$OUT/overlay.json" -o "$BIN" ./cmd/master

PROF_PID=""
cleanup() {
	if [[ -n $PROF_PID ]] && kill -0 "$PROF_PID" 2>/dev/null; then
		kill "$PROF_PID" 2>/dev/null || true
		wait "$PROF_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# profile DIR: once the simulator reports the run started, waits out the warm-up and takes a CPU
# profile of the master.
profile() {
	local dir=$1
	for _ in $(seq 1200); do
		grep -q 'started; measuring' "$dir/logs/master-main.sim.err" 2>/dev/null && break
		sleep 0.25
	done
	sleep "${WARMUP%s}"
	curl -sf -o "$dir/master.cpu.pprof" "http://$PPROF_ADDR/debug/pprof/profile?seconds=$PROFILE_SECONDS" ||
		echo "bench/scale.sh: no CPU profile from http://$PPROF_ADDR" >&2
}

for s in $SHAPES; do
	w=${s%x*} n=${s#*x}
	dir=$OUT/$s
	rm -rf "$dir"
	mkdir -p "$dir/logs"
	echo "== $w workers × $n names" >&2
	if [[ $s == "$PROFILE_SHAPE" ]]; then
		profile "$dir" &
		PROF_PID=$!
	fi
	# A shape the master cannot carry (it drops the workers) is reported as failed; the rest go on.
	if ! STAMPEDE_BENCH_PPROF=$PPROF_ADDR MASTER=$BIN NO_BUILD=1 REF_NAMES=0 WORKERS=$w NAMES=$n OUT=$dir \
		bench/master.sh >/dev/null; then
		echo "bench/scale.sh: $s failed; see $dir/logs/master-main.err (the master's log)" >&2
		touch "$dir/FAILED"
	fi
	if [[ -n $PROF_PID ]]; then
		wait "$PROF_PID" || true
		PROF_PID=""
		if [[ -s $dir/master.cpu.pprof ]]; then
			go tool pprof -top -nodecount=40 "$BIN" "$dir/master.cpu.pprof" >"$dir/master.cpu.top.txt" 2>/dev/null || true
		fi
	fi
done

# --- report -----------------------------------------------------------------
REPORT=$OUT/scale.txt
: >"$REPORT"
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
get() {
	local v
	v=$(sed -n "s/^$2=//p" "$OUT/$1/logs/master-main.kv" 2>/dev/null | head -n1)
	echo "${v:--}"
}
mibs() { [[ $1 == - ]] && echo - || awk -v b="$1" 'BEGIN { printf "%.0f", b / 1048576 }'; }
# lost SHAPE: workers the master dropped while the run went on (a false "missing" when the
# simulated workers were alive, which they are unless the simulator failed).
lost() { grep -c 'worker disconnected during a run' "$OUT/$1/logs/master-main.err" 2>/dev/null || true; }

say "Stampede master across fleet shapes: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')"
say "each shape: bench/master.sh against a fresh master ($BIN), $PER_NAME req/name/s per worker, $WS_CLIENTS websocket clients, /metrics scraped every 1 s; window $DURATION after $WARMUP"
say "machine: $(nproc) CPUs; $(uname -sr); the simulator runs on the same machine"
say ""
say "$(printf '%-11s %8s %7s %7s %8s %7s %8s %8s %8s %8s %7s %6s %5s' shape 'req/s' 'CPU' 'busiest' 'RSS pk' 'heap' 'ws p50' 'ws p99' 'met p50' 'met p99' 'sim CPU' load lost)"
say "$(printf '%-11s %8s %7s %7s %8s %7s %8s %8s %8s %8s %7s %6s %5s' '' '' cores cores MiB MiB ms ms ms ms cores '' '')"
for s in $SHAPES; do
	if [[ -e $OUT/$s/FAILED ]]; then
		say "$(printf '%-11s %s' "$s" "failed: $(grep -m1 -o 'msg="run ended".*' "$OUT/$s/logs/master-main.err" 2>/dev/null || echo 'see its logs')")"
		continue
	fi
	say "$(printf '%-11s %8s %7s %7s %8s %7s %8s %8s %8s %8s %7s %6s %5s' "$s" \
		"$(get "$s" requests_per_s)" "$(get "$s" cpu_cores)" "$(get "$s" cpu_busiest_second_cores)" \
		"$(mibs "$(get "$s" rss_peak_bytes)")" "$(mibs "$(get "$s" heap_inuse_end_bytes)")" \
		"$(get "$s" delay_p50_ms)" "$(get "$s" delay_p99_ms)" \
		"$(get "$s" metrics_delay_p50_ms)" "$(get "$s" metrics_delay_p99_ms)" \
		"$(get "$s" sim_cpu_cores)" "$(get "$s" load)" "$(lost "$s")")"
done
if [[ -n $PROFILE_SHAPE && -s $OUT/$PROFILE_SHAPE/master.cpu.top.txt ]]; then
	say ""
	say "CPU profile of the master at $PROFILE_SHAPE ($PROFILE_SECONDS s; go tool pprof -top; all of it in $OUT/$PROFILE_SHAPE/master.cpu.top.txt):"
	head -n 21 "$OUT/$PROFILE_SHAPE/master.cpu.top.txt" | tee -a "$REPORT"
fi
echo "report written to $REPORT; per-shape logs in $OUT/WORKERSxNAMES/logs" >&2
