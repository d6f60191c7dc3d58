// The statistics table with more request names than the master keeps: the DOM holds only the rows
// in view, scrolling, sorting and filtering work on all of them, and the folded names are announced.
//
//   node web/test/names.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR
//
// The master at UI_URL runs a script that requests more distinct names than its --max-names (see
// internal/e2e/ui_test.go); TARGET_URL is the demo target, passed to the script as TARGET.

import { getJSON, number, openUI, startBrowserTest, startRun, stopRun, waitFor } from './browser.mjs';

const [uiURL, targetURL, artifacts] = process.argv.slice(2);
if (!uiURL || !targetURL || !artifacts) {
  console.error('usage: node web/test/names.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR');
  process.exit(2);
}

// Far fewer than the rows: what a virtual table renders for one screen, with some to spare.
const maxRowsInDOM = 100;
const foldedNotice = /^([\d,]+) request names beyond the cap of ([\d,]+) were folded into the \(other\) row/;

const { page, step, finish } = await startBrowserTest({ artifacts, limitMs: 110_000 });
const testid = (id) => page.getByTestId(id);
const renderedRows = () => page.locator('[data-testid=stats-row]').evaluateAll((trs) => trs.map((tr) => ({
  name: tr.dataset.name,
  requests: Number(tr.querySelector('[data-col=requests]').textContent.replace(/,/g, '')),
})));
const shownRows = async () => number(await testid('stats-table').getAttribute('data-rows'));

// The same order as the page's name sort (code units, as JavaScript's < compares).
const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.method < b.method ? -1 : 1);

let cap = 0;

await step('open the UI', () => openUI(page, uiURL));

await step('start a run with many request names', () => startRun(page, { users: 1, spawnRate: 1, env: `TARGET=${targetURL}` }));

await step('the folded names are announced', async () => {
  const text = await waitFor('the folded-names notice', () => testid('names-folded').textContent(), (t) => foldedNotice.test(t));
  cap = number(text.match(foldedNotice)[2]);
  await waitFor(`${cap} rows and the (other) row`, shownRows, (n) => n === cap + 1);
});

await step('only the rows in view are in the DOM', async () => {
  const rows = await renderedRows();
  if (rows.length === 0 || rows.length > maxRowsInDOM) {
    throw new Error(`${rows.length} rows in the DOM for ${cap + 1} rows, want 1 to ${maxRowsInDOM}`);
  }
});

await step('scroll to the last row', async () => {
  await page.locator('#stats-scroll').evaluate((el) => { el.scrollTop = el.scrollHeight; });
  const stats = await getJSON(new URL('api/v1/stats', uiURL));
  const last = [...stats.rows].sort(byName).at(-1).name;
  await waitFor(`the last row (${last}) to be rendered`, () => renderedRows().then((r) => r.at(-1)?.name), (n) => n === last, 5_000);
  const count = (await renderedRows()).length;
  if (count > maxRowsInDOM) throw new Error(`${count} rows in the DOM after scrolling, want at most ${maxRowsInDOM}`);
});

await step('sort by request count', async () => {
  await page.locator('#stats-table th[data-col=requests] button').click();
  const sort = await page.locator('#stats-table th[data-col=requests]').getAttribute('aria-sort');
  if (sort !== 'descending') throw new Error(`aria-sort is ${sort} after one click on # Requests, want descending`);
  const counts = (await renderedRows()).map((r) => r.requests);
  if (counts.some((c, i) => i > 0 && c > counts[i - 1])) throw new Error(`rows not by requests, descending: ${counts.join(' ')}`);
});

await step('filter by name', async () => {
  const stats = await getJSON(new URL('api/v1/stats', uiURL));
  // A name less its last character: it matches itself and the names one character longer.
  const longest = stats.rows.map((r) => r.name).filter((n) => n !== '(other)')
    .reduce((a, b) => (b.length > a.length || (b.length === a.length && b < a) ? b : a));
  const part = longest.slice(0, -1);
  const want = stats.rows.filter((r) => r.name.includes(part)).length;
  await testid('stats-filter').fill(part);
  await waitFor(`the ${want} rows whose name contains "${part}"`, shownRows, (n) => n === want, 5_000);
  const names = (await renderedRows()).map((r) => r.name);
  if (names.length !== want || names.some((n) => !n.includes(part))) {
    throw new Error(`filter "${part}" shows ${JSON.stringify(names)}, want the ${want} names that contain it`);
  }
});

await step('stop the run', () => stopRun(page));

await finish();
