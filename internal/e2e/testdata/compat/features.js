// What k6 users rely on, in one script whose every count is decided by iteration numbers, so that
// plain k6 and a fleet of workers must serve exactly the same requests: a local module, files
// opened by a computed path, SharedArray, groups, checks, the four custom metric types, tags,
// http.batch, two scenarios with different executors and exec functions, k6/execution ids,
// setup() and teardown() data, thresholds on tagged submetrics, and handleSummary().
import http from 'k6/http';
import exec from 'k6/execution';
import { check, group } from 'k6';
import { SharedArray } from 'k6/data';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import { pathFor } from './lib/paths.js';

const users = new SharedArray('users', () => JSON.parse(open('./data/users.json')));
const config = JSON.parse(open(`./data/config-${__ENV.CONFIG || 'small'}.json`));

const logins = new Counter('logins');
const weight = new Gauge('weight');
const accepted = new Rate('accepted');
const work = new Trend('work');

export const options = {
  scenarios: {
    browse: { executor: 'shared-iterations', vus: 4, iterations: 30, exec: 'browse' },
    login: { executor: 'per-vu-iterations', vus: 3, iterations: 4, exec: 'login', tags: { flow: 'login' } },
  },
  thresholds: {
    'http_req_duration{name:items}': ['p(95)<10000'],
    'http_reqs{flow:login}': ['count==12'],
    'checks{scenario:browse}': ['rate==1'],
    accepted: ['rate>0.5'],
    work: ['max<2000'],
  },
};

export function setup() {
  return { started: 'yes', weights: config.weights };
}

export function browse(data) {
  const i = exec.scenario.iterationInTest;
  group('browse', () => {
    const responses = http.batch([
      ['GET', `${__ENV.TARGET}${pathFor('items', i)}`, null, { tags: { name: 'items' } }],
      ['GET', `${__ENV.TARGET}${pathFor('status', i)}`, null, { tags: { name: 'status' } }],
    ]);
    check(responses[0], { 'items are 200': (r) => r.status === 200 });
    group('details', () => {
      check(data, { 'setup data arrived': (d) => d.started === 'yes' });
    });
  });
  weight.add(data.weights[i % data.weights.length]);
  work.add(1000 + i);
}

export function login() {
  const i = exec.scenario.iterationInTest;
  const u = users[i % users.length];
  const res = http.post(`${__ENV.TARGET}/login`, JSON.stringify({ user: u.user, password: u.pass }),
    { headers: { 'Content-Type': 'application/json' }, tags: { name: 'login' } });
  logins.add(1);
  accepted.add(res.status === 200);
}

export function teardown(data) {
  if (data.started !== 'yes') throw new Error('teardown() did not get the setup data');
}

export function handleSummary(data) {
  return { [`${__ENV.OUT}/summary.json`]: JSON.stringify(data) };
}
