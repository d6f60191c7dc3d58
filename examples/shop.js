// shop.js — a Locust-style swarm: two kinds of users, weighted and tagged, and
// a load shape, in a plain k6 script (docs/locust.md maps Locust onto it).
//
// options.ext.stampede is the one part of k6's options that plain k6 accepts
// and ignores, so `k6 run examples/shop.js` still runs (its default function).
// Stampede reads it:
//   - classes: Locust's User classes. Each names a function the script
//     exports; the master splits every user count by the weights (3 browsers to
//     1 buyer), on every worker, through ramps and live changes.
//   - shape: Locust's LoadTestShape as stages. Started without -u, the run
//     follows them and ends when they end; a live change of users or spawn rate
//     from the UI or API takes over, and the shape stops.
//
//   bin/stampede-master -f examples/shop.js --local-workers 2 --headless       # the shape, 40 s
//   bin/stampede-master -f examples/shop.js --local-workers 2 --headless -u 20 -r 5 -t 30s
//   bin/stampede-master -f examples/shop.js --local-workers 2 --headless -u 8 -t 20s --tags write
//   bin/stampede-master -f examples/shop.js --local-workers 2 -u 8 --class-weights browser=1,buyer=1

import http from 'k6/http';
import { check, group, sleep } from 'k6';

const BASE = __ENV.TARGET || 'http://127.0.0.1:8080';

export const options = {
  ext: {
    stampede: {
      classes: {
        browser: { weight: 3, tags: ['read'] },
        buyer: { weight: 1, tags: ['write'] },
      },
      shape: [
        { duration: '10s', users: 8, spawnRate: 4 }, // warm up to 8 users, 4 a second
        { duration: '20s', users: 20, spawnRate: 4 }, // then 20
        { duration: '10s', users: 4, spawnRate: 0 }, // then 4, at once
      ],
    },
  },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    'http_req_duration{name:checkout}': ['p(95)<500'],
  },
};

// Locust's wait_time = between(0.5, 1.5).
function think() {
  sleep(0.5 + Math.random());
}

// A browser's tasks, weighted as Locust's @task(3) and @task(1): each iteration
// is one task.
export function browser() {
  if (Math.random() < 0.75) {
    const res = http.get(`${BASE}/`, { tags: { name: 'home' } });
    check(res, { 'home is 200': (r) => r.status === 200 });
  } else {
    const res = http.get(`${BASE}/json`, { tags: { name: 'item' } });
    check(res, { 'a catalogue of 10': (r) => r.json('count') === 10 });
  }
  think();
}

// A buyer logs in and checks out: Locust's SequentialTaskSet, as code in order.
export function buyer() {
  group('checkout', () => {
    const login = http.post(`${BASE}/login`, JSON.stringify({ user: 'demo', password: 'demo' }),
      { headers: { 'Content-Type': 'application/json' }, tags: { name: 'login' } });
    check(login, { 'logged in': (r) => r.status === 200 });
    const pay = http.get(`${BASE}/slow?ms=50`, { tags: { name: 'checkout' } });
    check(pay, { 'paid': (r) => r.status === 200 });
  });
  think();
}

// What plain `k6 run` runs; a Stampede swarm with classes runs the classes.
export default function () {
  browser();
}
