#!/usr/bin/env bash
# bench/soak.sh — a long steady run on real processes, to see whether anything grows.
#
# Starts the demo target, a headless master (quickstart.js, USERS users for SOAK_DURATION, web
# listener on for /metrics) and two worker processes, all on loopback. Every INTERVAL seconds it
# samples each process's /metrics: process_resident_memory_bytes, go_memstats_heap_inuse_bytes and
# go_goroutines, and the RSS of each worker's k6 child (the process that makes the requests) from
# /proc as k6_child_rss_bytes. At the end it prints the samples, the least-squares slope of each
# series over the samples between WARMUP and the end of the run (bytes/min, goroutines/min) and the
# totals check: the requests the target counted must equal the master's total.
#
# This is a report, not a test: no slope fails it. It fails when it cannot measure, or when the
# totals disagree.
#
# Environment:
#   SOAK_DURATION  run time (default 10m; 60s for a quick check): a Go duration of s, m or h
#   USERS          users (default 20), SPAWN_RATE users/s (default 10)
#   INTERVAL       seconds between samples (default 10)
#   WARMUP         seconds of samples left out of the slopes (default 30)
#   OUT            directory for logs and the samples CSV (default tmp/soak)
#   NO_BUILD=1     use bin/ as it is (make soak has just built it)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SOAK_DURATION=${SOAK_DURATION:-10m}
USERS=${USERS:-20}
SPAWN_RATE=${SPAWN_RATE:-10}
INTERVAL=${INTERVAL:-10}
WARMUP=${WARMUP:-30}
OUT=${OUT:-tmp/soak}

die() { echo "bench/soak.sh: $*" >&2; exit 1; }
say() { echo "soak: $*" >&2; }

case $SOAK_DURATION in
*h) seconds=$(( ${SOAK_DURATION%h} * 3600 )) ;;
*m) seconds=$(( ${SOAK_DURATION%m} * 60 )) ;;
*s) seconds=${SOAK_DURATION%s} ;;
*) die "SOAK_DURATION must be a whole number of s, m or h, e.g. 60s or 10m; got '$SOAK_DURATION'" ;;
esac
for v in seconds USERS INTERVAL WARMUP; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"
done
for tool in curl jq awk; do
	command -v $tool >/dev/null || die "needs $tool"
done

[[ ${NO_BUILD:-} == 1 ]] || make --no-print-directory build >&2
mkdir -p "$OUT"
rm -f "$OUT"/*.log "$OUT/samples.csv" "$OUT/summary.json"

PIDS=()
cleanup() {
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT

# await FILE SED-EXPRESSION PID: the first match of the expression in FILE, within 10 s.
await() {
	local v=""
	for _ in $(seq 100); do
		v=$(sed -n "$2" "$1" | head -n1)
		[[ -n $v ]] && { echo "$v"; return; }
		kill -0 "$3" 2>/dev/null || die "process $3 exited: $(tail -n 5 "$1")"
		sleep 0.1
	done
	die "no address in $1 within 10s"
}

bin/stampede-target --listen 127.0.0.1:0 >"$OUT/target.log" 2>&1 &
PIDS+=($!)
TARGET=$(await "$OUT/target.log" 's/^target listening on //p' $!)

bin/stampede-master -f examples/quickstart.js --headless -u "$USERS" -r "$SPAWN_RATE" -t "${seconds}s" \
	--expect-workers 2 --master-bind 127.0.0.1:0 --web-listen 127.0.0.1:0 \
	--summary-json "$OUT/summary.json" -e TARGET="$TARGET" >"$OUT/master.out" 2>"$OUT/master.log" &
MASTER_PID=$!
PIDS+=($MASTER_PID)
GRPC=$(await "$OUT/master.log" 's/.*msg="listening for workers" addr=\([^ ]*\).*/\1/p' $MASTER_PID)
WEB=$(await "$OUT/master.log" 's/^web UI on \(http:\/\/[^ ]*\)$/\1/p' $MASTER_PID)

declare -A METRICS=([master]="$WEB/metrics")
declare -A WPID=()
for w in 1 2; do
	bin/stampede-worker --master "$GRPC" --metrics-listen 127.0.0.1:0 >"$OUT/worker$w.log" 2>&1 &
	pid=$!
	PIDS+=($pid)
	WPID[worker$w]=$pid
	addr=$(await "$OUT/worker$w.log" 's/.*msg="serving \/metrics, \/healthz and \/readyz" addr=\([^ ]*\).*/\1/p' $pid)
	METRICS[worker$w]="http://$addr/metrics"
