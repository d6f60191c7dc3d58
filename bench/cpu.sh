#!/usr/bin/env bash
# bench/cpu.sh — CPU cost of a Stampede local run against plain `k6 run`.
#
# Runs bench/constant.js (a constant-arrival-rate scenario) against the demo
# target, alternately with plain k6 (`stampede-master k6 run`, which is k6
# v1.8.1 itself) and with Stampede (master + 1 local worker, script mode),
# REPEATS times each. For every run it measures the CPU seconds (user + sys)
# of the whole process tree with GNU time and counts the requests the target
# served (GET /stats, reset before each run). It prints CPU seconds per 1,000
# requests, the median per tool and the ratio stampede / k6.
#
# This is a report, not a test: the ratio never fails the script. The script
# fails only when a run cannot be measured (a tool exits non-zero, the target
# served nothing, ...).
#
# Environment:
#   REPEATS   runs per tool (default 3)
#   RATE      requests per second of the scenario (default 2000)
#   DURATION  scenario duration (default 10s)
#   OUT       directory for the report and logs (default tmp/bench)
#   GEN_CPU   core(s) for the load generator (default 0)
#   TARGET_CPU core(s) for the target (default 1)
#   NO_PIN=1  do not use taskset
#
# See bench/README.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

REPEATS=${REPEATS:-3}
RATE=${RATE:-2000}
DURATION=${DURATION:-10s}
OUT=${OUT:-tmp/bench}
GEN_CPU=${GEN_CPU:-0}
TARGET_CPU=${TARGET_CPU:-1}
SCRIPT=bench/constant.js
MASTER=bin/stampede-master
TARGET_BIN=bin/stampede-target
TIME=/usr/bin/time

export K6_NO_USAGE_REPORT=true
export K6_AUTO_EXTENSION_RESOLUTION=false
export K6_BINARY_PROVISIONING=false

die() { echo "bench/cpu.sh: $*" >&2; exit 1; }

[[ $REPEATS =~ ^[1-9][0-9]*$ ]] || die "REPEATS must be a positive integer, got '$REPEATS'"
command -v curl >/dev/null || die "curl is required"
if [[ ! -x $TIME ]]; then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		echo "installing GNU time (Debian package 'time')..." >&2
		apt-get install -y time >/dev/null || { apt-get update >/dev/null && apt-get install -y time >/dev/null; }
	fi
	[[ -x $TIME ]] || die "GNU time ($TIME) is required: apt-get install -y time"
fi

# Binaries: the Makefile builds them; build whatever is missing.
[[ -x $MASTER ]] || { echo "building $MASTER..." >&2; go build -o "$MASTER" ./cmd/master; }
[[ -x $TARGET_BIN ]] || { echo "building $TARGET_BIN..." >&2; go build -o "$TARGET_BIN" ./examples/target; }

# CPU pinning: generator and target on different cores so they do not compete.
GEN_PIN=() TGT_PIN=() PINNING="none (taskset unavailable)"
if [[ ${NO_PIN:-} == 1 ]]; then
	PINNING="none (NO_PIN=1)"
elif command -v taskset >/dev/null; then
	if taskset -c "$GEN_CPU" true 2>/dev/null && taskset -c "$TARGET_CPU" true 2>/dev/null; then
		GEN_PIN=(taskset -c "$GEN_CPU") TGT_PIN=(taskset -c "$TARGET_CPU")
		PINNING="generator on CPU $GEN_CPU, target on CPU $TARGET_CPU"
	else
		PINNING="none (cannot pin to CPUs $GEN_CPU/$TARGET_CPU on this machine)"
	fi
fi

mkdir -p "$OUT/logs"
REPORT=$OUT/cpu.txt
: >"$REPORT"
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }

