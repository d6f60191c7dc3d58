// Unit tests of the UI's pure parts (no browser): node --test web/test/unit.test.mjs

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatEnv, parseEnv } from '../static/env.js';
import * as fmt from '../static/format.js';
import { Series } from '../static/series.js';
import { groupKeys, hpaRows, parseKey } from '../static/autoscaling.js';
import { formatTags, formatWeights, parseTags, parseWeights, shapeStatus, stageLabel } from '../static/swarm.js';

const point = (time, requests) => ({ time, requests, failures: 0, p50_ms: 1, p95_ms: 2, p99_ms: 3, users: 1, workers: 1 });

describe('Series.merge', () => {
  const cases = [
    { name: 'in order', batches: [[point(1, 10), point(2, 20)], [point(3, 30)]], time: [1, 2, 3], requests: [10, 20, 30] },
    { name: 'a repeated second replaces the first', batches: [[point(1, 10), point(2, 20)], [point(2, 25)]], time: [1, 2], requests: [10, 25] },
    { name: 'late points go in order', batches: [[point(1, 10), point(4, 40)], [point(3, 30), point(2, 20)]], time: [1, 2, 3, 4], requests: [10, 20, 30, 40] },
    { name: 'nothing new', batches: [[point(1, 10)], [], null], time: [1], requests: [10] },
    { name: 'the oldest go past the limit', limit: 2, batches: [[point(1, 10), point(2, 20), point(3, 30)]], time: [2, 3], requests: [20, 30] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const s = new Series(c.limit ?? 100);
      for (const b of c.batches) s.merge(b);
      assert.deepEqual(s.cols.time, c.time);
      assert.deepEqual(s.cols.requests, c.requests);
      assert.equal(s.cols.p99_ms.length, c.time.length, 'every column has a value per point');
    });
  }

  test('a second without requests has no response times', () => {
    const s = new Series(100);
    s.merge([point(1, 10), point(2, 0)]);
    assert.deepEqual(s.cols.p95_ms, [2, null]);
    assert.deepEqual(s.cols.requests, [10, 0]);
  });

  test('clear forgets every point', () => {
    const s = new Series(100);
    s.merge([point(1, 10)]);
    s.clear();
    assert.equal(s.length, 0);
  });
});

describe('Series extra values', () => {
  const R = 'hpa_replicas{hpa:web}';
  const C = 'hpa_cpu_utilization{hpa:web}';
  const withExtra = (time, extra) => ({ ...point(time, 1), extra });
  const cases = [
    {
      name: 'a column per key, aligned with time',
      batches: [[withExtra(1, { [R]: 1, [C]: 50 }), withExtra(2, { [R]: 2, [C]: 70 })]],
      time: [1, 2], extra: { [C]: [50, 70], [R]: [1, 2] },
    },
    {
      name: 'null for the seconds without a key, before and after it appears',
      batches: [[point(1, 1), withExtra(2, { [R]: 1 })], [withExtra(3, { [R]: 2, [C]: 90 }), withExtra(4, { [R]: 3 })]],
      time: [1, 2, 3, 4], extra: { [C]: [null, null, 90, null], [R]: [null, 1, 2, 3] },
    },
    {
      name: 'late and repeated seconds keep the columns aligned',
      batches: [[withExtra(1, { [R]: 1 }), withExtra(4, { [R]: 4 })], [withExtra(2, { [C]: 20 }), withExtra(4, { [R]: 5 })]],
      time: [1, 2, 4], extra: { [C]: [null, 20, null], [R]: [1, null, 5] },
    },
    {
      name: 'the oldest go past the limit in every column',
      limit: 2,
      batches: [[withExtra(1, { [R]: 1 }), withExtra(2, { [R]: 2 }), withExtra(3, { [R]: 3, [C]: 30 })]],
      time: [2, 3], extra: { [C]: [null, 30], [R]: [2, 3] },
    },
    { name: 'no extra, no columns', batches: [[point(1, 1), point(2, 2)]], time: [1, 2], extra: {} },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const s = new Series(c.limit ?? 100);
      for (const b of c.batches) s.merge(b);
      assert.deepEqual(s.cols.time, c.time);
      assert.deepEqual(s.extraKeys(), Object.keys(c.extra).sort());
      assert.deepEqual(Object.fromEntries(s.extra), c.extra);
    });
  }

  test('clear forgets the keys', () => {
    const s = new Series(100);
    s.merge([withExtra(1, { [R]: 1 })]);
    s.clear();
    assert.deepEqual(s.extraKeys(), []);
  });
});

