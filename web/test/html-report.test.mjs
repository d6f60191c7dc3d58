// The HTML report (report.WriteHTML, `--html FILE`) in a real browser, opened from disk: it must
// render its charts with the inlined uPlot, log no errors and request nothing from the network.
//
//   node web/test/html-report.test.mjs REPORT_HTML ARTIFACTS_DIR
//
// Screenshots go to ARTIFACTS_DIR. Chromium is Debian's (/usr/bin/chromium, or $CHROMIUM).
// Exits 0 when every step passed; otherwise prints what failed and exits 1.

import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { startBrowserTest, waitFor } from './browser.mjs';

const [file, artifacts] = process.argv.slice(2);
if (!file || !artifacts) {
  console.error('usage: node web/test/html-report.test.mjs REPORT_HTML ARTIFACTS_DIR');
  process.exit(2);
}

const { page, step, finish } = await startBrowserTest({ artifacts, limitMs: 60_000 });
const testid = (id) => page.getByTestId(id);

// The report must open offline: anything but the file itself (and inline data) is a failure.
const fileURL = pathToFileURL(path.resolve(file)).href;
const requests = [];
page.on('request', (req) => {
  const url = req.url();
  if (url !== fileURL && !url.startsWith('data:') && !url.startsWith('blob:')) requests.push(url);
});

await step('open the report from disk', async () => {
  await page.goto(fileURL);
  const verdict = await testid('verdict').textContent();
  if (!/^(✅ Run .* passed|❌ Run .* failed: .+)$/.test(verdict.trim())) throw new Error(`verdict reads ${JSON.stringify(verdict)}`);
});

await step('the charts render', async () => {
  // The autoscaling chart is there only when the run watched HPAs; then it must draw too.
  const hpa = (await testid('chart-hpa').count()) > 0 ? ['chart-hpa'] : [];
  for (const id of ['chart-rps', 'chart-latency', 'chart-users', ...hpa]) {
    await waitFor(`${id} to be drawn`, () => testid(id).getAttribute('data-points'), (n) => Number(n) > 0, 10_000);
    const sizes = await testid(id).locator('.uplot canvas').evaluateAll((cs) => cs.map((c) => [c.width, c.height]));
    if (sizes.length === 0 || sizes.some(([w, h]) => w === 0 || h === 0)) {
      throw new Error(`${id}: uPlot canvases ${JSON.stringify(sizes)}, want at least one of non-zero size`);
    }
    // A drawn line leaves non-background pixels: the canvas is not blank.
    const painted = await testid(id).locator('.uplot canvas').first().evaluate((c) => {
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
      return n;
    });
    if (painted === 0) throw new Error(`${id}: the canvas is blank`);
  }
});

await step('the tables are filled in', async () => {
  const rows = await page.locator('[data-testid=request-row]').count();
  const total = await testid('request-total').locator('td').nth(2).textContent();
  if (rows === 0 || !(Number(total) > 0)) throw new Error(`${rows} request rows, Aggregated requests ${JSON.stringify(total)}`);
  if (requests.length > 0) throw new Error(`the report requested ${JSON.stringify(requests)}`);
});

await finish();
