// The web UI of a master that scales a worker Deployment and watches an HPA, in a real browser:
// start a run on a number of worker pods from the form, see the pods become ready in the header,
// the HPA in the autoscaling chart and table, and the run end by itself.
//
//   STAMPEDE_TEST_HPA=NAME STAMPEDE_TEST_WORKERS=N node web/test/kube.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR
//
// UI_URL is the web UI of a master started with --kube-deployment and --watch-hpa NAME (running
// examples/quickstart.js, no run yet), TARGET_URL the demo target as the worker pods reach it (passed
// to the script as TARGET; "-" leaves the environment to the master's --env), ARTIFACTS_DIR where
// the screenshots go. N is the workers to ask for (at most the master's --kube-max-workers).
// Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM). Exits 0 when every step passed;
// otherwise prints what failed and exits 1.

import path from 'node:path';
import { getJSON, number, openUI, startBrowserTest, waitFor } from './browser.mjs';

const [uiURL, targetURL, artifacts] = process.argv.slice(2);
const hpa = process.env.STAMPEDE_TEST_HPA ?? '';
const workers = Number(process.env.STAMPEDE_TEST_WORKERS);
if (!uiURL || !targetURL || !artifacts || !hpa || !(Number.isInteger(workers) && workers >= 1)) {
  console.error('usage: STAMPEDE_TEST_HPA=NAME STAMPEDE_TEST_WORKERS=N node web/test/kube.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR');
  process.exit(2);
}

// Pods take a while to be scheduled, pulled and connected: the waits for them are long, and the
// whole test stays within internal/e2e's browserLimit (150 s).
const podsLimitMs = 90_000;
const { page, step, finish } = await startBrowserTest({ artifacts, limitMs: 140_000 });
const testid = (id) => page.getByTestId(id);
const state = () => testid('run-state').getAttribute('data-state');

// formError throws what the page says went wrong with the last action, if anything.
async function formError() {
  if (await testid('form-error').isVisible()) throw new Error(`the page says: ${await testid('form-error').textContent()}`);
}

await step('open the UI', () => openUI(page, uiURL));

await step('the Workers input offers the default', async () => {
  const defaults = await getJSON(new URL('api/v1/config', uiURL));
  if (!defaults.scaling) throw new Error(`GET /api/v1/config: defaults.scaling is false: is the master started with --kube-deployment? ${JSON.stringify(defaults)}`);
  if (workers > defaults.max_workers) throw new Error(`STAMPEDE_TEST_WORKERS=${workers} is over the master's max_workers ${defaults.max_workers}`);
  const input = testid('start-workers');
  await input.waitFor({ state: 'visible' });
  // Before the first run the form offers the master's default; after one, that run's workers.
  const res = await fetch(new URL('api/v1/runs/current', uiURL));
  const last = res.ok ? await res.json() : null;
  const want = last ? last.workers_asked : defaults.workers;
  const value = await input.inputValue();
  if (value !== String(want)) {
    throw new Error(`the Workers input reads ${JSON.stringify(value)}, want ${last ? 'the last run\'s' : 'the default'} ${want}`);
  }
  const max = await input.getAttribute('max');
  if (max !== String(defaults.max_workers)) throw new Error(`the Workers input's max is ${max}, want max_workers ${defaults.max_workers}`);
});

let waitingSeen = '';

await step(`start a run on ${workers} workers`, async () => {
  await testid('start-mode').selectOption('swarm');
  await testid('start-users').fill('4');
  await testid('start-spawn-rate').fill('4');
  await testid('start-run-time').fill('8s');
  if (targetURL !== '-') await testid('start-env').fill(`TARGET=${targetURL}`);
  await testid('start-workers').fill(String(workers));
  await testid('start-button').click();
  await waitFor('the run to be preparing or running', async () => {
    await formError();
    return state();
  }, (s) => s === 'preparing' || s === 'running', 15_000);
});

