// quickstart.js — your first Stampede script.
//
// Stampede runs ordinary k6 scripts, so everything here is k6 JavaScript.
// In swarm mode (`-u 50 -r 10`) Stampede decides how many virtual users run
// and for how long; each user calls the default function below over and over.
//
// Start the demo target first (`go run ./examples/target`), then:
//
//   bin/stampede-master -f examples/quickstart.js --local-workers 2 --headless -u 50 -r 10 -t 30s
//
// Point it elsewhere with TARGET, e.g. `TARGET=http://10.0.0.5:8080 bin/stampede-master ...`.

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
