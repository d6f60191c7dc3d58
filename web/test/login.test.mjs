// The login page in a real browser, against a master that requires a web token: the UI sends an
// unauthenticated visitor to the login page, a wrong token is refused there, the right one opens the
// UI, whose websocket feed and API calls then run on the HttpOnly session cookie.
//
//   STAMPEDE_WEB_TOKEN=... node web/test/login.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR
//
// UI_URL is the master's web UI (examples/quickstart.js, one idle worker, no run yet), TARGET_URL the
// demo target. Exits 0 when every step passed; otherwise prints what failed and exits 1.

import { startBrowserTest, startRun, stopRun, waitFor } from './browser.mjs';

const [uiURL, targetURL, artifacts] = process.argv.slice(2);
const token = process.env.STAMPEDE_WEB_TOKEN;
if (!uiURL || !targetURL || !artifacts || !token) {
  console.error('usage: STAMPEDE_WEB_TOKEN=... node web/test/login.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR');
  process.exit(2);
}

const { page, step, finish } = await startBrowserTest({ artifacts, limitMs: 110_000 });
const testid = (id) => page.getByTestId(id);

await step('the API refuses a request without credentials', async () => {
  const res = await fetch(new URL('api/v1/workers', uiURL));
  if (res.status !== 401) throw new Error(`GET /api/v1/workers: HTTP ${res.status}, want 401`);
});

await step('a wrong token is refused on the login page', async () => {
  // Another tab: the refused POST's console message is expected there.
  const other = await page.context().newPage();
  await other.goto(uiURL);
  await other.getByTestId('login-token').fill('not-the-token');
  await other.getByTestId('login-submit').click();
  await waitFor('the login error', () => other.getByTestId('login-error').textContent(), (t) => /wrong token/.test(t));
  if (!new URL(other.url()).pathname.endsWith('/login')) throw new Error(`left the login page for ${other.url()}`);
  await other.close();
});

await step('the UI sends a visitor to the login page', async () => {
  await page.goto(uiURL);
  await testid('login-form').waitFor({ state: 'visible' });
  if (!new URL(page.url()).pathname.endsWith('/login')) throw new Error(`at ${page.url()}, want the login page`);
});

await step('the right token opens the UI and its live feed', async () => {
  await testid('login-token').fill(token);
  await testid('login-submit').click();
  await waitFor('the websocket to be live', () => testid('connection').getAttribute('data-status').catch(() => null), (s) => s === 'live');
  await testid('start-form').waitFor({ state: 'visible' });
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'stampede_session');
  if (!session || !session.httpOnly || session.sameSite !== 'Strict') {
    throw new Error(`session cookie ${JSON.stringify(session)}: want HttpOnly and SameSite=Strict`);
  }
  if (await page.evaluate(() => document.cookie.includes('stampede_session'))) throw new Error('the page script can read the session cookie');
});

await step('a run starts and stops from the form on the session', async () => {
  await startRun(page, { users: 2, spawnRate: 10, env: `TARGET=${targetURL}` });
  await stopRun(page);
});

await finish();
