// User classes and a load shape in a real browser, against a real master (issue 19): start a swarm
// from the form with class weights and tags and see each class's users, then start the script's
// load shape, see its stage, change the users and see that the change took over from the shape.
//
//   node web/test/swarm.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR
//
// UI_URL is the master's web UI, running a script with the classes browse (weight 3, tag read) and
// buy (weight 1, tag write) and a shape of three 20 s stages of 2, 4 and 1 users, with one idle
// worker and no run yet, started with --tags read,write --class-weights browse=1,buy=3; TARGET_URL
// the counting target the script loads. Exits 0 when every step
// passed; otherwise prints what failed and exits 1.

import { getJSON, number, openUI, startBrowserTest, stopRun, waitFor } from './browser.mjs';

const [uiURL, targetURL, artifacts] = process.argv.slice(2);
if (!uiURL || !targetURL || !artifacts) {
  console.error('usage: node web/test/swarm.test.mjs UI_URL TARGET_URL ARTIFACTS_DIR');
  process.exit(2);
}

const { page, step, finish } = await startBrowserTest({ artifacts, limitMs: 110_000 });
const testid = (id) => page.getByTestId(id);
const run = () => getJSON(new URL('api/v1/runs/current', uiURL));

// The classes table as {name: {weight, users}}.
async function classesShown() {
  const rows = page.locator('[data-testid=class-row]');
  const out = {};
  for (let i = 0; i < await rows.count(); i++) {
    const r = rows.nth(i);
    out[await r.getAttribute('data-name')] = {
      weight: number(await r.locator('td[data-col=weight]').textContent()),
      users: number(await r.locator('td[data-col=users]').textContent()),
    };
  }
  return out;
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function start({ mode, users, spawnRate, tags = '', weights = '' }) {
  await testid('start-mode').selectOption(mode);
  if (mode === 'swarm') {
    await testid('start-users').fill(String(users));
    await testid('start-spawn-rate').fill(String(spawnRate));
  }
  await testid('start-tags').fill(tags);
  await testid('start-class-weights').fill(weights);
  await testid('start-env').fill(`TARGET=${targetURL}`);
  await testid('start-button').click();
  await waitFor('the run to be running', () => testid('run-state').getAttribute('data-state'), (s) => s === 'running');
  await testid('edit-form').waitFor({ state: 'visible' });
}

await step('open the UI', () => openUI(page, uiURL));

await step("the master's --tags and --class-weights fill the start form", async () => {
  const tags = await testid('start-tags').inputValue();
  const weights = await testid('start-class-weights').inputValue();
  if (tags !== 'read, write' || weights !== 'browse=1, buy=3') {
    throw new Error(`the form shows tags "${tags}" and weights "${weights}"; want "read, write" and "browse=1, buy=3"`);
  }
});

await step('a malformed class weight is refused on the page', async () => {
  await testid('start-class-weights').fill('browse=lots');
  await testid('start-button').click();
  await waitFor('the form error', () => testid('form-error').textContent(), (t) => t.includes('"browse=lots" is not CLASS=WEIGHT'));
  if (await testid('run-state').getAttribute('data-state') !== 'idle') throw new Error('a run started with a malformed weight');
});

// The form's weights replace the script's 3:1 with 1:3, so the users prove the override: 8 users
// split 1:3 are 2 browse and 6 buy.
await step('start a swarm with class weights and tags', async () => {
  await start({ mode: 'swarm', users: 8, spawnRate: 8, tags: 'read, write', weights: 'browse=1, buy=3' });
  await testid('run-swarm').waitFor({ state: 'visible' });
  const want = { browse: { weight: 1, users: 2 }, buy: { weight: 3, users: 6 } };
  await waitFor('the classes table to show browse 2 and buy 6 users', classesShown, (c) => same(c, want));
  await waitFor('the tags that chose the classes', () => testid('classes-tags').textContent(), (t) => t === 'tags read, write');
  const r = await run();
  const api = Object.fromEntries(r.classes.map((c) => [c.name, { weight: c.weight, users: c.users }]));
  if (!same(api, want) || !same(r.tags, ['read', 'write']) || r.shape !== null) {
    throw new Error(`the API's run: classes ${JSON.stringify(api)}, tags ${JSON.stringify(r.tags)}, shape ${JSON.stringify(r.shape)}`);
  }
  if (await testid('shape-stages').isVisible()) throw new Error('a run without a shape shows stages');
  await waitFor('the header to show 8 / 8 users', () => testid('users').textContent(), (t) => t === '8 / 8');
});

await step('stop the swarm', () => stopRun(page));

await step('start the script\'s load shape', async () => {
  await start({ mode: 'shape', tags: 'read, write', weights: 'browse=1, buy=3' });
  await testid('shape-stages').waitFor({ state: 'visible' });
  const stages = await page.locator('[data-testid=shape-stage]').allTextContents();
  if (stages.length !== 3 || !stages[0].includes('2 users') || !stages[1].includes('4 users')) {
    throw new Error(`stages shown: ${JSON.stringify(stages)}`);
  }
  const status = await waitFor('a stage playing', () => testid('shape-status').textContent(), (t) => /^stage [12] of 3$/.test(t));
  const n = Number(status.split(' ')[1]);
  const current = page.locator('[data-testid=shape-stage][data-state=current]');
  if (await current.count() !== 1 || !(await current.textContent()).startsWith(`${n}.`)) {
    throw new Error(`stage ${n} plays, and the marked stages are ${JSON.stringify(await current.allTextContents())}`);
  }
  const users = n === 1 ? 2 : 4;
  await waitFor(`the classes to share the stage's ${users} users`, classesShown,
    (c) => c.browse?.users + c.buy?.users === users);
});

await step('change the users: the change takes over from the shape', async () => {
  await testid('edit-users').fill('5');
  await testid('edit-spawn-rate').fill('10');
  await testid('edit-button').click();
  await waitFor('the shape to say it was taken over', () => testid('shape-status').textContent(), (t) => /^taken over at stage [12] of 3$/.test(t));
  if (await testid('shape-status').getAttribute('data-taken-over') !== 'true') throw new Error('the status is not marked taken over');
  await waitFor('the classes to share 5 users', classesShown, (c) => c.browse?.users + c.buy?.users === 5);
  await waitFor('the header to show 5 / 5 users', () => testid('users').textContent(), (t) => t === '5 / 5');
  const r = await run();
  if (!r.shape?.taken_over || r.users !== 5) throw new Error(`the API's run: users ${r.users}, shape ${JSON.stringify(r.shape)}`);
});

await step('stop: the summary has the classes and the shape', async () => {
  await stopRun(page);
  const s = await getJSON(new URL('api/v1/reports/summary.json', uiURL));
  const names = (s.classes ?? []).map((c) => c.name).join(',');
  if (names !== 'browse,buy' || !s.shape?.taken_over || s.shape.stages.length !== 3) {
    throw new Error(`summary.json: classes ${JSON.stringify(s.classes)}, shape ${JSON.stringify(s.shape)}`);
  }
  // The start form offers the shape again.
  if (await testid('start-mode').inputValue() !== 'shape') throw new Error('the start form does not offer the shape again');
});

await finish();
