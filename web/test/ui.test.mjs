// The web UI in a real browser, against a real master: start a run from the form, watch it and its
// thresholds, scale it, stop it, and download the statistics as CSV.
//
//   node web/test/ui.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR
//
// UI_URL is the master's web UI (running examples/quickstart.js with idle workers and no run yet),
// TARGET_URL the demo target the script should load (examples/target), ARTIFACTS_DIR where the
// screenshots and the downloaded CSV go. Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM).
// Exits 0 when every step passed; otherwise prints what failed and exits 1.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { getJSON, number, openUI, startBrowserTest, startRun, stopRun, waitFor } from './browser.mjs';

const [uiURL, targetURL, artifacts] = process.argv.slice(2);
if (!uiURL || !targetURL || !artifacts) {
  console.error('usage: node web/test/ui.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR');
  process.exit(2);
}

const locustHeader = 'Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,'
  + 'Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,'
  + '50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%';

const { page, step, finish } = await startBrowserTest({ artifacts, limitMs: 110_000 });
const testid = (id) => page.getByTestId(id);
const sumUsersInTable = () => page.locator('[data-testid=worker-row] td[data-col=users]').allTextContents()
  .then((cells) => cells.reduce((sum, c) => sum + number(c), 0));

await step('open the UI', () => openUI(page, uiURL));

// examples/quickstart.js reads the target's address from __ENV.TARGET.
await step('start a run from the form', () => startRun(page, { users: 10, spawnRate: 10, env: `TARGET=${targetURL}` }));

await step('charts and statistics fill in', async () => {
  await waitFor('points in the requests chart', () => testid('chart-rps').getAttribute('data-points'), (n) => number(n) > 0);
  await waitFor('a request count in the Aggregated row',
    () => testid('stats-total').locator('td[data-col=requests]').textContent(), (t) => number(t) > 0);
  const counts = await page.locator('[data-testid=stats-row] td[data-col=requests]').allTextContents();
  if (!counts.some((c) => number(c) > 0)) throw new Error(`no named row has requests: ${JSON.stringify(counts)}`);
});

// examples/quickstart.js declares http_req_duration: ['p(95)<500'] and http_req_failed: ['rate<0.01'];
// the master judges them every second while the load runs.
await step('thresholds show in the header and their tab', async () => {
  const summary = testid('thresholds-summary');
  await summary.waitFor({ state: 'visible' });
  const text = await waitFor('the header to count passing thresholds', () => summary.textContent(), (t) => /^\d+\/\d+ passing$/.test(t));
  await testid('tab-thresholds').click();
  const rows = page.locator('[data-testid=threshold-row]');
  await waitFor('rows in the thresholds tab', () => rows.count(), (n) => n >= 1);
  const cells = (col) => rows.locator(`td[data-col=${col}]`).allTextContents();
  const metrics = await cells('metric');
  const expressions = await cells('expression');
  if (metrics.some((m) => !m.trim()) || expressions.some((e) => !e.trim())) {
    throw new Error(`a threshold row lacks a metric or an expression: ${JSON.stringify({ metrics, expressions })}`);
  }
  if (!metrics.includes('http_req_duration') || !expressions.some((e) => e.startsWith('p(95)<500'))) {
    throw new Error(`quickstart.js's p(95)<500 on http_req_duration is not listed: ${JSON.stringify({ metrics, expressions })}`);
  }
  if (text.split('/')[1].split(' ')[0] !== String(metrics.length)) throw new Error(`the header says "${text}" for ${metrics.length} rows`);
  // Observed values in the metric's unit: a p95 in ms, the failure rate as a percentage.
  const observed = (metric) => rows.filter({ has: page.locator(`td[data-col=metric]:text-is("${metric}")`) })
    .locator('td[data-col=observed]').first().textContent();
  await waitFor('the p95 of http_req_duration in ms', () => observed('http_req_duration'), (t) => /^[\d,.]+ ms$/.test(t));
  await waitFor('the rate of http_req_failed as a percentage', () => observed('http_req_failed'), (t) => /^[\d.]+%$/.test(t));
  const statuses = await cells('status');
  if (!statuses.every((s) => /^[✓✗]/.test(s))) throw new Error(`statuses: ${JSON.stringify(statuses)}`);
  await page.locator('section.tabs').screenshot({ path: path.join(artifacts, 'thresholds-tab.png') });
});

await step('change the users to 30', async () => {
  await testid('edit-users').fill('30');
  await testid('edit-spawn-rate').fill('30');
  await testid('edit-button').click();
  await testid('tab-workers').click();
  await waitFor("the workers table's users to add up to 30", sumUsersInTable, (n) => n === 30);
  await waitFor('GET /api/v1/workers to report 30 users',
    () => getJSON(new URL('api/v1/workers', uiURL)).then((b) => b.workers.reduce((sum, w) => sum + w.users, 0)),
    (n) => n === 30);
  await waitFor('the header to show 30 / 30 users', () => testid('users').textContent(), (t) => t === '30 / 30');
});

await step('stop the run', async () => {
  await stopRun(page);
  // The start form comes back with the last run's settings, ready to go again.
  await testid('start-form').waitFor({ state: 'visible' });
  const users = await testid('start-users').inputValue();
  const env = await testid('start-env').inputValue();
  if (users !== '30' || !env.includes(`TARGET=${targetURL}`)) {
    throw new Error(`the start form is not prefilled with the last run: users ${users}, env ${JSON.stringify(env)}`);
  }
});

await step('download the statistics CSV', async () => {
  await testid('tab-downloads').click();
  const link = testid('download-stats-csv');
  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  const failure = await download.failure();
  if (failure) {
    const res = await fetch(new URL(await link.getAttribute('href'), uiURL));
    throw new Error(`the download of stats.csv failed (${failure}): the server answers HTTP ${res.status} ${await res.text()}`);
  }
  const file = path.join(artifacts, 'stats.csv');
  await download.saveAs(file);
  checkStatsCSV(await readFile(file, 'utf8'), await getJSON(new URL('stats', targetURL)));
});

await finish();

// checkStatsCSV checks Locust's layout: the header, named rows with requests, and an Aggregated row
// that is their sum and matches what the target counted.
function checkStatsCSV(csv, target) {
  const rows = parseCSV(csv);
  if (rows.length === 0) throw new Error('stats.csv is empty');
  const header = rows[0].join(',');
  if (header !== locustHeader) throw new Error(`stats.csv header:\n  got  ${header}\n  want ${locustHeader}`);
  const count = rows[0].indexOf('Request Count');
  const name = rows[0].indexOf('Name');
  const body = rows.slice(1).filter((r) => r.length > 1);
  const aggregated = body.filter((r) => r[name] === 'Aggregated');
  const named = body.filter((r) => r[name] !== 'Aggregated');
  if (aggregated.length !== 1) throw new Error(`stats.csv has ${aggregated.length} Aggregated rows, want 1:\n${csv}`);
  if (!named.some((r) => number(r[count]) > 0)) throw new Error(`stats.csv has no named row with requests:\n${csv}`);
  const sum = named.reduce((s, r) => s + number(r[count]), 0);
  const total = number(aggregated[0][count]);
  if (total !== sum) throw new Error(`stats.csv: Aggregated counts ${total} requests, the named rows ${sum}:\n${csv}`);
  // The stop is graceful, so every request the target answered is counted, once.
  if (total !== target.total) throw new Error(`stats.csv counts ${total} requests, the target saw ${target.total}`);
}

// parseCSV reads RFC 4180 CSV (quoted fields may hold commas, quotes and newlines).
function parseCSV(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else {
      field += c;
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
