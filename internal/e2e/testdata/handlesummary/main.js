// handleSummary() on the data of a whole fleet: groups, checks, every custom metric type, a
// threshold on a submetric, setup() data. The summary is written as JSON to $OUT/summary.json and
// one line to stdout. The custom trend's samples are the same whoever runs them (1001..1060 over 60
// iterations), so its percentiles can be compared with plain k6's.
import http from 'k6/http';
import exec from 'k6/execution';
import { check, group } from 'k6';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';

const items = new Counter('items');
const level = new Gauge('level');
const good = new Rate('good');
const size = new Trend('size');

export const options = {
  scenarios: { all: { executor: 'shared-iterations', vus: 3, iterations: 60 } },
  thresholds: {
    'http_req_duration{name:home}': ['max<10000'],
    good: ['rate>0.5'],
    size: ['p(95)<2000'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

export function setup() {
  return { token: 'abc', n: 3 };
}

export default function (data) {
  const i = exec.scenario.iterationInTest + 1;
  group('browse', () => {
    const res = http.get(`${__ENV.TARGET}/`, { tags: { name: 'home' } });
    check(res, { 'home is 200': (r) => r.status === 200 });
    group('deeper', () => {
      check(data, { 'setup data arrived': (d) => d.token === 'abc' });
    });
  });
  items.add(2);
  level.add(7);
  good.add(i % 4 !== 0);
  size.add(1000 + i);
}

export function handleSummary(data) {
  if (__ENV.THROW) {
    throw new Error('the summary handler broke');
  }
  return {
    stdout: `handleSummary: ${data.metrics.http_reqs.values.count} requests\n`,
    [`${__ENV.OUT}/summary.json`]: JSON.stringify(data, null, 2),
  };
}
