// The chart's default script, a copy of examples/quickstart.js: it runs when no script is given
// (--set-file script=test.js). It aims at __ENV.TARGET, which the chart sets to the demo target's
// Service when target.enabled is true.

import http from 'k6/http';
import { check, group, sleep } from 'k6';

// Code outside the functions is "init code": it runs once per user, before the
// first iteration. Read configuration here; do not make requests here.
const BASE = __ENV.TARGET || 'http://127.0.0.1:8080';

// options may set thresholds — pass/fail rules checked at the end of the run
// (the exit code is non-zero when one fails). Leave out vus/duration/scenarios:
// in swarm mode the -u/-r/-t flags or the web UI decide those.
export const options = {
  thresholds: {
    // 95% of requests must complete within 500 ms...
    http_req_duration: ['p(95)<500'],
    // ...and fewer than 1% may fail.
    http_req_failed: ['rate<0.01'],
  },
};

// A random whole number in [min, max].
function randomInt(min, max) {
  return min + Math.floor(Math.random() * (max - min + 1));
}

// One iteration: what a single user does, start to finish.
export default function () {
  // A group nests the results of the requests inside it under one name.
  group('browse', () => {
    // tags.name is the name results are reported under. Without it each
    // distinct URL would get its own row.
    const home = http.get(`${BASE}/`, { tags: { name: 'home' } });
    check(home, {
      'home status is 200': (r) => r.status === 200,
    });

    const list = http.get(`${BASE}/json`, { tags: { name: 'json' } });
    check(list, {
      'json status is 200': (r) => r.status === 200,
      'json has 10 items': (r) => r.json('count') === 10,
    });
  });

  // The query string differs each time; the shared name 'slow' keeps all of
  // these on one row instead of forty-one.
  const ms = randomInt(10, 50);
  const slow = http.get(`${BASE}/slow?ms=${ms}`, { tags: { name: 'slow' } });
  check(slow, {
    'slow status is 200': (r) => r.status === 200,
  });

  // Think time: a real user pauses between pages. 0.5–1 s per iteration keeps
  // 50 users a gentle load (under 200 requests per second).
  sleep(0.5 + Math.random() * 0.5);
}
