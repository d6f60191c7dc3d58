#!/usr/bin/env bash
# bench/master.sh — what a master costs while it aggregates many request names from many workers
# and feeds many browsers.
#
# Starts the real master (bin/stampede-master, UI mode) and drives it with bench/mastersim:
# WORKERS simulated workers (real gRPC clients speaking the worker protocol) that each send a stats
# delta per second over NAMES request names, and WS_CLIENTS websocket clients on the UI feed. The
# run is started through the REST API. Over a DURATION window (after WARMUP) it measures the
# master's CPU (cores, from /proc/PID/stat utime+stime), its RSS (peak and at the end, from
# /proc/PID/status) and the delay from each delta to the first websocket frame that reflects it
# (p50/p99/max over every delta and client). A reference scenario, the same with REF_NAMES names,
# runs against a fresh master in the same invocation, and the report gives the ratios.
#
# This is a report, not a test: no figure fails the script. It fails only when it cannot measure.
#
# Environment:
#   WORKERS       simulated workers (default 10)
#   NAMES         request names (default 1000)
#   PER_NAME      requests per name per second on each worker (default 2)
#   WS_CLIENTS    websocket clients (default 50)
#   DURATION      measured window (default 60s); WARMUP before it (default 5s)
#   REF_NAMES     names of the reference scenario (default 10; 0 skips it)
#   REF_DURATION  its measured window (default 20s)
#   MAX_NAMES     the master's --max-names (default 2000)
#   OUT           directory for the report and logs (default tmp/bench)
#   NO_BUILD=1    use bin/ as it is (make bench has just built it)
#   PROFILE=1     profile the master with perf during the main scenario (an unstripped build of
#                 the same source) and write the hottest functions to $OUT/master-profile.txt
#
# See bench/README.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

WORKERS=${WORKERS:-10}
NAMES=${NAMES:-1000}
PER_NAME=${PER_NAME:-2}
WS_CLIENTS=${WS_CLIENTS:-50}
DURATION=${DURATION:-60s}
WARMUP=${WARMUP:-5s}
REF_NAMES=${REF_NAMES:-10}
REF_DURATION=${REF_DURATION:-20s}
MAX_NAMES=${MAX_NAMES:-2000}
OUT=${OUT:-tmp/bench}
SCRIPT=examples/quickstart.js
MASTER=${MASTER:-bin/stampede-master}
SIM=$OUT/bin/mastersim

export K6_NO_USAGE_REPORT=true
export K6_AUTO_EXTENSION_RESOLUTION=false
export K6_BINARY_PROVISIONING=false

die() { echo "bench/master.sh: $*" >&2; exit 1; }

for v in WORKERS NAMES WS_CLIENTS REF_NAMES MAX_NAMES; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
[[ -r /proc/self/stat ]] || die "needs Linux /proc to read the master's CPU and memory"

mkdir -p "$OUT/logs" "$OUT/bin"
if [[ ${NO_BUILD:-} != 1 ]]; then
	make build >&2
fi
[[ -x $MASTER ]] || die "$MASTER is missing: run make build"
go build -o "$SIM" ./bench/mastersim
PROFILE_BIN=""
if [[ ${PROFILE:-} == 1 ]]; then
	command -v perf >/dev/null || die "PROFILE=1 needs perf (Debian: apt-get install linux-perf)"
	# The same source as bin/stampede-master, with the symbol table perf needs (make strips it).
	PROFILE_BIN=$OUT/bin/stampede-master-syms
	go build -o "$PROFILE_BIN" ./cmd/master
fi

REPORT=$OUT/master.txt
CLK_TCK=$(getconf CLK_TCK)

