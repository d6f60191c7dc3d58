// gate.js — a CI performance gate: thresholds decide the exit code (0 passed, 99 failed).
//
//   bin/stampede-master -f examples/gate.js --local-workers 2 --headless -u 10 -r 10 -t 20s \
//     -e TARGET=http://127.0.0.1:8080 -e SLOW_MS=50 --junit junit.xml --summary-md summary.md
//
// Stampede judges the thresholds on the merged data of every worker (k6 judges each instance on its
// own slice). SLOW_MS sets the demo target's latency, so you can watch the gate fail: SLOW_MS=400.

import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE = __ENV.TARGET || 'http://127.0.0.1:8080';
const SLOW_MS = __ENV.SLOW_MS || '50';

export const options = {
  thresholds: {
    // Every request: 95% within 300 ms.
    http_req_duration: ['p(95)<300'],
    // The named request only (a sub-metric): 99% within 800 ms.
    'http_req_duration{name:slow}': ['p(99)<800'],
    // Stop the whole fleet early if more than 1% fail, but not in the first 10 s.
    http_req_failed: [{ threshold: 'rate<0.01', abortOnFail: true, delayAbortEval: '10s' }],
    checks: ['rate>0.99'],
  },
};

export default function () {
  const res = http.get(`${BASE}/slow?ms=${SLOW_MS}`, { tags: { name: 'slow' } });
  check(res, { 'status is 200': (r) => r.status === 200 });
  http.get(`${BASE}/`, { tags: { name: 'home' } });
  sleep(0.1);
}
