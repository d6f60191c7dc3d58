// modules.js — a script made of more than one file.
//
// It imports a local module and reads a data file at init time. Stampede
// bundles both with the script, so workers need nothing but what the master
// sends them:
//
//   bin/stampede-master -f examples/modules.js --local-workers 2 --headless -u 10 -r 5 -t 20s

import http from 'k6/http';
import { check, sleep } from 'k6';
import { pick, query } from './lib/util.js';

const BASE = __ENV.TARGET || 'http://127.0.0.1:8080';

// open() is only allowed in init code. The path is relative to this script.
const users = JSON.parse(open('./data/users.json'));

export default function () {
  const u = pick(users);
  // The query string only makes each request identifiable in target logs;
  // the shared name keeps the results on one row.
  const res = http.get(`${BASE}/json${query({ user: u.user })}`, { tags: { name: 'json' } });
  check(res, {
    'status is 200': (r) => r.status === 200,
    'loaded users': () => users.length === 5,
  });
  sleep(0.2);
}
