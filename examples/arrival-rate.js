// arrival-rate.js — a k6-style script that brings its own schedule.
//
// Because options.scenarios is set, Stampede runs it in script mode: the
// scenario runs as written and is split across the workers (each one runs its
// share of the rate), so two workers together still start 200 iterations a
// second.
//
//   bin/stampede-master -f examples/arrival-rate.js --local-workers 2 --headless

import http from 'k6/http';
import { check } from 'k6';

const BASE = __ENV.TARGET || 'http://127.0.0.1:8080';

export const options = {
  scenarios: {
    home_rate: {
      // An open model: new iterations start at a fixed rate whether or not
      // earlier ones have finished. Users are taken from a pool that grows
      // from preAllocatedVUs up to maxVUs when the target slows down.
      executor: 'constant-arrival-rate',
      rate: 200,
      timeUnit: '1s',
      duration: '10s',
      preAllocatedVUs: 50,
      maxVUs: 200,
    },
  },
};

// No sleep: the executor sets the pace, and sleeping would only tie up users.
export default function () {
  const res = http.get(`${BASE}/`, { tags: { name: 'home' } });
  check(res, { 'status is 200': (r) => r.status === 200 });
}