MASTER_PID="" SIM_PID="" PERF_PID=""
stop_master() {
	if [[ -n $PERF_PID ]] && kill -0 "$PERF_PID" 2>/dev/null; then
		kill -INT "$PERF_PID" 2>/dev/null || true
		wait "$PERF_PID" 2>/dev/null || true
	fi
	PERF_PID=""
	if [[ -n $MASTER_PID ]] && kill -0 "$MASTER_PID" 2>/dev/null; then
		kill -TERM "$MASTER_PID" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$MASTER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$MASTER_PID" 2>/dev/null || true
		wait "$MASTER_PID" 2>/dev/null || true
	fi
	MASTER_PID=""
}
cleanup() {
	if [[ -n $SIM_PID ]] && kill -0 "$SIM_PID" 2>/dev/null; then
		kill -TERM "$SIM_PID" 2>/dev/null || true
		wait "$SIM_PID" 2>/dev/null || true
	fi
	stop_master
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# scenario NAME NAMES DURATION [BINARY]: a fresh master, the simulator against it; the figures
# land in $OUT/logs/master-NAME.kv (key=value) and the simulator's report in master-NAME.txt.
scenario() {
	local name=$1 names=$2 duration=$3 bin=${4:-$MASTER}
	local log=$OUT/logs/master-$name
	rm -f "$log.kv"
	"$bin" -f "$SCRIPT" --web-listen 127.0.0.1:0 --master-bind 127.0.0.1:0 --max-names "$MAX_NAMES" \
		>"$log.out" 2>"$log.err" &
	MASTER_PID=$!
	local grpc="" web=""
	for _ in $(seq 100); do
		grpc=$(sed -n 's/.*msg="listening for workers" addr=\([^ ]*\).*/\1/p' "$log.err" | head -n1)
		web=$(sed -n 's/^web UI on \(http:\/\/[^ ]*\)$/\1/p' "$log.err" | head -n1)
		[[ -n $grpc && -n $web ]] && break
		kill -0 "$MASTER_PID" 2>/dev/null || die "the master exited: $(tail -n 5 "$log.err")"
		sleep 0.1
	done
	[[ -n $grpc && -n $web ]] || die "the master did not announce its addresses within 10s; log: $log.err"
	if [[ $bin == "$PROFILE_BIN" ]]; then
		perf record -F 499 -g -o "$OUT/logs/master-$name.perf.data" -p "$MASTER_PID" >"$log.perf.log" 2>&1 &
		PERF_PID=$!
	fi
	echo "$name: $names names; master $grpc (gRPC), $web (UI); measuring $duration after $WARMUP..." >&2
	"$SIM" -master "$grpc" -web "$web" -workers "$WORKERS" -names "$names" -per-name "$PER_NAME" \
		-ws-clients "$WS_CLIENTS" -warmup "$WARMUP" -duration "$duration" \
		-master-pid "$MASTER_PID" -clk-tck "$CLK_TCK" -kv "$log.kv" >"$log.txt" 2>"$log.sim.err" &
	SIM_PID=$!
	local rc=0
	wait "$SIM_PID" || rc=$?
	SIM_PID=""
	stop_master
	if ((rc != 0)); then
		tail -n 5 "$log.sim.err" >&2
		die "$name: the simulator failed (exit $rc); logs: $log.*"
	fi
	sed 's/^/  /' "$log.txt" >&2
	read -r LOAD _ </proc/loadavg
	echo "load=$LOAD" >>"$log.kv"
}

# get NAME KEY: a figure of a scenario ("-" when it has none).
get() {
	local v
	v=$(sed -n "s/^$2=//p" "$OUT/logs/master-$1.kv" 2>/dev/null | head -n1)
	echo "${v:--}"
}

scenario main "$NAMES" "$DURATION" "${PROFILE_BIN:-$MASTER}"
if ((REF_NAMES > 0)); then
	scenario ref "$REF_NAMES" "$REF_DURATION"
fi

# --- report -----------------------------------------------------------------
: >"$REPORT"
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }
mibs() { [[ $1 == - ]] && echo - || awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
kibs() { [[ $1 == - ]] && echo - || awk -v b="$1" 'BEGIN { printf "%.1f", b / 1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f", a / b }'; }
row() { # row LABEL MAIN REF [RATIO]
	say "$(printf '%-30s %14s %14s %8s' "$1" "$2" "$3" "${4:-}")"
}

say "Stampede master benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')"
say "master:   $MASTER -f $SCRIPT --web-listen 127.0.0.1:0 --master-bind 127.0.0.1:0 --max-names $MAX_NAMES (UI mode; run started with POST /api/v1/runs)"
say "load:     $WORKERS simulated workers (bench/mastersim, one gRPC connection each), a delta per worker per second"
say "          over N request names × $PER_NAME req/name/s; $WS_CLIENTS websocket clients on /ws"
say "window:   main $DURATION, reference $REF_DURATION, each after a $WARMUP warm-up, each against a fresh master"
say "CPU = the master process's utime+stime over the window / the window; RSS from /proc/PID/status"
say "delay = a delta handed to the worker's session → a client has received the first frame that reflects it"
[[ -n $PROFILE_BIN ]] && say "PROFILE=1: the main scenario ran $PROFILE_BIN (unstripped, same source) under perf record -F 499"
say "machine:  $(nproc) CPUs; $(uname -sr); the simulator runs on the same machine"
say ""
M=main R=ref
row "" "$(get $M names) names" "$(if ((REF_NAMES > 0)); then echo "$(get $R names) names"; else echo "(no ref)"; fi)" ratio
row "requests/s (all workers)" "$(get $M requests_per_s)" "$(get $R requests_per_s)"
row "master CPU (cores)" "$(get $M cpu_cores)" "$(get $R cpu_cores)" "$(ratio "$(get $M cpu_cores)" "$(get $R cpu_cores)")"
row "  busiest second (cores)" "$(get $M cpu_busiest_second_cores)" "$(get $R cpu_busiest_second_cores)"
row "master RSS peak (MiB)" "$(mibs "$(get $M rss_peak_bytes)")" "$(mibs "$(get $R rss_peak_bytes)")" "$(ratio "$(get $M rss_peak_bytes)" "$(get $R rss_peak_bytes)")"
row "master RSS at end (MiB)" "$(mibs "$(get $M rss_end_bytes)")" "$(mibs "$(get $R rss_end_bytes)")" "$(ratio "$(get $M rss_end_bytes)" "$(get $R rss_end_bytes)")"
row "  Go heap in use at end (MiB)" "$(mibs "$(get $M heap_inuse_end_bytes)")" "$(mibs "$(get $R heap_inuse_end_bytes)")"
row "delay p50 (ms)" "$(get $M delay_p50_ms)" "$(get $R delay_p50_ms)"
row "delay p99 (ms, target <= 2000)" "$(get $M delay_p99_ms)" "$(get $R delay_p99_ms)"
row "delay max (ms)" "$(get $M delay_max_ms)" "$(get $R delay_max_ms)"
row "  snapshot -> client p50 (ms)" "$(get $M delivery_p50_ms)" "$(get $R delivery_p50_ms)"
row "  snapshot -> client p99 (ms)" "$(get $M delivery_p99_ms)" "$(get $R delivery_p99_ms)"
row "  samples (deltas x clients)" "$(get $M delay_samples)" "$(get $R delay_samples)"
row "update frame (KiB)" "$(kibs "$(get $M frame_update_bytes)")" "$(kibs "$(get $R frame_update_bytes)")" "$(ratio "$(get $M frame_update_bytes)" "$(get $R frame_update_bytes)")"
row "snapshot frame (KiB)" "$(kibs "$(get $M frame_snapshot_bytes)")" "$(kibs "$(get $R frame_snapshot_bytes)")"
row "frames/s per client" "$(get $M frames_per_client_per_s)" "$(get $R frames_per_client_per_s)"
row "frames dropped (master)" "$(get $M dropped_frames)" "$(get $R dropped_frames)"
row "simulator CPU (cores)" "$(get $M sim_cpu_cores)" "$(get $R sim_cpu_cores)"
row "load average at end" "$(get $M load)" "$(get $R load)"
NCPU=$(nproc)
MAXLOAD=$(printf '%s\n' "$(get $M load)" "$(get $R load)" | grep -v '^-$' | sort -g | tail -n1)
if awk -v l="${MAXLOAD:-0}" -v n="$NCPU" 'BEGIN { exit !(l > n) }'; then
	say "warning: the machine was busy (load average up to $MAXLOAD on $NCPU CPUs): the timings are noisy"
fi
if [[ $(get $M delay_missing) != 0 && $(get $M delay_missing) != - ]]; then
	say "note: $(get $M delay_missing) (delta, client) pairs were never reflected by a frame (see $OUT/logs/master-main.txt)"
fi

if [[ -n $PROFILE_BIN ]]; then
	PROF=$OUT/master-profile.txt
	{
		echo "# perf record -F 499 -g of the master during the main scenario; self time, then inclusive"
		perf report -i "$OUT/logs/master-main.perf.data" --no-children --sort sym -g none --percent-limit 1 2>/dev/null | grep -v '^#' | grep .
		echo
		perf report -i "$OUT/logs/master-main.perf.data" --children --sort sym -g none --percent-limit 3 2>/dev/null | grep -v '^#' | grep . | grep -v '\[k\]'
	} >"$PROF"
	say ""
	say "profile (inclusive, user space, scheduler frames left out, top 15; all of it in $PROF):"
	sed -n '/^$/,$p' "$PROF" | grep . | grep -vE 'runtime\.(goexit|mstart|mcall|systemstack|park_m|schedule|findRunnable)' |
		head -n 15 | cut -c1-150 | tee -a "$REPORT"
fi
echo "report written to $REPORT; logs in $OUT/logs" >&2