# --- target -----------------------------------------------------------------
TARGET_PID="" RUN_PID="" MAIN_PID=""
cleanup() {
	# A run still going (interrupted): stop the tool, then the target.
	if [[ -n $MAIN_PID ]] && kill -0 "$MAIN_PID" 2>/dev/null; then
		kill -TERM "$MAIN_PID" 2>/dev/null || true
	fi
	if [[ -n $RUN_PID ]]; then
		wait "$RUN_PID" 2>/dev/null || true
	fi
	if [[ -n $TARGET_PID ]] && kill -0 "$TARGET_PID" 2>/dev/null; then
		kill "$TARGET_PID" 2>/dev/null || true
		wait "$TARGET_PID" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${TGT_PIN[@]}" "$TARGET_BIN" --listen 127.0.0.1:0 >"$OUT/logs/target.out" 2>"$OUT/logs/target.err" &
TARGET_PID=$!
URL=""
for _ in $(seq 100); do
	URL=$(sed -n 's/^target listening on \(http:\/\/[^ ]*\)$/\1/p' "$OUT/logs/target.out" 2>/dev/null | head -n1)
	[[ -n $URL ]] && break
	kill -0 "$TARGET_PID" 2>/dev/null || die "the target exited: $(cat "$OUT/logs/target.err")"
	sleep 0.1
done
[[ -n $URL ]] || die "the target did not announce its address within 10s"

reset_target() { curl -fsS -X POST "$URL/reset" >/dev/null; }
target_total() {
	local body
	body=$(curl -fsS "$URL/stats")
	[[ $body =~ \"total\":([0-9]+) ]] || die "unexpected /stats answer: $body"
	echo "${BASH_REMATCH[1]}"
}

# --- one measured run -------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
# A descriptor nobody writes to: `read -t` on it sleeps without forking.
exec {NAPFD}<> <(:)
nap() { read -r -t "$1" -u "$NAPFD" _ || true; }

# measure NAME ARGS...: runs ARGS under GNU time on the generator core and
# sets REQS, CPU (user+sys of the whole tree), WALL and SELF_CPU: the CPU of
# the main process alone, without the processes it started (Stampede's k6
# children), taken from its last /proc sample (so up to ~50 ms stale).
measure() {
	local name=$1
	shift
	local tfile=$OUT/logs/$name.time log=$OUT/logs/$name.log
	reset_target
	"${GEN_PIN[@]}" "$TIME" -o "$tfile" -f '%e %U %S %x' "$@" >"$log" 2>&1 &
	local tpid=$! mpid="" stat="" line
	RUN_PID=$tpid MAIN_PID=""
	while kill -0 "$tpid" 2>/dev/null; do
		if [[ -z $mpid && -r /proc/$tpid/task/$tpid/children ]]; then
			read -r mpid _ </proc/"$tpid"/task/"$tpid"/children || true
			MAIN_PID=$mpid
		fi
		if [[ -n $mpid ]] && read -r line </proc/"$mpid"/stat 2>/dev/null; then
			stat=$line
		fi
		nap 0.05
	done
	local rc=0
	wait "$tpid" || rc=$?
	RUN_PID="" MAIN_PID=""
	local e u s x
	read -r e u s x <"$tfile" || true
	if [[ $rc != 0 || ${x:-1} != 0 ]]; then
		tail -n 20 "$log" >&2
		die "$name failed (exit ${x:-$rc}); log: $log"
	fi
	read -r LOAD _ </proc/loadavg
	REQS=$(target_total)
	((REQS > 0)) || die "$name: the target served no requests; log: $log"
	WALL=$e
	CPU=$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')
	SELF_CPU="-"
	if [[ -n $stat ]]; then
		local -a f
		read -r -a f <<<"${stat##*) }" # fields from 3 (state) on: the comm may contain spaces
		# f[11], f[12] are utime, stime (fields 14, 15 of proc(5)).
		SELF_CPU=$(awk -v a="${f[11]}" -v b="${f[12]}" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (a + b) / t }')
	fi
}

# --- runs -------------------------------------------------------------------
ROWS=()
run_k6() {
	measure "k6-$1" "$MASTER" k6 run --quiet --no-summary -e TARGET="$URL" \
		-e RATE="$RATE" -e DURATION="$DURATION" "$SCRIPT"
}
run_stampede() {
	measure "stampede-$1" "$MASTER" -f "$SCRIPT" --local-workers 1 --headless \
		--master-bind 127.0.0.1:0 -e TARGET="$URL" -e RATE="$RATE" -e DURATION="$DURATION" \
		--summary-json "$OUT/logs/stampede-$1.summary.json"
}
record() { # record RUN TOOL
	local per
	per=$(awk -v c="$CPU" -v r="$REQS" 'BEGIN { printf "%.4f", c * 1000 / r }')
	ROWS+=("$1 $2 $REQS $CPU $per $WALL $SELF_CPU $LOAD")
	printf '  run %d %-9s %7d requests  %6.2f CPU s  %.4f CPU s/1000 req  (wall %ss, main process alone %s CPU s, load %s)\n' \
		"$1" "$2" "$REQS" "$CPU" "$per" "$WALL" "$SELF_CPU" "$LOAD" >&2
}

# Warm the page cache so the first run does not pay for reading the binary.
"$MASTER" k6 version >/dev/null 2>&1 || true

echo "target $URL; pinning: $PINNING; $REPEATS repeats of $RATE req/s for $DURATION per tool..." >&2
for ((i = 1; i <= REPEATS; i++)); do
	# Alternate which tool goes first so neither always runs on a fresher machine.
	if ((i % 2 == 1)); then
		run_k6 "$i"; record "$i" k6
		run_stampede "$i"; record "$i" stampede
	else
		run_stampede "$i"; record "$i" stampede
		run_k6 "$i"; record "$i" k6
	fi
done

# --- report -----------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.4f", v[(NR + 1) / 2]; else printf "%.4f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column_of() { # column_of TOOL FIELD
	local r
	for r in "${ROWS[@]}"; do
		read -r -a f <<<"$r"
		[[ ${f[1]} == "$1" ]] && echo "${f[$2]}"
	done
	return 0
}

say "Stampede CPU benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')"
say "script $SCRIPT ($RATE req/s constant arrival rate for $DURATION), target $URL"
say "k6:       $MASTER k6 run --quiet --no-summary (embedded $("$MASTER" k6 version 2>/dev/null | head -n1 || echo 'k6'))"
say "stampede: $MASTER -f $SCRIPT --local-workers 1 --headless (script mode)"
say "CPU = user + sys of the whole process tree (GNU time, children included); requests counted by the target"
say "main CPU = the main process alone (stampede: master + in-process worker, without its k6 children)"
say "load = 1-minute load average when the run ended (other work on the machine makes timings noisy)"
say "pinning: $PINNING; $(nproc) CPUs; $(uname -sr)"
say ""
say "$(printf '%-4s %-9s %9s %8s %12s %7s %9s %6s' run tool requests 'CPU s' 'CPU s/1000' 'wall s' 'main CPU' load)"
for r in "${ROWS[@]}"; do
	read -r -a f <<<"$r"
	say "$(printf '%-4s %-9s %9d %8.2f %12.4f %7.2f %9s %6s' "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]}" "${f[4]}" "${f[5]}" "${f[6]}" "${f[7]}")"
