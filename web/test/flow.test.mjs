// A flow (issue 17) in a real browser, against a real master: the header says the native engine
// runs it, a swarm started from the form splits its users over the flow's classes, and the stats
// table shows the flow's request names with the requests the target counted.
//
//   node web/test/flow.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR
//
// UI_URL is the master's web UI, run with -f on a flow with the classes browse (weight 3, request
// "home") and buy (weight 1, request "item"), with one idle worker and no run yet; TARGET_URL the
// counting target it loads. Exits 0 when every step passed; otherwise prints what failed and
// exits 1.

import { getJSON, number, openUI, startBrowserTest, startRun, stopRun, waitFor } from './browser.mjs';

const [uiURL, targetURL, artifacts] = process.argv.slice(2);
if (!uiURL || !targetURL || !artifacts) {
  console.error('usage: node web/test/flow.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR');
  process.exit(2);
}

const { page, step, finish } = await startBrowserTest({ artifacts, limitMs: 110_000 });
const testid = (id) => page.getByTestId(id);

// The requests of the stats table's row named name, 0 while it has none.
async function requestsOf(name) {
  const row = page.locator(`[data-testid=stats-row][data-name="${name}"]`);
  if (await row.count() !== 1) return 0;
  return number(await row.locator('td[data-col=requests]').textContent());
}

await step('open the UI', () => openUI(page, uiURL));

await step('start a swarm of the flow: the header names the native engine', async () => {
  await startRun(page, { users: 8, spawnRate: 8, env: `TARGET=${targetURL}` });
  await waitFor('the engine badge', () => testid('engine').textContent(), (t) => t === 'flow · native engine');
  const r = await getJSON(new URL('api/v1/runs/current', uiURL));
  if (r.engine !== 'native') throw new Error(`the API's run says engine ${JSON.stringify(r.engine)}, want "native"`);
});

await step("the flow's classes share the users 3:1", async () => {
  const users = async () => Object.fromEntries(await page.locator('[data-testid=class-row]').evaluateAll(
    (rows) => rows.map((r) => [r.dataset.name, Number(r.querySelector('td[data-col=users]').textContent)])));
  await waitFor('browse 6 and buy 2 users', users, (u) => u.browse === 6 && u.buy === 2);
});

await step("the stats table shows the flow's request names", async () => {
  await waitFor('requests under home and item', async () => [await requestsOf('home'), await requestsOf('item')],
    ([home, item]) => home > 0 && item > 0);
});

await step('stop: the table adds up to what the target counted', async () => {
  await stopRun(page);
  const served = (await getJSON(new URL('stats', targetURL))).total;
  const shown = await waitFor('the final rows', async () => (await requestsOf('home')) + (await requestsOf('item')),
    (n) => n === served);
  const s = await getJSON(new URL('api/v1/reports/summary.json', uiURL));
  if (s.engine !== 'native' || s.totals.requests !== served) {
    throw new Error(`summary.json: engine ${JSON.stringify(s.engine)}, ${s.totals.requests} requests; the target served ${served}, the table ${shown}`);
  }
});

await finish();
