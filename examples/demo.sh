#!/usr/bin/env bash
# The local demo (`make demo`): the demo target on a free loopback port, then a 20-second headless
# swarm run of examples/quickstart.js with a master and 2 local workers. Stops by itself.
# With --ui (`make demo-ui`): the same master, workers and target with the web UI on
# http://127.0.0.1:8089 (WEB_LISTEN), prefilled with USERS and SPAWN_RATE; it runs until Ctrl+C.
set -euo pipefail
cd "$(dirname "$0")/.."

# http_get prints the body of a GET of http://HOST:PORT/PATH, with curl or, where there is none
# (a machine with only Go), bash's /dev/tcp.
http_get() {
  if command -v curl >/dev/null; then curl -sf "$1"; return; fi
  local rest=${1#http://} hostport path
  hostport=${rest%%/*} path=/${rest#*/}
  exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" || return
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
  sed '1,/^\r$/d' <&3
  exec 3<&-
}

out=$(mktemp)
bin/stampede-target --listen 127.0.0.1:0 >"$out" 2>/dev/null &
target_pid=$!
trap 'kill $target_pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 100); do
  url=$(sed -n 's/^target listening on //p' "$out")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the demo target did not start" >&2; exit 1; }
echo "demo target at $url"

if [ "${1:-}" = --ui ]; then
  bin/stampede-master -f examples/quickstart.js --local-workers 2 \
    -u "${USERS:-20}" -r "${SPAWN_RATE:-5}" --web-listen "${WEB_LISTEN:-127.0.0.1:8089}" \
    --master-bind 127.0.0.1:0 -e "TARGET=$url" --log-level warn
  exit
fi

summary=${SUMMARY_JSON:-tmp/demo-summary.json}
# No mkdir: the master creates a report's missing directories before any load (a fresh clone has
# no tmp/), and a path it cannot write stops it with exit 2 naming the path.
bin/stampede-master -f examples/quickstart.js --local-workers 2 --headless \
  -u "${USERS:-20}" -r "${SPAWN_RATE:-5}" -t "${RUN_TIME:-20s}" \
  --master-bind 127.0.0.1:0 -e "TARGET=$url" --summary-json "$summary" \
  --log-level warn
echo "counted at the target: $(http_get "$url/stats" || echo '?')"
