// What the browser tests share: Debian's Chromium driven by playwright-core, named steps with a
// screenshot each, waits on conditions with deadlines, and failure on any error the page logs.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { chromium } from 'playwright-core';

/**
 * Starts Chromium and opens a page; the whole test must end within limitMs. Returns the page and:
 *   step(name, fn): runs one step, fails it if the page logged an error, and takes a screenshot;
 *   finish(): closes the browser and prints the tally; exits 1 (after a screenshot) if a step failed.
 */
export async function startBrowserTest({ artifacts, limitMs }) {
  const started = Date.now();
  const watchdog = setTimeout(() => {
    console.error(`FAIL: the test did not finish within ${limitMs / 1000}s`);
    process.exit(1);
  }, limitMs);

  await mkdir(artifacts, { recursive: true });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    // No sandbox as root; and no background traffic: this machine reaches nothing but loopback.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  const pageErrors = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') pageErrors.push(`console error: ${msg.text()} (${msg.location().url})`);
  });
  page.on('pageerror', (err) => pageErrors.push(`uncaught exception: ${err.message}`));

  let shot = 0;
  let passed = 0;
  let failure = null;

  async function step(name, fn) {
    if (failure) return;
    const t0 = Date.now();
    try {
      await fn();
      if (pageErrors.length > 0) throw new Error(`the page logged errors:\n  ${pageErrors.join('\n  ')}`);
      const file = `${String(++shot).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`;
      await page.screenshot({ path: path.join(artifacts, file), fullPage: true });
    } catch (err) {
      failure = `"${name}": ${err.message}`;
      await page.screenshot({ path: path.join(artifacts, 'failure.png'), fullPage: true }).catch(() => {});
      await writeFile(path.join(artifacts, 'failure.html'), await page.content().catch(() => '')).catch(() => {});
      console.log(`not ok ${passed + 1} - ${name}`);
      return;
    }
    passed++;
    console.log(`ok ${passed} - ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  }

  async function finish() {
    await browser.close();
    clearTimeout(watchdog);
    const secs = ((Date.now() - started) / 1000).toFixed(1);
    if (failure) {
      console.log(`FAIL ${failure}`);
      console.log(`${passed} passed, 1 failed (${secs}s; screenshots in ${artifacts})`);
      process.exit(1);
    }
    console.log(`${passed} passed, 0 failed (${secs}s)`);
  }

  return { page, step, finish };
}

/** Polls probe() until check(value) holds; on timeout the error says what was last seen. */
export async function waitFor(what, probe, check, limitMs = 30_000) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const last = await probe();
    if (check(last)) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${limitMs / 1000}s waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A number as the page prints it ("1,234"). */
export const number = (text) => Number(String(text ?? '').replace(/,/g, ''));

export async function getJSON(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}

/** Opens the UI and waits until the feed is live and the start form is up. */
export async function openUI(page, url) {
  await page.goto(url);
  await waitFor('the websocket to be live', () => page.getByTestId('connection').getAttribute('data-status'), (s) => s === 'live');
  await page.getByTestId('start-form').waitFor({ state: 'visible' });
}

/** Fills in the start form for a swarm run and starts it; waits until it runs. */
export async function startRun(page, { users, spawnRate, runTime = '', env = '' }) {
  const testid = (id) => page.getByTestId(id);
  await testid('start-mode').selectOption('swarm');
  await testid('start-users').fill(String(users));
  await testid('start-spawn-rate').fill(String(spawnRate));
  await testid('start-run-time').fill(runTime);
  await testid('start-env').fill(env);
  await testid('start-button').click();
  await waitFor('the run to be running', () => testid('run-state').getAttribute('data-state'), (s) => s === 'running');
  await testid('edit-form').waitFor({ state: 'visible' });
}

/** Stops the run from the page and waits until it has stopped. */
export async function stopRun(page) {
  await page.getByTestId('stop-button').click();
  await waitFor('the run to be stopped', () => page.getByTestId('run-state').getAttribute('data-state'), (s) => s === 'stopped', 45_000);
}