describe('autoscaling keys', () => {
  const hostile = '</script><img src=x onerror=alert(1)>';
  const cases = [
    ['replicas', 'hpa_replicas{hpa:web}', { hpa: 'web', column: 'replicas' }],
    ['desired', 'hpa_desired_replicas{hpa:api-v2}', { hpa: 'api-v2', column: 'desired' }],
    ['cpu', 'hpa_cpu_utilization{hpa:web.x}', { hpa: 'web.x', column: 'cpu' }],
    ['a name with braces and colons', `hpa_replicas{hpa:${hostile}}`, { hpa: hostile, column: 'replicas' }],
    ['another metric', 'queue_depth{hpa:web}', null],
    ['another tag', 'hpa_replicas{name:web}', null],
    ['no tag', 'hpa_replicas', null],
    ['an inherited name', 'constructor{hpa:web}', null],
  ];
  for (const [name, key, want] of cases) {
    test(name, () => assert.deepEqual(parseKey(key), want));
  }

  test('grouped per HPA, by name', () => {
    assert.deepEqual(groupKeys(['hpa_replicas{hpa:web}', 'hpa_cpu_utilization{hpa:api}', 'other', 'hpa_desired_replicas{hpa:web}',
      'hpa_replicas{hpa:api}']), [
      { name: 'api', cpu: 'hpa_cpu_utilization{hpa:api}', replicas: 'hpa_replicas{hpa:api}' },
      { name: 'web', replicas: 'hpa_replicas{hpa:web}', desired: 'hpa_desired_replicas{hpa:web}' },
    ]);
  });

  test('table rows from the gauges, null for what is not reported', () => {
    assert.deepEqual(hpaRows({ 'hpa_replicas{hpa:web}': 3, 'hpa_desired_replicas{hpa:web}': 5, 'hpa_cpu_utilization{hpa:web}': 81.5,
      'hpa_replicas{hpa:api}': 1, 'hpa_desired_replicas{hpa:api}': 1 }), [
      { name: 'api', replicas: 1, desired: 1, cpu: null },
      { name: 'web', replicas: 3, desired: 5, cpu: 81.5 },
    ]);
    assert.deepEqual(hpaRows(null), []);
  });
});

describe('parseEnv', () => {
  test('KEY=VALUE lines, blanks and comments skipped, values may hold =', () => {
    assert.deepEqual(parseEnv('HOST=http://127.0.0.1:8080\n\n# a comment\n  TOKEN = a=b \r\n'),
      { HOST: 'http://127.0.0.1:8080', TOKEN: 'a=b' });
  });
  for (const bad of ['NOVALUE', '=value']) {
    test(`"${bad}" names its line`, () => {
      assert.throws(() => parseEnv(`A=1\n${bad}`), /line 2: ".*" is not KEY=VALUE/);
    });
  }
  test('formatEnv round-trips', () => {
    const env = { A: '1', URL: 'http://x/?a=b' };
    assert.deepEqual(parseEnv(formatEnv(env)), env);
    assert.equal(formatEnv(undefined), '');
  });
});

describe('format', () => {
  const cases = [
    ['count', fmt.count(1234567), '1,234,567'],
    ['ms small', fmt.ms(0.4567), '0.46'],
    ['ms medium', fmt.ms(12.34), '12.3'],
    ['ms large', fmt.ms(1234.5), '1,235'],
    ['ms missing', fmt.ms(undefined), '-'],
    ['rate', fmt.rate(12.345), '12.3'],
    ['percent zero', fmt.percent(0), '0%'],
    ['percent small', fmt.percent(0.00012), '0.01%'],
    ['percent', fmt.percent(0.145), '14.5%'],
    ['bytes', fmt.bytes(512), '512 B'],
    ['bytes MiB', fmt.bytes(92_500_000), '88.2 MiB'],
    ['duration seconds', fmt.duration(45.9), '45s'],
    ['duration minutes', fmt.duration(125), '2m 05s'],
    ['duration hours', fmt.duration(3723), '1h 02m 03s'],
    ['ago', fmt.ago('2026-01-01T00:00:00Z', Date.parse('2026-01-01T00:00:03.4Z')), '3s ago'],
    ['ago in the future', fmt.ago('2026-01-01T00:00:05Z', Date.parse('2026-01-01T00:00:03Z')), '0s ago'],
    ['group', fmt.group('::browse::cart'), 'browse › cart'],
    ['no group', fmt.group(''), ''],
    ['fleet', fmt.fleet({ name: 'deployment lt/w', desired: 5, spec: 5, ready: 3 }), 'deployment lt/w: 3 of 5 pods ready (spec 5)'],
  ];
  for (const [name, got, want] of cases) {
    test(name, () => assert.equal(got, want));
  }
});

