#!/usr/bin/env bash
# bench/engines.sh — the worker's two engines side by side (issue 17): the same load, 50 users in
# a closed loop with no think time against the demo target's /, as a k6 script (the k6 engine, a
# k6 child process) and as a flow (the native engine, in the worker's process), plain `k6 run` of
# the same script (row k6run), and wrk with 50 connections as the reference when it is installed (Debian: apt-get install wrk). The generator
# is pinned to CPU 0, the target and the headless master to CPU 1. For each run it prints the
# requests the target served, the CPU seconds of the generator's process tree (GNU time, children
# included) and CPU microseconds per request, then the medians and their ratios to wrk's. A
# report: no figure fails it.
#
#   bench/engines.sh                    # 3 repeats of each, 12 s each, interleaved
#   REPEATS=5 DURATION=20s bench/engines.sh
#
# Needs Linux, taskset, curl, GNU time (/usr/bin/time) and python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPEATS=${REPEATS:-3}
DURATION=${DURATION:-12s}
USERS=${USERS:-50}
work=$(mktemp -d /tmp/stampede-engines.XXXXXX)
trap 'rm -rf "$work"' EXIT
go build -o "$work/stampede-master" ./cmd/master
go build -o "$work/stampede-worker" ./cmd/worker
go build -o "$work/target" ./examples/target
printf "import http from 'k6/http';\nexport default function () { http.get(__ENV.TARGET + '/'); }\n" >"$work/k6.js"
printf 'kind: stampede/flow/v1\nbaseUrl: ${__ENV.TARGET}\nclasses:\n  home:\n    steps: [ { get: / } ]\n' >"$work/flow.yaml"

taskset -c 1 "$work/target" --listen 127.0.0.1:0 >"$work/target.out" 2>/dev/null &
target_pid=$!
trap 'kill $target_pid 2>/dev/null; rm -rf "$work"' EXIT
until grep -q "listening on" "$work/target.out"; do sleep 0.1; done
url=$(sed -n 's/^target listening on //p' "$work/target.out")

one() { # one SCRIPT: prints "engine requests cpu_s us_per_request"
	local script=$1 port
	port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
	curl -fs -X POST "$url/reset" >/dev/null
	taskset -c 1 "$work/stampede-master" -f "$work/$script" --headless -u "$USERS" -t "$DURATION" \
		--expect-workers 1 --master-bind "127.0.0.1:$port" -e "TARGET=$url" >/dev/null 2>"$work/master.err" &
	local master_pid=$!
	/usr/bin/time -f "%U %S" -o "$work/cpu.txt" taskset -c 0 "$work/stampede-worker" --master "127.0.0.1:$port" >/dev/null 2>&1 &
	local time_pid=$!
	wait "$master_pid" || { echo "the master failed:" >&2; tail -5 "$work/master.err" >&2; exit 1; }
	kill -TERM "$(pgrep -P "$time_pid")" 2>/dev/null || true
	wait "$time_pid" || true
	local requests
	requests=$(curl -fs "$url/stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["total"])')
	read -r user sys <"$work/cpu.txt"
	python3 -c "u,s,r=$user,$sys,$requests;print('%-6s %9d %7.2f %7.1f' % ('$2', r, u+s, (u+s)/r*1e6))"
}

k6_run() { # k6_run: plain `k6 run` (the k6 v1.8.1 the worker embeds), no Stampede around it
	curl -fs -X POST "$url/reset" >/dev/null
	/usr/bin/time -f "%U %S" -o "$work/cpu.txt" taskset -c 0 "$work/stampede-worker" k6 run --quiet --no-summary \
		--vus "$USERS" --duration "$DURATION" -e "TARGET=$url" "$work/k6.js" >/dev/null 2>&1
	local requests
	requests=$(curl -fs "$url/stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["total"])')
	read -r user sys <"$work/cpu.txt"
	python3 -c "u,s,r=$user,$sys,$requests;print('%-6s %9d %7.2f %7.1f' % ('k6run', r, u+s, (u+s)/r*1e6))"
}

wrk_run() { # wrk_run: prints "wrk requests cpu_s us_per_request"
	curl -fs -X POST "$url/reset" >/dev/null
	/usr/bin/time -f "%U %S" -o "$work/cpu.txt" taskset -c 0 wrk -t 1 -c "$USERS" -d "$DURATION" "$url/" >/dev/null 2>&1
	local requests
	requests=$(curl -fs "$url/stats" | python3 -c 'import json,sys;print(json.load(sys.stdin)["total"])')
	read -r user sys <"$work/cpu.txt"
	python3 -c "u,s,r=$user,$sys,$requests;print('%-6s %9d %7.2f %7.1f' % ('wrk', r, u+s, (u+s)/r*1e6))"
}

echo "engine  requests   cpu-s   us/req   ($USERS users, $DURATION, generator on CPU 0)"
for _ in $(seq "$REPEATS"); do
	one k6.js k6
	one flow.yaml native
	k6_run
	if command -v wrk >/dev/null; then wrk_run; fi
done | tee "$work/runs.txt"
python3 - "$work/runs.txt" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, _, _, us = line.split()
    runs.setdefault(name, []).append(float(us))
med = {k: statistics.median(v) for k, v in runs.items()}
print("medians (us/req):", ", ".join(f"{k} {v:.1f}" for k, v in med.items()))
if "wrk" in med:
    print("ratio to wrk:", ", ".join(f"{k} {v / med['wrk']:.2f}" for k, v in med.items() if k != "wrk"))
PY
