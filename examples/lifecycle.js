// lifecycle.js — setup(), default and teardown() across a fleet of workers.
//
// However many workers run this, setup() and teardown() run once for the
// whole test, and every iteration sees the data setup() returned. The demo
// target's /stats endpoint shows it: after a run, /login and /status/204 have
// been hit exactly once and /json 300 times.
//
//   bin/stampede-master -f examples/lifecycle.js --local-workers 3 --headless

import http from 'k6/http';
import { check, group } from 'k6';
import { Counter } from 'k6/metrics';

const BASE = __ENV.TARGET || 'http://127.0.0.1:8080';

// A custom metric. Workers report their parts; the master adds them up, so it
// must total exactly 300 at the end.
const iterations = new Counter('stampede_iterations_custom');

export const options = {
  scenarios: {
    api: {
      // 300 iterations shared by 6 users: whoever is free takes the next one.
      executor: 'shared-iterations',
      vus: 6,
      iterations: 300,
      maxDuration: '30s',
    },
  },
};

// Runs once, before any user starts. What it returns is handed to every
// iteration and to teardown(), so it must be plain JSON-serialisable data.
export function setup() {
  const res = http.post(
    `${BASE}/login`,
    JSON.stringify({ user: 'demo', password: 'demo' }),
    { headers: { 'Content-Type': 'application/json' }, tags: { name: 'setup-login' } },
  );
  if (res.status !== 200) {
    throw new Error(`login failed: ${res.status} ${res.body}`);
  }
  return { token: res.json('token') };
}

export default function (data) {
  group('api', () => {
    const res = http.get(`${BASE}/json`, {
      headers: { Authorization: `Bearer ${data.token}` },
      tags: { name: 'json' },
    });
    check(res, {
      'status is 200': (r) => r.status === 200,
      'has token': () => typeof data.token === 'string' && data.token.length > 0,
    });
    iterations.add(1);
  });
}

// Runs once, after every user has finished.
export function teardown(data) {
  http.get(`${BASE}/status/204`, { tags: { name: 'teardown' } });
}
