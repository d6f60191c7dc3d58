#!/usr/bin/env bash
# bench/cpu.sh — what a Stampede worker costs against plain `k6 run`.
#
# Runs bench/constant.js (VUS virtual users, about RATE requests per second
# in all) against the demo target, with plain k6 (`stampede-worker k6 run`,
# which is k6 v1.8.1 itself) and with one Stampede worker
# (`stampede-worker`, driven by a headless master that is not measured), at
# each VU level of VUS, REPEATS times, interleaved. For every run it measures
# the CPU seconds (user + sys) of the generator's process tree with GNU time,
# the peak RSS of that tree (sampled from /proc), and the requests the target
# served (GET /stats, reset before each run). It prints CPU seconds per 1,000
# requests per tool and VU level, the ratio stampede / k6, and memory per VU.
#
# This is a report, not a test: the ratios never fail the script. The script
# fails only when a run cannot be measured (a tool exits non-zero, the target
# served nothing, ...).
#
# Environment:
#   VUS       VU levels, space-separated (default "50 500")
#   REPEATS   runs per tool and VU level (default 3)
#   RATE      requests per second in all, about (default 2000)
#   DURATION  scenario duration (default 30s)
#   OUT       directory for the report and logs (default tmp/bench)
#   GEN_CPU   core(s) for the load generator (default 0)
#   TARGET_CPU core(s) for the target and the master (default 1)
#   NO_PIN=1  do not use taskset
#
# See bench/README.md.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

read -r -a LEVELS <<<"${VUS:-50 500}"
REPEATS=${REPEATS:-3}
RATE=${RATE:-2000}
DURATION=${DURATION:-30s}
OUT=${OUT:-tmp/bench}
GEN_CPU=${GEN_CPU:-0}
TARGET_CPU=${TARGET_CPU:-1}
SCRIPT=bench/constant.js
MASTER=bin/stampede-master
WORKER=bin/stampede-worker
TARGET_BIN=bin/stampede-target
TIME=/usr/bin/time

export K6_NO_USAGE_REPORT=true
export K6_AUTO_EXTENSION_RESOLUTION=false
export K6_BINARY_PROVISIONING=false

die() { echo "bench/cpu.sh: $*" >&2; exit 1; }