// The run waits in "preparing" for the pods it asked for; the header says so meanwhile. How long
// that lasts depends on the cluster, so the notice is checked whenever it is seen, not required.
await step(`the header shows ${workers} pods ready while the run runs`, async () => {
  const want = `${workers}/${workers}`;
  const seen = { running: false, pods: false };
  const last = await waitFor(`the run to be running and the header to show ${want} pods`, async () => {
    await formError();
    const [s, pods, waiting] = await Promise.all([state(), testid('header-pods').textContent(),
      testid('header-waiting').isVisible().then((v) => (v ? testid('header-waiting').textContent() : ''))]);
    if (waiting) {
      if (!/^waiting for [\d,]+ workers \([\d,]+ connected\)$/.test(waiting) || !waiting.startsWith(`waiting for ${workers} workers`)) {
        throw new Error(`the header's waiting notice reads ${JSON.stringify(waiting)}`);
      }
      waitingSeen = waiting;
    }
    seen.running ||= s === 'running';
    seen.pods ||= pods === want;
    return { state: s, pods, waiting, ...seen };
  }, (v) => v.running && v.pods, podsLimitMs);
  if (last.state === 'stopped') throw new Error(`the run stopped: ${await testid('run-error').textContent()}`);
  const title = await testid('header-pods').getAttribute('title');
  if (!/^deployment \S+\/\S+: /.test(title ?? '')) throw new Error(`the pods' tooltip reads ${JSON.stringify(title)}, want the Deployment's name`);
  if (await testid('fleet-error').isVisible()) throw new Error(`the scaler reports: ${await testid('fleet-error').textContent()}`);
  const run = await getJSON(new URL('api/v1/runs/current', uiURL));
  if (run.workers_asked !== workers) throw new Error(`GET /api/v1/runs/current: workers_asked ${run.workers_asked}, want ${workers}`);
});

await step(`the autoscaling chart and table show HPA ${hpa}`, async () => {
  const chart = testid('chart-hpa');
  await chart.waitFor({ state: 'visible' });
  await waitFor('2 points in the autoscaling chart', () => chart.getAttribute('data-points'), (n) => number(n) >= 2, 20_000);
  const labels = await chart.locator('.u-legend .u-label').allTextContents();
  if (!labels.includes(`${hpa} replicas`) || !labels.includes(`${hpa} desired`)) {
    throw new Error(`the chart's legend reads ${JSON.stringify(labels)}, want "${hpa} replicas" and "${hpa} desired"`);
  }
  const painted = await chart.locator('.uplot canvas').first().evaluate((c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
    return n;
  });
  if (painted === 0) throw new Error('the autoscaling chart is blank');
  await testid('tab-workers').click();
  const hpaRow = testid('hpa-table').locator('[data-testid=hpa-row]').filter({ has: page.locator(`td[data-col=name]:text-is("${hpa}")`) });
  await waitFor(`the table's row of ${hpa} to show at least 1 replica`,
    () => hpaRow.locator('td[data-col=replicas]').allTextContents(), (cells) => cells.length === 1 && number(cells[0]) >= 1, 20_000);
  const desired = await hpaRow.locator('td[data-col=desired]').textContent();
  if (!(number(desired) >= 1)) throw new Error(`the table's desired replicas of ${hpa} read ${JSON.stringify(desired)}`);
  await page.locator('section.charts').screenshot({ path: path.join(artifacts, 'charts.png') });
});

await step('the run stops by itself', async () => {
  await waitFor('the run to be stopped', state, (s) => s === 'stopped', 60_000);
  if (await testid('run-error').isVisible()) throw new Error(`the run ended with an error: ${await testid('run-error').textContent()}`);
  if (await testid('header-waiting').isVisible()) throw new Error('the header still says it is waiting for workers');
  // The start form comes back with the last run's workers.
  await testid('start-form').waitFor({ state: 'visible' });
  const value = await testid('start-workers').inputValue();
  if (value !== String(workers)) throw new Error(`the Workers input reads ${JSON.stringify(value)} after the run, want ${workers}`);
  console.log(waitingSeen ? `# seen while preparing: "${waitingSeen}"` : '# the run did not wait for workers long enough to show it');
});

await finish();