done
say ""
K6_MED=$(column_of k6 4 | median)
ST_MED=$(column_of stampede 4 | median)
say "$(printf 'median k6       %.4f CPU s per 1000 requests (CPU %.2f s, %.0f requests)' "$K6_MED" "$(column_of k6 3 | median)" "$(column_of k6 2 | median)")"
say "$(printf 'median stampede %.4f CPU s per 1000 requests (CPU %.2f s, %.0f requests)' "$ST_MED" "$(column_of stampede 3 | median)" "$(column_of stampede 2 | median)")"
# Per repeat, stampede over k6 of the same repeat: the two ran back to back,
# so this pairs away slow drifts in machine load. Shown for judging noise.
declare -A PER
for r in "${ROWS[@]}"; do
	read -r -a f <<<"$r"
	PER[${f[1]},${f[0]}]=${f[4]}
done
PAIRED=()
for ((i = 1; i <= REPEATS; i++)); do
	PAIRED+=("$(awk -v s="${PER[stampede,$i]}" -v k="${PER[k6,$i]}" 'BEGIN { printf "%.4f", s / k }')")
done
say "paired ratios per repeat: $(printf '%s\n' "${PAIRED[@]}" | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 }')  (median $(printf '%s\n' "${PAIRED[@]}" | median | awk '{ printf "%.2f", $1 }'))"
say "$(awk -v s="$ST_MED" -v k="$K6_MED" 'BEGIN { printf "ratio (stampede / k6 CPU per 1000 requests): %.2f  (target <= 1.05)", s / k }')"
NCPU=$(nproc)
MAXLOAD=$(for r in "${ROWS[@]}"; do read -r -a f <<<"$r"; echo "${f[7]}"; done | sort -g | tail -n1)
if awk -v l="$MAXLOAD" -v n="$NCPU" 'BEGIN { exit !(l > n) }'; then
	say "warning: the machine was busy (load average up to $MAXLOAD on $NCPU CPUs): other work competed with the runs, so these timings are noisy"
fi
echo "report written to $REPORT; logs in $OUT/logs" >&2