[[ $REPEATS =~ ^[1-9][0-9]*$ ]] || die "REPEATS must be a positive integer, got '$REPEATS'"
((${#LEVELS[@]} > 0)) || die "VUS must name at least one VU level"
for v in "${LEVELS[@]}"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || die "VUS must be positive integers, got '$v'"
done
[[ -r /proc/self/statm ]] || die "Linux /proc is required"
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
[[ -x $WORKER ]] || { echo "building $WORKER..." >&2; go build -o "$WORKER" ./cmd/worker; }
[[ -x $TARGET_BIN ]] || { echo "building $TARGET_BIN..." >&2; go build -o "$TARGET_BIN" ./examples/target; }

NCPU=$(nproc) # before this script pins itself

# CPU pinning: the generator on one core; the target, the master and this
# script (its /proc sampling) on the other, so they do not compete with it.
GEN_PIN=() TGT_PIN=() PINNING="none (taskset unavailable)"
if [[ ${NO_PIN:-} == 1 ]]; then
	PINNING="none (NO_PIN=1)"
elif command -v taskset >/dev/null; then
	if taskset -c "$GEN_CPU" true 2>/dev/null && taskset -c "$TARGET_CPU" true 2>/dev/null; then
		GEN_PIN=(taskset -c "$GEN_CPU") TGT_PIN=(taskset -c "$TARGET_CPU")
		taskset -pc "$TARGET_CPU" $$ >/dev/null
		PINNING="generator on CPU $GEN_CPU; target, master and sampler on CPU $TARGET_CPU"
	else
		PINNING="none (cannot pin to CPUs $GEN_CPU/$TARGET_CPU on this machine)"
	fi
fi

mkdir -p "$OUT/logs"
REPORT=$OUT/cpu.txt
: >"$REPORT"
say() { printf '%s\n' "$*" | tee -a "$REPORT"; }

# --- target -----------------------------------------------------------------
TARGET_PID="" RUN_PID="" MAIN_PID="" MASTER_PID=""
stop_pid() { # stop_pid PID: TERM it if it is still running
	if [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; then
		kill -TERM "$1" 2>/dev/null || true
	fi
}
cleanup() {
	# A run still going (interrupted): stop the tool and the master, then the target.
	stop_pid "$MAIN_PID"
	stop_pid "$MASTER_PID"
	[[ -z $RUN_PID ]] || wait "$RUN_PID" 2>/dev/null || true
	[[ -z $MASTER_PID ]] || wait "$MASTER_PID" 2>/dev/null || true
	stop_pid "$TARGET_PID"
	[[ -z $TARGET_PID ]] || wait "$TARGET_PID" 2>/dev/null || true
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

# --- sampling ---------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
PAGE_KB=$(($(getconf PAGESIZE) / 1024))
# A descriptor nobody writes to: `read -t` on it sleeps without forking.
exec {NAPFD}<> <(:)
nap() { read -r -t "$1" -u "$NAPFD" _ || true; }

# tree_rss PID: sets TREE_KB to the resident memory of PID and all its
# descendants (statm's resident pages, as VmRSS), using builtins only.
tree_rss() {
	TREE_KB=0
	local -a queue=("$1")
	local p c f res kids
	while ((${#queue[@]} > 0)); do
		p=${queue[0]} queue=("${queue[@]:1}")
		if read -r _ res _ </proc/"$p"/statm 2>/dev/null; then
			TREE_KB=$((TREE_KB + res * PAGE_KB))
		fi
		for f in /proc/"$p"/task/*/children; do
			kids=""
			# The file has no newline, so read reports EOF although it read the PIDs.
			read -r kids <"$f" 2>/dev/null || true
			for c in $kids; do queue+=("$c"); done
		done
	done
}

# --- one measured run -------------------------------------------------------
# measure NAME STOP_AFTER ARGS...: runs ARGS under GNU time on the generator
# core. When STOP_AFTER is a PID, the tool is sent SIGTERM once that process
# has exited (the worker does not exit by itself when its run ends). Sets
# REQS, CPU (user+sys of the tool and its waited-for children), WALL,
# PEAK_KB (peak RSS of the tool's process tree, sampled every 100 ms) and
# SELF_CPU: the CPU of the tool's main process alone, without the processes
# it started (the worker's k6 child), from its last /proc sample.
measure() {
	local name=$1 stop_after=$2
	shift 2
	local tfile=$OUT/logs/$name.time log=$OUT/logs/$name.log
	"${GEN_PIN[@]}" "$TIME" -o "$tfile" -f '%e %U %S %x' "$@" >"$log" 2>&1 &
	local tpid=$! mpid="" stat="" line
	RUN_PID=$tpid MAIN_PID="" PEAK_KB=0
	while kill -0 "$tpid" 2>/dev/null; do
		if [[ -z $mpid && -r /proc/$tpid/task/$tpid/children ]]; then
			read -r mpid _ </proc/"$tpid"/task/"$tpid"/children || true
			MAIN_PID=$mpid
		fi
		if [[ -n $mpid ]]; then
			if read -r line </proc/"$mpid"/stat 2>/dev/null; then
				stat=$line
			fi
			tree_rss "$mpid"
			((TREE_KB > PEAK_KB)) && PEAK_KB=$TREE_KB
			if [[ -n $stop_after ]] && ! kill -0 "$stop_after" 2>/dev/null; then
				kill -TERM "$mpid" 2>/dev/null || true
				stop_after=""
			fi
		fi
		nap 0.1
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
script_env() { ENV_ARGS=(-e TARGET="$URL" -e VUS="$1" -e RATE="$RATE" -e DURATION="$DURATION"); }
run_k6() { # run_k6 REPEAT VUS
	reset_target
	script_env "$2"
	# The worker's binary, so both sides run the very executable the worker's child runs.
	measure "k6-$2vu-$1" "" "$WORKER" k6 run --quiet --no-summary "${ENV_ARGS[@]}" "$SCRIPT"
	REQS=$(target_total)
}
run_stampede() { # run_stampede REPEAT VUS
	local name=stampede-$2vu-$1 addr=""
	local mlog=$OUT/logs/$name.master.log
	reset_target
	script_env "$2"
	"${TGT_PIN[@]}" "$MASTER" -f "$SCRIPT" --headless --expect-workers 1 --master-bind 127.0.0.1:0 \
		"${ENV_ARGS[@]}" --summary-json "$OUT/logs/$name.summary.json" >"$mlog" 2>&1 &
	MASTER_PID=$!
	for _ in $(seq 100); do
		addr=$(sed -n 's/.*msg="listening for workers" addr=\([0-9.:]*\).*/\1/p' "$mlog" | head -n1)
		[[ -n $addr ]] && break
		kill -0 "$MASTER_PID" 2>/dev/null || break
		sleep 0.1
	done
	[[ -n $addr ]] || { tail -n 20 "$mlog" >&2; die "$name: the master did not announce its worker address"; }
	measure "$name" "$MASTER_PID" "$WORKER" --master "$addr" --metrics-listen ""
	local rc=0
	wait "$MASTER_PID" || rc=$?
	MASTER_PID=""
	((rc == 0)) || { tail -n 20 "$mlog" >&2; die "$name: the master exited with $rc; log: $mlog"; }
	REQS=$(target_total)
}
record() { # record REPEAT VUS TOOL
	((REQS > 0)) || die "$3 at $2 VUs: the target served no requests; see $OUT/logs"
	local per
	per=$(awk -v c="$CPU" -v r="$REQS" 'BEGIN { printf "%.4f", c * 1000 / r }')
	ROWS+=("$2 $1 $3 $REQS $CPU $per $WALL $SELF_CPU $PEAK_KB $LOAD")
	printf '  %4d VUs run %d %-9s %7d requests  %6.2f CPU s  %.4f CPU s/1000 req  peak RSS %d MB  (wall %ss, main process alone %s CPU s, load %s)\n' \
		"$2" "$1" "$3" "$REQS" "$CPU" "$per" $((PEAK_KB / 1024)) "$WALL" "$SELF_CPU" "$LOAD" >&2
}

# Warm the page cache so the first run does not pay for reading the binaries.
"$MASTER" --help >/dev/null 2>&1 || true
"$WORKER" k6 version >/dev/null 2>&1 || true

echo "target $URL; pinning: $PINNING; $REPEATS repeats at ${LEVELS[*]} VUs, ~$RATE req/s for $DURATION per run..." >&2
for ((i = 1; i <= REPEATS; i++)); do
	for v in "${LEVELS[@]}"; do
		# Alternate which tool goes first so neither always runs on a fresher machine.
		if ((i % 2 == 1)); then
			run_k6 "$i" "$v"; record "$i" "$v" k6
			run_stampede "$i" "$v"; record "$i" "$v" stampede
		else
			run_stampede "$i" "$v"; record "$i" "$v" stampede
			run_k6 "$i" "$v"; record "$i" "$v" k6
		fi
	done
done

# --- report -----------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.4f", v[(NR + 1) / 2]; else printf "%.4f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
column_of() { # column_of VUS TOOL FIELD
	local r
	for r in "${ROWS[@]}"; do
		read -r -a f <<<"$r"
		[[ ${f[0]} == "$1" && ${f[2]} == "$2" ]] && echo "${f[$3]}"
	done
	return 0
}

say "Stampede worker CPU benchmark: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo '+dirty')"
say "script $SCRIPT (constant-vus at ${LEVELS[*]} VUs, each GET followed by sleep(VUS/$RATE), for $DURATION), target $URL"
say "k6:       $WORKER k6 run --quiet --no-summary (embedded $("$WORKER" k6 version 2>/dev/null | head -n1 || echo 'k6'))"
say "stampede: $WORKER --master ADDR --metrics-listen '' (driven by $MASTER --headless --expect-workers 1, not measured)"
say "CPU = user + sys of the tool and its k6 child (GNU time); requests counted by the target"
say "main CPU = the tool's main process alone (stampede: the worker without its k6 child)"
say "peak RSS = the most resident memory of the tool's process tree (worker + k6 child), sampled every 100 ms"
say "load = 1-minute load average when the run ended (other work on the machine makes timings noisy)"
say "pinning: $PINNING; $NCPU CPUs; $(uname -sr)"
say ""
say "$(printf '%-5s %-4s %-9s %9s %8s %12s %7s %9s %9s %6s' VUs run tool requests 'CPU s' 'CPU s/1000' 'wall s' 'main CPU' 'peak MB' load)"
for r in "${ROWS[@]}"; do
	read -r -a f <<<"$r"
	say "$(printf '%-5s %-4s %-9s %9d %8.2f %12.4f %7.2f %9s %9.1f %6s' "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]}" "${f[4]}" "${f[5]}" "${f[6]}" "${f[7]}" "$(awk -v k="${f[8]}" 'BEGIN { print k / 1024 }')" "${f[9]}")"
done
declare -A PER PEAK
for r in "${ROWS[@]}"; do
	read -r -a f <<<"$r"
	PER[${f[0]},${f[2]},${f[1]}]=${f[5]}
done
for v in "${LEVELS[@]}"; do
	say ""
	k6_med=$(column_of "$v" k6 5 | median)
	st_med=$(column_of "$v" stampede 5 | median)
	PEAK[$v,k6]=$(column_of "$v" k6 8 | median)
	PEAK[$v,stampede]=$(column_of "$v" stampede 8 | median)
	say "$(printf '%d VUs: median k6       %.4f CPU s per 1000 requests (CPU %.2f s, %.0f requests, peak RSS %.1f MB)' "$v" "$k6_med" "$(column_of "$v" k6 4 | median)" "$(column_of "$v" k6 3 | median)" "$(awk -v k="${PEAK[$v,k6]}" 'BEGIN { print k / 1024 }')")"
	say "$(printf '%d VUs: median stampede %.4f CPU s per 1000 requests (CPU %.2f s, %.0f requests, peak RSS %.1f MB)' "$v" "$st_med" "$(column_of "$v" stampede 4 | median)" "$(column_of "$v" stampede 3 | median)" "$(awk -v k="${PEAK[$v,stampede]}" 'BEGIN { print k / 1024 }')")"
	# Per repeat, stampede over k6 of the same repeat: the two ran back to
	# back, so this pairs away slow drifts in machine load. Shown for judging noise.
	paired=()
	for ((i = 1; i <= REPEATS; i++)); do
		paired+=("$(awk -v s="${PER[$v,stampede,$i]}" -v k="${PER[$v,k6,$i]}" 'BEGIN { printf "%.4f", s / k }')")
	done
	say "$v VUs: paired ratios per repeat: $(printf '%s\n' "${paired[@]}" | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 }')  (median $(printf '%s\n' "${paired[@]}" | median | awk '{ printf "%.2f", $1 }'))"
	say "$(awk -v v="$v" -v s="$st_med" -v k="$k6_med" 'BEGIN { printf "%d VUs: ratio (stampede / k6 CPU per 1000 requests): %.2f  (target <= 1.05)", v, s / k }')"
	# Noise on a shared machine only ever adds CPU, so each tool's cheapest run is the estimate
	# of its own cost least disturbed by neighbours; shown beside the medians.
	k6_min=$(column_of "$v" k6 5 | sort -g | head -n1)
	st_min=$(column_of "$v" stampede 5 | sort -g | head -n1)
	say "$(awk -v v="$v" -v s="$st_min" -v k="$k6_min" 'BEGIN { printf "%d VUs: cheapest runs: k6 %.4f, stampede %.4f CPU s per 1000 requests, ratio %.2f", v, k, s, s / k }')"
done
if ((${#LEVELS[@]} > 1)); then
	lo=$(printf '%s\n' "${LEVELS[@]}" | sort -n | head -n1)
	hi=$(printf '%s\n' "${LEVELS[@]}" | sort -n | tail -n1)
	if ((hi > lo)); then
		say ""
		per_vu() { awk -v a="${PEAK[$hi,$1]}" -v b="${PEAK[$lo,$1]}" -v d=$((hi - lo)) 'BEGIN { printf "%.1f", (a - b) / d }'; }
		k6_vu=$(per_vu k6)
		st_vu=$(per_vu stampede)
		say "memory per VU (median peak RSS at $hi VUs - at $lo VUs) / $((hi - lo)): k6 $k6_vu KB, stampede $st_vu KB"
		say "$(awk -v s="$st_vu" -v k="$k6_vu" 'BEGIN { if (k > 0) printf "memory per VU ratio (stampede / k6): %.2f", s / k; else print "memory per VU ratio: n/a (k6 grew by nothing)" }')"
	fi
fi
MAXLOAD=$(for r in "${ROWS[@]}"; do read -r -a f <<<"$r"; echo "${f[9]}"; done | sort -g | tail -n1)
if awk -v l="$MAXLOAD" -v n="$NCPU" 'BEGIN { exit !(l > n) }'; then
	say "warning: the machine was busy (load average up to $MAXLOAD on $NCPU CPUs): other work competed with the runs, so these timings are noisy"
fi
echo "report written to $REPORT; logs in $OUT/logs" >&2
