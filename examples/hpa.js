// hpa.js — load that makes the demo target's HorizontalPodAutoscaler scale.
//
// Each request asks the target to burn CPU_MS milliseconds of CPU (/cpu?ms=N, see
// target/targetsrv/doc.go), so the target's CPU use follows the load: each user keeps about
// CPU_MS / (CPU_MS + 1000 × PAUSE) of a core busy while the target keeps up. Once its pods are
// saturated requests queue and answer later, as a real CPU-bound service's would, until the HPA
// adds pods. Swarm mode: the command line (or the chart's run values) sets users and duration,
// and adds any thresholds; the script has none of its own.
//
//   bin/stampede-master -f examples/hpa.js --local-workers 2 --headless -u 5 -r 1 -t 2m \
//     -e TARGET=http://127.0.0.1:8080 -e CPU_MS=20 -e PAUSE=0.05

import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE = __ENV.TARGET || 'http://127.0.0.1:8080';
// CPU each request costs the target, in milliseconds (at most its --max-cpu-ms, 1000 by default).
const CPU_MS = __ENV.CPU_MS || '20';
// Think time between requests, in seconds.
const PAUSE = Number(__ENV.PAUSE || 0.05);

export const options = {
  // A Service spreads connections, not requests, over its pods: with kept-alive connections every
  // user would stay on the pod it first reached, and the pods the HPA adds would get nothing.
  noConnectionReuse: true,
};

export default function () {
  // One name for every request, whatever CPU_MS is.
  const res = http.get(`${BASE}/cpu?ms=${CPU_MS}`, { tags: { name: 'cpu' } });
  check(res, { 'cpu status is 200': (r) => r.status === 200 });
  sleep(PAUSE);
}