done
PROCS=(master worker1 worker2)
SERIES=(process_resident_memory_bytes go_memstats_heap_inuse_bytes go_goroutines)

say "target $TARGET, master $GRPC (metrics $WEB/metrics), 2 workers; $USERS users for ${seconds}s, a sample every ${INTERVAL}s"
echo "seconds,process,series,value" >"$OUT/samples.csv"
start=$(date +%s)
while kill -0 "$MASTER_PID" 2>/dev/null; do
	now=$(( $(date +%s) - start ))
	for p in "${PROCS[@]}"; do
		body=$(curl -fsS --max-time 5 "${METRICS[$p]}" 2>/dev/null) || continue
		for s in "${SERIES[@]}"; do
			v=$(awk -v s="$s" '$1 == s { printf "%.0f", $2 }' <<<"$body")
			[[ -n $v ]] && echo "$now,$p,$s,$v" >>"$OUT/samples.csv"
		done
		[[ -n ${WPID[$p]:-} ]] || continue
		for child in $(pgrep -P "${WPID[$p]}" || true); do
			kb=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$child/status" 2>/dev/null || true)
			[[ -n $kb ]] && echo "$now,$p,k6_child_rss_bytes,$(( kb * 1024 ))" >>"$OUT/samples.csv"
		done
	done
	# Sleep in short steps so the end of the run is noticed at once.
	for _ in $(seq $(( INTERVAL * 10 ))); do
		kill -0 "$MASTER_PID" 2>/dev/null || break
		sleep 0.1
	done
done
set +e
wait "$MASTER_PID"
code=$?
set -e
[[ -s $OUT/summary.json ]] || die "the master wrote no summary (exit $code); see $OUT/master.log"

# Only samples taken while the load ran: the master lingers a moment to write its reports, the
# workers idle after it.
awk -F, -v end="$seconds" 'NR == 1 || $1 <= end' "$OUT/samples.csv" >"$OUT/samples-run.csv"

echo
echo "Samples (RSS, heap and the k6 child's RSS in MiB; goroutines):"
awk -F, -v procs="${PROCS[*]}" '
	NR == 1 { next }
	{ v[$1, $2, $3] = $4; if (!($1 in seen)) { seen[$1] = 1; ts[++n] = $1 } }
	END {
		np = split(procs, P, " ")
		printf "%6s", "t(s)"
		for (i = 1; i <= np; i++) printf " | %-7s %6s %6s %4s%s", P[i], "rss", "heap", "gor", P[i] == "master" ? "" : "    k6"
		printf "\n"
		for (k = 1; k <= n; k++) {
			t = ts[k]; printf "%6d", t
			for (i = 1; i <= np; i++) {
				printf " | %-7s %6.1f %6.1f %4d", "", v[t, P[i], "process_resident_memory_bytes"] / 1048576,
					v[t, P[i], "go_memstats_heap_inuse_bytes"] / 1048576, v[t, P[i], "go_goroutines"]
				if (P[i] != "master") printf " %5.1f", v[t, P[i], "k6_child_rss_bytes"] / 1048576
			}
			printf "\n"
		}
	}' "$OUT/samples-run.csv"

echo
echo "Slopes (least squares over the samples after ${WARMUP}s):"
awk -F, -v warm="$WARMUP" '
	NR == 1 || $1 < warm { next }
	{ k = $2 " " $3; x = $1 / 60; n[k]++; sx[k] += x; sy[k] += $4; sxx[k] += x * x; sxy[k] += x * $4
	  if (!(k in first)) first[k] = $4; last[k] = $4 }
	END {
		for (k in n) {
			d = n[k] * sxx[k] - sx[k] * sx[k]
			slope = d > 0 ? (n[k] * sxy[k] - sx[k] * sy[k]) / d : 0
			split(k, f, " ")
			unit = f[2] == "go_goroutines" ? "goroutines/min" : "bytes/min"
			printf "  %-8s %-31s %+14.1f %-15s (n=%d, first %s, last %s)\n", f[1], f[2], slope, unit, n[k], first[k], last[k]
		}
	}' "$OUT/samples-run.csv" | sort

target_total=$(curl -fsS "$TARGET/stats" | jq .total)
master_total=$(jq .totals.requests "$OUT/summary.json")
failures=$(jq .totals.failures "$OUT/summary.json")
echo
echo "Totals: target counted $target_total requests, the master $master_total ($failures failed); master exit code $code"
[[ $target_total == "$master_total" && $master_total -gt 0 ]] || die "the totals disagree"
echo "Totals agree."
