// The web UI of a headless master in a cluster, in a real browser, while its run loads a target
// whose HPA scales on CPU: log in with the chart's web token, and watch the autoscaling chart and
// the HPA table until the HPA has scaled the target out. The chart's screenshot is autoscaling.png.
//
//   STAMPEDE_WEB_TOKEN=... STAMPEDE_TEST_HPA=NAME node web/test/hpa.test.mjs UI_URL ARTIFACTS_DIR
//
// UI_URL is the master's web UI (through `kubectl port-forward`, or internal/nodetest's), its run
// already started. Exits 0 when every step passed; otherwise prints what failed and exits 1.

import path from 'node:path';
import { number, startBrowserTest, waitFor } from './browser.mjs';

const [uiURL, artifacts] = process.argv.slice(2);
const token = process.env.STAMPEDE_WEB_TOKEN;
const hpa = process.env.STAMPEDE_TEST_HPA;
if (!uiURL || !artifacts || !token || !hpa) {
  console.error('usage: STAMPEDE_WEB_TOKEN=... STAMPEDE_TEST_HPA=NAME node web/test/hpa.test.mjs UI_URL ARTIFACTS_DIR');
  process.exit(2);
}

// The HPA needs two metrics-server scrapes (10 s apart) of the loaded pod and a new pod's start:
// a minute or two after the load starts, on a busy two-CPU machine.
const scaleLimitMs = 240_000;
const { page, step, finish } = await startBrowserTest({ artifacts, limitMs: scaleLimitMs + 60_000 });
const testid = (id) => page.getByTestId(id);

await step('log in with the web token', async () => {
  await page.goto(uiURL);
  await testid('login-form').waitFor({ state: 'visible' });
  await testid('login-token').fill(token);
  await testid('login-submit').click();
  await waitFor('the websocket to be live', () => testid('connection').getAttribute('data-status').catch(() => null), (s) => s === 'live');
});

await step('the run is running', async () => {
  await waitFor('the run to be running', () => testid('run-state').getAttribute('data-state'), (s) => s === 'running', 60_000);
});

await step(`the HPA table shows ${hpa} scaled out to 2 replicas or more`, async () => {
  await testid('tab-workers').click();
  const row = testid('hpa-table').locator('[data-testid=hpa-row]').filter({ has: page.locator(`td[data-col=name]:text-is("${hpa}")`) });
  const cells = await waitFor(`the row of ${hpa} to show 2 or more replicas`,
    () => row.locator('td[data-col=replicas]').allTextContents(), (c) => c.length === 1 && number(c[0]) >= 2, scaleLimitMs);
  console.log(`# ${hpa}: ${cells[0]} replicas`);
});

await step('the autoscaling chart has the replica steps', async () => {
  const chart = testid('chart-hpa');
  await chart.waitFor({ state: 'visible' });
  const labels = await chart.locator('.u-legend .u-label').allTextContents();
  if (!labels.includes(`${hpa} replicas`) || !labels.includes(`${hpa} desired`)) {
    throw new Error(`the chart's legend reads ${JSON.stringify(labels)}, want "${hpa} replicas" and "${hpa} desired"`);
  }
  const points = number(await chart.getAttribute('data-points'));
  if (!(points >= 2)) throw new Error(`the autoscaling chart has ${points} points`);
  // Ten more seconds, so the picture shows the new replica count held, not only the step.
  await waitFor('ten more points in the autoscaling chart', () => chart.getAttribute('data-points'), (n) => number(n) >= points + 10, 30_000);
  await chart.scrollIntoViewIfNeeded();
  await page.locator('section.charts').screenshot({ path: path.join(artifacts, 'autoscaling.png') });
});

await finish();