describe('thresholds', () => {
  const cases = [
    { t: { metric: 'http_req_duration', source: 'p(95)<300', observed: 412.25, has_data: true }, want: /^412 ms$/ },
    { t: { metric: 'http_req_duration{name:slow}', source: 'p(99)<800', observed: 45.2, has_data: true }, want: /^45\.2\d* ms$/ },
    { t: { metric: 'http_req_failed', source: 'rate<0.01', observed: 0.0123, has_data: true }, want: /%$/ },
    { t: { metric: 'http_reqs', source: 'rate>100', observed: 153.3, has_data: true }, want: /\/s$/ },
    { t: { metric: 'orders', source: 'count>0', observed: 0, has_data: false }, want: /^no samples$/ },
    // The HPA gauges are trends of counts and percentages, one sample per second: never ms.
    { t: { metric: 'hpa_replicas{hpa:web}', source: 'max>=3', observed: 4, has_data: true }, want: /^4$/ },
    { t: { metric: 'hpa_desired_replicas{hpa:web}', source: 'p(95)<=10', observed: 7.5, has_data: true }, want: /^7\.5$/ },
    { t: { metric: 'hpa_cpu_utilization{hpa:web_duration}', source: 'avg<80', observed: 72.25, has_data: true }, want: /^72\.25$/ },
  ];
  for (const c of cases) {
    test(`${c.t.metric}: ${c.t.source}`, () => {
      assert.match(fmt.thresholdObserved(c.t), c.want);
    });
  }
  test('summary counts the passing ones', () => {
    assert.equal(fmt.thresholdSummary([{ ok: true }, { ok: false }, { ok: true }]), '2/3 passing');
  });
});

describe('the start form\'s user classes', () => {
  test('tags split on commas and spaces', () => {
    assert.deepEqual(parseTags(' read, write  slow,'), ['read', 'write', 'slow']);
    assert.equal(parseTags('  '), undefined);
    assert.equal(formatTags(['read', 'write']), 'read, write');
  });

  test('weights read CLASS=WEIGHT pairs', () => {
    assert.deepEqual(parseWeights('browse=3, buy = 1\nadmin=0'), { browse: 3, buy: 1, admin: 0 });
    assert.equal(parseWeights(' '), undefined);
    assert.equal(formatWeights([{ name: 'browse', weight: 3 }, { name: 'buy', weight: 1 }]), 'browse=3, buy=1');
    assert.deepEqual(parseWeights(formatWeights({ browse: 3, buy: 1 })), { browse: 3, buy: 1 });
  });

  for (const bad of ['browse', 'browse=-1', 'browse=1.5', '=2', 'browse=three']) {
    test(`"${bad}" is refused`, () => assert.throws(() => parseWeights(bad), /Class weights: ".*" is not CLASS=WEIGHT/));
  }

  test('a shape says where it stands', () => {
    const stages = [{}, {}, {}];
    assert.equal(shapeStatus({ stages, stage: -1, taken_over: false }), 'before the first stage');
    assert.equal(shapeStatus({ stages, stage: 1, taken_over: false }), 'stage 2 of 3');
    assert.equal(shapeStatus({ stages, stage: 3, taken_over: false }), 'ended after 3 stages');
    assert.equal(shapeStatus({ stages, stage: 0, taken_over: true }), 'taken over at stage 1 of 3');
  });

  test('a stage says its users and rate', () => {
    assert.equal(stageLabel({ duration: '20s', users: 4, spawn_rate: 10 }), '20s: 4 users at 10/s');
    assert.equal(stageLabel({ duration: '1m0s', users: 1, spawn_rate: 0 }), '1m0s: 1 user at once');
    assert.equal(stageLabel({ duration: '5s', users: 1500, spawn_rate: 2.5 }), '5s: 1,500 users at 2.5/s');
  });
});
